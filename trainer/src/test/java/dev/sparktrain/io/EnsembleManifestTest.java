// Tests of the ensemble manifest: round trips, atomic writes, and every rejection of a bad manifest or member.
package dev.sparktrain.io;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparktrain.UserError;
import dev.sparktrain.data.FeatureStats;
import dev.sparktrain.nn.Init;
import dev.sparktrain.nn.ModelSpec;
import dev.sparktrain.nn.Shape;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EnsembleManifestTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Shape IMAGE = new Shape(1, 4, 4);

  @TempDir Path dir;
  private final Configuration conf = new Configuration();

  // ---------------------------------------------------------------- helpers

  /** Saves a one-layer model of {@code classes} outputs over {@code shape} at {@code dir/file}; returns its path. */
  private String model(String file, Shape shape, int classes, float seed) throws Exception {
    Path p = dir.resolve(file);
    Files.createDirectories(p.getParent());
    ModelSpec spec = ModelSpec.parse(shape, "dense(" + classes + ")", classes, Init.HE, 1.0);
    float[] params = new float[(int) spec.paramCount()];
    for (int i = 0; i < params.length; i++) params[i] = seed + i * 0.01f;
    new SavedModel(spec, params, FeatureStats.Standardizer.identity(shape.size()), Map.of("train.init_seed", "7"),
        Map.of(), Map.of()).save(p.toString(), conf);
    return p.toString();
  }

  private static Map<String, String> config(String... kv) {
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) m.put(kv[i], kv[i + 1]);
    return m;
  }

  private EnsembleManifest manifest(int classes, Shape shape, List<EnsembleManifest.Member> members) {
    return new EnsembleManifest(classes, shape.toString(), shape.size(), "uniform", "ensemble", members,
        List.of(), "2025-01-02T03:04:05Z");
  }

  /** A manifest at ens/ensemble.json over members member-0..n-1 beside it, each of the given classes and shape. */
  private String written(int manifestClasses, Shape manifestShape, Object... classesThenShape) throws Exception {
    String uri = dir.resolve("ens/ensemble.json").toString();
    List<EnsembleManifest.Member> members = new ArrayList<>();
    for (int i = 0; i < classesThenShape.length; i += 2) {
      String name = "member-" + i / 2;
      String file = model("ens/" + name + ".stm", (Shape) classesThenShape[i + 1], (Integer) classesThenShape[i], i);
      members.add(EnsembleManifest.member(name, uri, file, 0.5, Double.NaN, Map.of(), conf));
    }
    manifest(manifestClasses, manifestShape, members).write(uri, conf);
    return uri;
  }

  private String threeMembers() throws Exception {
    return written(3, IMAGE, 3, IMAGE, 3, IMAGE, 3, IMAGE);
  }

  private static String sha256(byte[] bytes) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
  }

  /** Rewrites the manifest's ensemble object through {@code edit}, and signs it again as a writer would. */
  private void resigned(String uri, Consumer<ObjectNode> edit) throws Exception {
    ObjectNode top = (ObjectNode) JSON.readTree(Files.readAllBytes(Path.of(uri)));
    ObjectNode ensemble = (ObjectNode) top.get("ensemble");
    edit.accept(ensemble);
    byte[] e = JSON.writeValueAsBytes(ensemble);
    top.put("sha256", sha256(e));
    Files.write(Path.of(uri), JSON.writeValueAsBytes(top));
  }

  private String readError(String uri) {
    return assertThrows(UserError.class, () -> EnsembleManifest.read(uri, conf)).getMessage();
  }

  private String loadError(String uri) {
    EnsembleManifest m = EnsembleManifest.read(uri, conf);
    return assertThrows(UserError.class, () -> m.loadMembers(uri, conf)).getMessage();
  }

  private List<String> listDir(String sub) throws Exception {
    try (Stream<Path> s = Files.list(dir.resolve(sub))) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  // ---------------------------------------------------------------- round trips and writing

  @Test
  void roundTripKeepsEveryFieldAndResolvesPaths() throws Exception {
    String uri = dir.resolve("ens/ensemble.json").toString();
    String inside = model("ens/member-0.stm", IMAGE, 3, 1);
    String below = model("ens/sub/member-1.stm", IMAGE, 3, 2);
    String outside = model("elsewhere/member-2.stm", IMAGE, 3, 3);
    Map<String, String> cfg = config("train.init_seed", "42", "optim.lr", "0.1", "augment.flip", "true");
    List<EnsembleManifest.Member> members = List.of(
        EnsembleManifest.member("member-0", uri, inside, 0.91, 0.9, cfg, conf),
        EnsembleManifest.member("member-1", uri, below, Double.NaN, Double.NaN, Map.of(), conf),
        EnsembleManifest.member("member-2", uri, outside, 0.5, Double.NaN, config("data.shape", ""), conf));
    EnsembleManifest m = new EnsembleManifest(3, "1x4x4", 16, "uniform", "snapshot", members,
        List.of(new EnsembleManifest.Failure("member-3", "non-finite loss at step 12")), "2025-01-02T03:04:05Z");
    m.write(uri, conf);

    EnsembleManifest back = EnsembleManifest.read(uri, conf);
    assertEquals(m, back);
    assertEquals("member-0.stm", back.members().get(0).path());
    assertEquals("sub/member-1.stm", back.members().get(1).path());
    assertEquals("file:" + outside, back.members().get(2).path());
    assertTrue(Double.isNaN(back.members().get(1).validationAccuracy()));
    assertTrue(Double.isNaN(back.members().get(1).testAccuracy()));
    assertEquals(0.91, back.members().get(0).validationAccuracy());
    assertEquals(List.of("train.init_seed", "optim.lr", "augment.flip"), List.copyOf(back.members().get(0).config().keySet()));
    assertEquals(Files.size(Path.of(inside)), back.members().get(0).bytes());
    assertEquals(sha256(Files.readAllBytes(Path.of(inside))), back.members().get(0).sha256());

    List<SavedModel> models = back.loadMembers(uri, conf);
    assertEquals(3, models.size());
    assertArrayEquals(SavedModel.load(below, conf).params(), models.get(1).params());
    assertArrayEquals(SavedModel.load(outside, conf).params(), models.get(2).params());

    // the documented layout: the checksum covers the ensemble object's bytes exactly as they stand in the file
    String text = Files.readString(Path.of(uri), UTF_8);
    String prefix = "{\"format\":\"sparktrain-ensemble\",\"version\":1,\"ensemble\":";
    assertTrue(text.startsWith(prefix), text);
    String ensemble = text.substring(prefix.length(), text.lastIndexOf(",\"sha256\":"));
    assertTrue(text.endsWith(",\"sha256\":\"" + sha256(ensemble.getBytes(UTF_8)) + "\"}\n"), text);
    assertTrue(ensemble.contains("\"test_accuracy\":null"), ensemble);
  }

  @Test
  void writeIsAtomicAndLeavesNoTempFile() throws Exception {
    String uri = threeMembers();
    EnsembleManifest m = EnsembleManifest.read(uri, conf);
    m.write(uri, conf); // over the old one
    assertEquals(List.of("ensemble.json", "member-0.stm", "member-1.stm", "member-2.stm"), listDir("ens"));
    byte[] before = Files.readAllBytes(Path.of(uri));

    conf.set("fs.failing.impl", TensorFileTest.FailingFileSystem.class.getName());
    conf.setBoolean("fs.failing.impl.disable.cache", true);
    conf.setLong(TensorFileTest.FailingFileSystem.BUDGET, 20);
    String failing = "failing://" + Path.of(uri).toUri().getPath();
    String message = assertThrows(UserError.class, () -> m.write(failing, conf)).getMessage();
    assertTrue(message.startsWith(failing + ": cannot write (simulated disk failure"), message);
    assertArrayEquals(before, Files.readAllBytes(Path.of(uri)), "old manifest untouched");
    assertEquals(List.of("ensemble.json", "member-0.stm", "member-1.stm", "member-2.stm"), listDir("ens"));
  }

  // ---------------------------------------------------------------- bad members

  @Test
  void missingMemberFileIsNamed() throws Exception {
    String uri = threeMembers();
    Path gone = dir.resolve("ens/member-2.stm");
    Files.delete(gone);
    assertEquals(uri + ": member member-2: model file file:" + gone + " not found", loadError(uri));
  }

  @Test
  void changedMemberFileFailsItsChecksumBeforeItIsParsed() throws Exception {
    String uri = threeMembers();
    Path member = dir.resolve("ens/member-1.stm");
    String expected = EnsembleManifest.read(uri, conf).members().get(1).sha256();
    byte[] bytes = Files.readAllBytes(member);
    bytes[bytes.length / 2] ^= 1; // in the data: SavedModel.load would report its own CRC instead
    Files.write(member, bytes);
    String message = loadError(uri);
    assertEquals(uri + ": member member-1: model file file:" + member + " has SHA-256 " + sha256(bytes)
        + ", the manifest says " + expected + " (changed or replaced since the ensemble was made)", message);

    Files.write(member, java.util.Arrays.copyOf(bytes, bytes.length + 1));
    assertEquals(uri + ": member member-1: model file file:" + member + " has " + (bytes.length + 1)
        + " bytes, the manifest says " + bytes.length + " (changed or replaced since the ensemble was made)",
        loadError(uri));
  }

  @Test
  void membersWithOtherClassesAreRefused() throws Exception {
    assertEquals(dir.resolve("ens/ensemble.json") + ": member member-1 has 2 classes, member-0 has 3",
        loadError(written(3, IMAGE, 3, IMAGE, 2, IMAGE, 3, IMAGE)));
    assertEquals(dir.resolve("ens/ensemble.json") + ": member member-0 has 3 classes, the manifest says 4",
        loadError(written(4, IMAGE, 3, IMAGE, 3, IMAGE)));
  }

  @Test
  void membersWithOtherInputShapesAreRefused() throws Exception {
    String uri = dir.resolve("ens/ensemble.json").toString();
    assertEquals(uri + ": member member-1 has input shape 16x1x1, member-0 has 1x4x4",
        loadError(written(3, IMAGE, 3, IMAGE, 3, Shape.flat(16))));
    assertEquals(uri + ": member member-2 has input size 9, member-0 has 16",
        loadError(written(3, IMAGE, 3, IMAGE, 3, IMAGE, 3, new Shape(1, 3, 3))));
    assertEquals(uri + ": member member-0 has input shape 1x4x4, the manifest says 16x1x1",
        loadError(written(3, Shape.flat(16), 3, IMAGE)));
  }

  @Test
  void aMemberThatIsNotAModelIsNamed() throws Exception {
    String uri = threeMembers();
    Path member = dir.resolve("ens/member-0.stm");
    TensorFile.write(member.toString(), conf, CheckpointStore.FORMAT, null, List.of(NamedTensor.vector("p", new float[1])));
    long size = Files.size(member);
    String sha = sha256(Files.readAllBytes(member));
    resigned(uri, e -> member(e, 0).put("bytes", size).put("sha256", sha)); // the manifest agrees with the new file
    assertEquals(uri + ": member member-0: file:" + member
        + ": holds format 'sparktrain-checkpoint', expected 'sparktrain-model'", loadError(uri));
  }

  // ---------------------------------------------------------------- bad manifests

  @Test
  void missingManifestIsNamed() {
    String uri = dir.resolve("nope.json").toString();
    assertEquals(uri + ": no such file", readError(uri));
  }

  @Test
  void truncatedManifestIsOneLine() throws Exception {
    String uri = threeMembers();
    byte[] bytes = Files.readAllBytes(Path.of(uri));
    Files.write(Path.of(uri), java.util.Arrays.copyOf(bytes, bytes.length / 2));
    String message = readError(uri);
    assertTrue(message.startsWith(uri + ": truncated or not JSON (Unexpected end-of-input"), message);
    assertFalse(message.contains("\n"), message);

    Files.writeString(Path.of(uri), "member-0.stm member-1.stm");
    assertTrue(readError(uri).startsWith(uri + ": truncated or not JSON ("), readError(uri));
    Files.writeString(Path.of(uri), "[1, 2]");
    assertEquals(uri + ": not a JSON object", readError(uri));
    Files.write(Path.of(uri), bytes);
    Files.writeString(Path.of(uri), "{}", java.nio.file.StandardOpenOption.APPEND);
    assertEquals(uri + ": unexpected text after the JSON object", readError(uri));
  }

  @Test
  void editedManifestFailsItsChecksum() throws Exception {
    String uri = threeMembers();
    String text = Files.readString(Path.of(uri));
    assertTrue(text.contains("\"num_classes\":3,"), text);
    Files.writeString(Path.of(uri), text.replace("\"num_classes\":3,", "\"num_classes\":4,"));
    assertEquals(uri + ": checksum mismatch: the manifest was changed or damaged", readError(uri));
    // even a change that a re-serialized tree would hide: the checksum is of the bytes as written
    Files.writeString(Path.of(uri), text.replace("\"num_classes\":3,", "\"num_classes\": 3,"));
    assertEquals(uri + ": checksum mismatch: the manifest was changed or damaged", readError(uri));
  }

  @Test
  void oversizedManifestIsRefusedBeforeItIsRead() throws Exception {
    Path big = dir.resolve("big.json");
    try (RandomAccessFile f = new RandomAccessFile(big.toFile(), "rw")) {
      f.setLength(EnsembleManifest.MAX_BYTES + 1); // sparse: nothing is written, and nothing must be read
    }
    assertEquals(big + ": 16777217 bytes is more than an ensemble manifest may have (16 MiB)", readError(big.toString()));
  }

  @Test
  void wrongFormatOrVersionIsRefused() throws Exception {
    String uri = threeMembers();
    String text = Files.readString(Path.of(uri));
    Files.writeString(Path.of(uri), text.replace("sparktrain-ensemble", "sparktrain-model"));
    assertEquals(uri + ": not a sparktrain ensemble manifest (format 'sparktrain-model', expected 'sparktrain-ensemble')",
        readError(uri));
    Files.writeString(Path.of(uri), text.replace("\"format\":\"sparktrain-ensemble\",", ""));
    assertEquals(uri + ": not a sparktrain ensemble manifest (no format field, expected 'sparktrain-ensemble')",
        readError(uri));
    Files.writeString(Path.of(uri), text.replace("\"version\":1", "\"version\":2"));
    assertEquals(uri + ": ensemble manifest version 2 is not supported (this sparktrain reads version 1)", readError(uri));
    Files.writeString(Path.of(uri), text.replace("\"version\":1,", ""));
    assertEquals(uri + ": field version is missing or not an integer", readError(uri));
  }

  @Test
  void missingOrIllTypedFieldsAreNamed() throws Exception {
    String uri = threeMembers();
    byte[] good = Files.readAllBytes(Path.of(uri));
    Map<Consumer<ObjectNode>, String> cases = new LinkedHashMap<>();
    cases.put(e -> e.remove("num_classes"), "field ensemble.num_classes is missing or not an integer");
    cases.put(e -> e.put("input_shape", 16), "field ensemble.input_shape is missing or not a string");
    cases.put(e -> e.put("members", "all"), "field ensemble.members is missing or not an array");
    cases.put(e -> e.remove("failed"), "field ensemble.failed is missing or not an array");
    cases.put(e -> e.put("extra", 1), "ensemble has unknown field 'extra'");
    cases.put(e -> member(e, 1).put("bytes", "12"), "field ensemble.members[1].bytes is missing or not an integer");
    cases.put(e -> member(e, 2).remove("validation_accuracy"),
        "field ensemble.members[2].validation_accuracy is missing or not a number or null");
    cases.put(e -> member(e, 0).putObject("config").put("train.seed", 42),
        "field ensemble.members[0].config.train.seed is missing or not a string");
    cases.put(e -> member(e, 0).remove("name"), "field ensemble.members[0].name is missing or not a string");
    cases.put(e -> e.putArray("members"), "the ensemble has no members");
    cases.put(e -> member(e, 2).put("name", "member-0"), "two members are named member-0");
    cases.put(e -> member(e, 1).put("sha256", "abc123"), "member member-1: sha256 'abc123' is not 64 hex digits");
    cases.put(e -> member(e, 1).put("sha256", "g".repeat(64)),
        "member member-1: sha256 '" + "g".repeat(64) + "' is not 64 hex digits");
    cases.put(e -> member(e, 1).put("validation_accuracy", 1.5),
        "member member-1: validation_accuracy 1.5 is not in [0, 1]");
    cases.put(e -> e.put("input_size", 17), "input_size 17 does not match input_shape 1x4x4 (16)");
    cases.put(e -> e.put("weighting", "by-accuracy"), "weighting 'by-accuracy' is not supported (only uniform, validation_accuracy)");
    cases.put(e -> ((ArrayNode) e.get("failed")).addObject().put("name", "member-9"),
        "field ensemble.failed[0].reason is missing or not a string");
    for (var c : cases.entrySet()) {
      Files.write(Path.of(uri), good);
      resigned(uri, c.getKey());
      assertEquals(uri + ": " + c.getValue(), readError(uri));
    }
  }

  private static ObjectNode member(ObjectNode ensemble, int i) {
    return (ObjectNode) ensemble.get("members").get(i);
  }

  @Test
  void constructorsNameTheBadValue() {
    var ok = new EnsembleManifest.Member("m", "m.stm", "a".repeat(64), 1, 0.5, Double.NaN, Map.of());
    assertEquals("source 'train' is not one of ensemble, snapshot", assertThrows(UserError.class,
        () -> new EnsembleManifest(3, "1x4x4", 16, "uniform", "train", List.of(ok), List.of(), "now")).getMessage());
    assertEquals("num_classes 1: must be at least 2", assertThrows(UserError.class,
        () -> new EnsembleManifest(1, "1x4x4", 16, "uniform", "ensemble", List.of(ok), List.of(), "now")).getMessage());
    assertEquals("member m: bytes -1 is negative", assertThrows(UserError.class,
        () -> new EnsembleManifest.Member("m", "m.stm", "a".repeat(64), -1, 0.5, 0.5, Map.of())).getMessage());
    assertEquals("16x1x1", new EnsembleManifest(3, "16", 16, "uniform", "ensemble", List.of(ok), List.of(), "now")
        .inputShape());
  }

  // ---------------------------------------------------------------- sniffing

  @Test
  void isManifestTellsManifestsFromModels() throws Exception {
    String uri = threeMembers();
    assertTrue(EnsembleManifest.isManifest(uri, conf));
    assertFalse(EnsembleManifest.isManifest(dir.resolve("ens/member-0.stm").toString(), conf));
    Path spaced = dir.resolve("spaced.json");
    Files.writeString(spaced, " \r\n\t {\"format\": 1}");
    assertTrue(EnsembleManifest.isManifest(spaced.toString(), conf));
    Path empty = dir.resolve("empty.json");
    Files.writeString(empty, "   ");
    assertFalse(EnsembleManifest.isManifest(empty.toString(), conf));
    assertFalse(EnsembleManifest.isManifest(dir.resolve("missing.json").toString(), conf));
    assertFalse(EnsembleManifest.isManifest(dir.resolve("ens").toString(), conf));
  }

  @Test
  void sha256StreamsTheWholeFile() throws Exception {
    Path f = dir.resolve("data.bin");
    byte[] bytes = new byte[200_000]; // more than one 64 KiB chunk
    for (int i = 0; i < bytes.length; i++) bytes[i] = (byte) (i * 31);
    Files.write(f, bytes);
    assertEquals(sha256(bytes), EnsembleManifest.sha256(f.toString(), conf));
    assertEquals(dir.resolve("no.bin") + ": no such file",
        assertThrows(UserError.class, () -> EnsembleManifest.sha256(dir.resolve("no.bin").toString(), conf)).getMessage());
  }
}
