// Tests of the model zoo: round trips, versions and the latest pointer, every refusal, and racing readers and publishers.
package dev.sparktrain.io;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktrain.UserError;
import dev.sparktrain.data.FeatureStats;
import dev.sparktrain.nn.Init;
import dev.sparktrain.nn.ModelSpec;
import dev.sparktrain.nn.Shape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelZooTest {
  @TempDir Path dir;
  private final Configuration conf = new Configuration();

  // ---------------------------------------------------------------- helpers

  private ModelZoo zoo() {
    return new ModelZoo(dir.resolve("zoo").toString(), conf);
  }

  /** Saves a dense model of 3 classes over {@code shape}, parameters from {@code seed}; returns its path. */
  private String model(String file, Shape shape, float seed, FeatureStats.Standardizer std, Map<String, String> config,
                       Map<String, String> provenance, Map<String, Double> metrics) {
    ModelSpec spec = ModelSpec.parse(shape, "dense(3)", 3, Init.HE, 1.0);
    float[] params = new float[(int) spec.paramCount()];
    for (int i = 0; i < params.length; i++) params[i] = seed + i * 0.01f;
    String path = dir.resolve(file).toString();
    new SavedModel(spec, params, std, config, provenance, metrics).save(path, conf);
    return path;
  }

  private String model(String file, float seed) {
    return model(file, new Shape(4, 1, 1), seed, FeatureStats.Standardizer.identity(4), Map.of(), Map.of(), Map.of());
  }

  private static String sha(byte[] bytes) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
  }

  private static String message(Runnable r) {
    return assertThrows(UserError.class, r::run).getMessage();
  }

  private Path file(ModelZoo.Version v, String name) {
    return Path.of(java.net.URI.create(v.directory())).resolve(name);
  }

  // ---------------------------------------------------------------- round trip and manifest

  @Test
  void publishThenGetGivesTheSameBytesAndAFullManifest() throws Exception {
    float[] mean = {0.5f, 1f, -2f, 3f}, stdv = {1f, 2f, 0.5f, 4f};
    Map<String, Double> metrics = new LinkedHashMap<>();
    metrics.put("validation_accuracy", 0.875);
    metrics.put("test_loss", Double.NaN);
    String src = model("m.stm", new Shape(4, 1, 1), 1, new FeatureStats.Standardizer(mean, stdv),
        Map.of("data.standardize", "feature"), Map.of("train_data", "fashion-mnist (train)"), metrics);
    Map<String, Object> extra = new LinkedHashMap<>();
    extra.put("test_accuracy", 0.75);
    extra.put("owner", "team-a");
    extra.put("training_dataset", "ignored, the model names its data");
    Instant before = Instant.now();

    ModelZoo.Version v = zoo().publish("mnist-mlp", src, extra);

    assertEquals("v1", v.version());
    assertEquals("mnist-mlp@v1", v.ref());
    byte[] original = Files.readAllBytes(Path.of(src));
    assertArrayEquals(original, Files.readAllBytes(file(v, "model.stm")));
    ZooManifest m = zoo().resolve("mnist-mlp").manifest();
    assertEquals(v.manifest(), m);
    assertEquals("mnist-mlp", m.name());
    assertEquals("v1", m.version());
    assertEquals(sha(original), m.modelSha256());
    assertEquals(original.length, m.modelBytes());
    assertEquals(new ZooManifest.Architecture("dense(3)", "4x1x1", 4, 3, "he", 1.0), m.architecture());
    ByteBuffer b = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
    for (float x : mean) b.putFloat(x);
    for (float x : stdv) b.putFloat(x);
    assertEquals(new ZooManifest.Standardization("feature", 4, sha(b.array())), m.standardization());
    assertEquals("fashion-mnist (train)", m.trainingDataset());
    assertEquals(0.875, m.metrics().get("validation_accuracy"));
    assertTrue(Double.isNaN(m.metrics().get("test_loss")));
    assertEquals(0.75, m.metrics().get("test_accuracy"));
    assertEquals(Map.of("owner", "team-a"), m.notes());
    assertEquals(src, m.publishedFrom());
    assertEquals(dev.sparktrain.Version.get(), m.sparktrainVersion());
    Instant created = Instant.parse(m.created());
    assertFalse(created.isBefore(before.minusSeconds(1)) || created.isAfter(Instant.now().plusSeconds(1)), m.created());
    String json = Files.readString(file(v, "manifest.json"));
    assertTrue(json.contains("\"test_loss\":null"), json);
    assertFalse(json.contains("NaN") || json.contains("Infinity"), json);
    assertTrue(json.startsWith("{\"format\":\"sparktrain-zoo-manifest\",\"version\":1,\"manifest\":{"), json);

    String out = dir.resolve("out/copy.stm").toString();
    Files.createDirectories(dir.resolve("out"));
    assertEquals(out, zoo().get("mnist-mlp@v1", out));
    assertArrayEquals(original, Files.readAllBytes(Path.of(out)));
    SavedModel loaded = SavedModel.load(zoo().resolve("mnist-mlp").modelPath(), conf);
    assertArrayEquals(mean, loaded.standardizer().mean());
  }

  @Test
  void theDatasetComesFromExtraWhenTheModelHasNoneAndStandardizationIsReadFromTheArrays() {
    ModelZoo zoo = zoo();
    ZooManifest none = zoo.publish("a", model("a.stm", 0), Map.of("training_dataset", "s3a://bucket/train")).manifest();
    assertEquals("s3a://bucket/train", none.trainingDataset());
    assertEquals("none", none.standardization().kind());
    float[] perPlane = {1, 1, 2, 2}, stdPlane = {3, 3, 4, 4};
    String channel = model("c.stm", new Shape(2, 1, 2), 0, new FeatureStats.Standardizer(perPlane, stdPlane),
        Map.of(), Map.of(), Map.of());
    ZooManifest c = zoo.publish("c", channel, Map.of()).manifest();
    assertEquals("channel", c.standardization().kind());
    assertEquals("2x1x2", c.architecture().inputShape());
    assertNull(c.trainingDataset());
    assertTrue(message(() -> zoo.publish("d", channel, Map.of("flag", true))).contains("'flag' = true"));
  }

  // ---------------------------------------------------------------- versions and latest

  @Test
  void versionsCountUpAndPromoteMovesLatest() {
    ModelZoo zoo = zoo();
    for (int i = 1; i <= 3; i++) assertEquals("v" + i, zoo.publish("m", model("m" + i + ".stm", i), Map.of()).version());
    zoo.publish("other", model("o.stm", 9), Map.of());
    assertEquals(3, zoo.resolve("m").number());
    assertEquals(3, zoo.resolve("m@latest").number());
    assertEquals(1, zoo.resolve("m@v1").number());

    assertEquals("v1", zoo.promote("m@v1").version());
    assertEquals("v1", zoo.resolve("m").version());
    assertEquals(List.of("v1"), zoo.list("m").stream().filter(ModelZoo.Entry::latest).map(ModelZoo.Entry::version).toList());
    assertEquals(List.of("v1", "v2", "v3"), zoo.list("m").stream().map(ModelZoo.Entry::version).toList());
    assertEquals(List.of("m", "other"), zoo.names());
    assertEquals(4, zoo.list().size());
    // the next publish still takes the next number and becomes latest
    assertEquals("v4", zoo.publish("m", model("m4.stm", 4), Map.of()).version());
    assertEquals("v4", zoo.resolve("m").version());
  }

  @Test
  void aFailedPublishLeavesNoVersionAndNamesTheFile() throws Exception {
    ModelZoo zoo = zoo();
    Path junk = dir.resolve("junk.stm");
    Files.writeString(junk, "not a model");
    String msg = message(() -> zoo.publish("m", junk.toString(), Map.of()));
    assertTrue(msg.startsWith(junk + ": cannot publish"), msg);
    assertTrue(zoo.list("m").isEmpty());
    assertTrue(message(() -> zoo.resolve("m")).contains("model m has no published version"));
    assertEquals("v2", zoo.publish("m", model("m.stm", 1), Map.of()).version()); // v1's number stays used
    assertEquals("v2", zoo.resolve("m").version());
  }

  // ---------------------------------------------------------------- tampering

  @Test
  void aTamperedModelFileIsRefusedNamingIt() throws Exception {
    ModelZoo.Version v = zoo().publish("m", model("m.stm", 1), Map.of());
    Path model = file(v, "model.stm");
    byte[] bytes = Files.readAllBytes(model);
    bytes[bytes.length / 2] ^= 1; // same length: only the checksum can tell
    Files.write(model, bytes);
    String msg = message(() -> zoo().resolve("m"));
    assertTrue(msg.startsWith(v.modelPath() + ": SHA-256 "), msg);
    assertTrue(msg.contains(v.manifestPath()), msg);
    assertThrows(UserError.class, () -> zoo().get("m@v1", dir.resolve("x.stm").toString()));
    assertFalse(Files.exists(dir.resolve("x.stm")));
  }

  @Test
  void aTamperedManifestOrPointerIsRefusedNamingTheFileAndField() throws Exception {
    ModelZoo zoo = zoo();
    ModelZoo.Version v = zoo.publish("m", model("m.stm", 1), Map.of("score", 0.5));
    Path manifest = file(v, "manifest.json");
    String good = Files.readString(manifest);
    Files.writeString(manifest, good.replace("\"score\":0.5", "\"score\":0.9"));
    String msg = message(() -> zoo.resolve("m@v1"));
    assertTrue(msg.startsWith(v.manifestPath() + ": checksum mismatch"), msg);
    Files.writeString(manifest, good.replace("\"version\":1", "\"version\":2"));
    assertTrue(message(() -> zoo.resolve("m@v1")).contains("version 2 is not supported"));
    Files.writeString(manifest, good.replace("\"manifest\":", "\"extra\":1,\"manifest\":"));
    assertTrue(message(() -> zoo.resolve("m@v1")).contains("unknown field 'extra'"));
    Files.writeString(manifest, good);

    // a version directory copied under another number is caught by the manifest's own version field
    Path v9 = manifest.getParent().resolveSibling("v9");
    Files.createDirectories(v9);
    for (String f : List.of("model.stm", "manifest.json")) Files.copy(manifest.resolveSibling(f), v9.resolve(f));
    msg = message(() -> zoo.resolve("m@v9"));
    assertTrue(msg.contains("manifest.json: field manifest.version 'v1' does not match its directory (v9)"), msg);

    Path latest = manifest.getParent().resolveSibling("latest");
    Files.writeString(latest, Files.readString(latest).replace("\"v1\"", "\"v9\""));
    msg = message(() -> zoo.resolve("m"));
    assertTrue(msg.endsWith("latest: checksum mismatch: field latest was changed or damaged"), msg);
  }

  // ---------------------------------------------------------------- names, versions, unknowns

  @Test
  void badNamesAndVersionsAreRefusedNamingTheValue() {
    ModelZoo zoo = zoo();
    String src = model("m.stm", 1);
    for (String name : List.of("../x", "", "a/b", ".hidden", "..", "a b", "a\\b", "-x", "é")) {
      String msg = message(() -> zoo.publish(name, src, Map.of()));
      assertTrue(msg.startsWith("model name '" + name + "' "), msg);
    }
    for (String version : List.of("v0", "3", "v01", "v-1", "latest2", "V1", "")) {
      String msg = message(() -> zoo.resolve("m@" + version));
      assertTrue(msg.startsWith("version '" + version + "' is not v and a positive integer"), msg);
    }
    assertTrue(message(() -> zoo.resolve("")).contains("model reference is empty"));
    assertTrue(message(() -> zoo.resolve("a/b@v1")).startsWith("model name 'a/b' "));
    assertTrue(zoo.names().isEmpty()); // nothing was created
  }

  @Test
  void unknownNamesAndVersionsListWhatExists() {
    ModelZoo zoo = zoo();
    assertTrue(message(() -> zoo.resolve("m")).endsWith("has no model 'm' (the zoo is empty)"));
    zoo.publish("m", model("m1.stm", 1), Map.of());
    zoo.publish("m", model("m2.stm", 2), Map.of());
    zoo.publish("n", model("n.stm", 3), Map.of());
    String msg = message(() -> zoo.resolve("x"));
    assertEquals("zoo " + dir.resolve("zoo") + " has no model 'x' (models: m, n)", msg);
    msg = message(() -> zoo.resolve("m@v7"));
    assertEquals("zoo " + dir.resolve("zoo") + ": model m has no version v7 (versions: v1, v2; latest v2)", msg);
  }

  // ---------------------------------------------------------------- concurrency

  @Test
  void aReaderRacingAPublisherAlwaysSeesACompleteVersion() throws Exception {
    ModelZoo zoo = zoo();
    List<String> sources = IntStream.rangeClosed(1, 20).mapToObj(i -> model("m" + i + ".stm", i)).toList();
    zoo.publish("m", sources.get(0), Map.of());
    AtomicBoolean done = new AtomicBoolean();
    ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
    List<Integer> seen = Collections.synchronizedList(new ArrayList<>());
    Thread reader = new Thread(() -> {
      ModelZoo mine = zoo();
      while (!done.get()) {
        try {
          ModelZoo.Version v = mine.resolve("m");
          if (!v.manifest().publishedFrom().equals(sources.get(v.number() - 1))) throw new AssertionError(v.ref());
          seen.add(v.number());
        } catch (Throwable t) {
          errors.add(t);
        }
      }
    });
    reader.start();
    for (int i = 1; i < 20; i++) zoo.publish("m", sources.get(i), Map.of());
    done.set(true);
    reader.join();
    assertTrue(errors.isEmpty(), () -> errors.size() + " failed resolves, the first: " + errors.peek());
    assertTrue(seen.size() > 20, "only " + seen.size() + " resolves");
    for (int i = 1; i < seen.size(); i++) assertTrue(seen.get(i) >= seen.get(i - 1), "latest moved back: " + seen);
    assertEquals(20, zoo.resolve("m").number());
  }

  @Test
  void concurrentPublishersGetDistinctVersions() throws Exception {
    int threads = 4, each = 5;
    List<String> sources = IntStream.range(0, threads).mapToObj(t -> model("t" + t + ".stm", t)).toList();
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<List<String>>> futures = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        String src = sources.get(t);
        futures.add(pool.submit(() -> {
          ModelZoo mine = zoo();
          List<String> got = new ArrayList<>();
          for (int i = 0; i < each; i++) got.add(mine.publish("m", src, Map.of()).version());
          return got;
        }));
      }
      List<String> all = new ArrayList<>();
      for (Future<List<String>> f : futures) all.addAll(f.get(60, TimeUnit.SECONDS));
      Set<String> distinct = new TreeSet<>(all);
      assertEquals(threads * each, distinct.size(), "duplicates in " + all);
      assertEquals(IntStream.rangeClosed(1, threads * each).mapToObj(i -> "v" + i).collect(Collectors.toSet()), distinct);
    } finally {
      pool.shutdownNow();
    }
    ModelZoo zoo = zoo();
    assertEquals(threads * each, zoo.list("m").size());
    for (ModelZoo.Entry e : zoo.list("m")) zoo.resolve(e.name() + "@" + e.version()); // every version verifies
    assertEquals(1, zoo.list("m").stream().filter(ModelZoo.Entry::latest).count());
  }
}
