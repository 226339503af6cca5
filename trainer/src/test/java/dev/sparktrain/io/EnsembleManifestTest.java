package dev.sparktrain.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktrain.UserError;
import dev.sparktrain.data.FeatureStats;
import dev.sparktrain.nn.Init;
import dev.sparktrain.nn.ModelSpec;
import dev.sparktrain.nn.Network;
import dev.sparktrain.nn.Shape;
import dev.sparktrain.tensor.BlasGemm;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The ensemble manifest: a round trip, and a clear one-line error for each way a manifest or a member goes bad. */
class EnsembleManifestTest {
  @TempDir Path dir;
  private final Configuration conf = new Configuration();

  private String model(String name, Shape shape, int classes, long seed) {
    ModelSpec spec = ModelSpec.parse(shape, "dense(6), relu, dense(" + classes + ")", classes, Init.HE, 1.0);
    float[] params = new Network(spec, BlasGemm.INSTANCE).initParams(seed);
    String path = dir.resolve(name + ".stm").toString();
    new SavedModel(spec, params, FeatureStats.Standardizer.identity(shape.size()), Map.of(), Map.of(), Map.of())
        .save(path, conf);
    return path;
  }

  /** A manifest of members (name → model file) at dir/ensemble.json, of 4 classes and input 1x3x3. */
  private String manifest(Map<String, String> members) {
    String m = dir.resolve("ensemble.json").toString();
    List<EnsembleManifest.Member> entries = new ArrayList<>();
    members.forEach((name, path) -> entries.add(EnsembleManifest.member(name, m, path, 0.9, Double.NaN,
        Map.of("train.init_seed", name.substring(name.length() - 1)), conf)));
    new EnsembleManifest(4, "1x3x3", 9, "uniform", "ensemble", entries,
        List.of(new EnsembleManifest.Failure("member-9", "non-finite loss")), "2026-12-03T00:00:00Z").write(m, conf);
    return m;
  }

  private String twoMembers() {
    return manifest(new java.util.LinkedHashMap<>(Map.of("member-0", model("member-0", new Shape(1, 3, 3), 4, 1))) {{
      put("member-1", model("member-1", new Shape(1, 3, 3), 4, 2));
    }});
  }

  private static String error(Runnable r) {
    return assertThrows(UserError.class, r::run).getMessage();
  }

  @Test
  void aManifestRoundTripsWithRelativePathsAndLoadsItsMembers() throws Exception {
    String m = twoMembers();
    EnsembleManifest read = EnsembleManifest.read(m, conf);
    assertEquals(List.of("member-0.stm", "member-1.stm"), read.members().stream().map(EnsembleManifest.Member::path).toList(),
        "paths relative to the manifest");
    assertEquals(0.9, read.members().get(0).validationAccuracy());
    assertTrue(Double.isNaN(read.members().get(0).testAccuracy()), "NaN written as null and read back");
    assertEquals(Map.of("train.init_seed", "1"), read.members().get(1).config());
    assertEquals("member-9", read.failed().get(0).name());
    List<SavedModel> models = read.loadMembers(m, conf);
    assertEquals(2, models.size());
    assertArrayEquals(SavedModel.load(dir.resolve("member-1.stm").toString(), conf).params(), models.get(1).params());
    assertTrue(EnsembleManifest.isManifest(m, conf));
    assertFalse(EnsembleManifest.isManifest(dir.resolve("member-0.stm").toString(), conf), "a model file is not one");
    try (Stream<Path> files = Files.list(dir)) {
      assertTrue(files.noneMatch(p -> p.getFileName().toString().startsWith(".")), "no temporary file left");
    }
  }

  @Test
  void aMissingMemberIsNamed() throws Exception {
    String m = twoMembers();
    Files.delete(dir.resolve("member-1.stm"));
    String e = error(() -> EnsembleManifest.read(m, conf).loadMembers(m, conf));
    assertTrue(e.startsWith(m + ": member member-1: model file ") && e.endsWith("member-1.stm not found"), e);
  }

  @Test
  void aMemberWhoseBytesChangedFailsItsChecksumBeforeItIsParsed() throws Exception {
    String m = twoMembers();
    Path f = dir.resolve("member-0.stm");
    byte[] b = Files.readAllBytes(f);
    b[b.length - 3] ^= 1;
    Files.write(f, b);
    String e = error(() -> EnsembleManifest.read(m, conf).loadMembers(m, conf));
    assertTrue(e.startsWith(m + ": member member-0: checksum mismatch of "), e);
  }

  @Test
  void membersWithOtherClassesOrInputsAreRefused() {
    String m = manifest(new java.util.LinkedHashMap<>(Map.of("member-0", model("member-0", new Shape(1, 3, 3), 4, 1))) {{
      put("member-1", model("member-1", new Shape(1, 3, 3), 5, 2));
    }});
    String e = error(() -> EnsembleManifest.read(m, conf).loadMembers(m, conf));
    assertTrue(e.contains("member member-1 has 5 classes") && e.contains("member-0") && e.contains("has 4"), e);
    String m2 = manifest(new java.util.LinkedHashMap<>(Map.of("member-0", model("member-0", new Shape(1, 3, 3), 4, 1))) {{
      put("member-2", model("member-2", new Shape(1, 9, 1), 4, 2));
    }});
    String e2 = error(() -> EnsembleManifest.read(m2, conf).loadMembers(m2, conf));
    assertTrue(e2.contains("member member-2 takes input 1x9x1"), e2);
  }

  @Test
  void aTruncatedManifestIsRefused() throws Exception {
    String m = twoMembers();
    Path f = dir.resolve("ensemble.json");
    byte[] b = Files.readAllBytes(f);
    Files.write(f, java.util.Arrays.copyOf(b, b.length / 2));
    String e = error(() -> EnsembleManifest.read(m, conf));
    assertTrue(e.startsWith(m + ": truncated or not JSON"), e);
    assertEquals(1, e.lines().count(), "one line");
  }

  @Test
  void anEditedManifestFailsItsChecksumAndOtherDamageNamesTheField() throws Exception {
    String m = twoMembers();
    Path f = dir.resolve("ensemble.json");
    String text = Files.readString(f);
    Files.writeString(f, text.replace("\"validation_accuracy\" : 0.9", "\"validation_accuracy\" : 0.99"));
    assertTrue(error(() -> EnsembleManifest.read(m, conf)).startsWith(m + ": checksum mismatch"));
    Files.writeString(f, text.replace(EnsembleManifest.FORMAT, "sparktrain-model"));
    assertTrue(error(() -> EnsembleManifest.read(m, conf)).contains("not an ensemble manifest"));
    Files.writeString(f, text.replace("\"version\" : 1", "\"version\" : 7"));
    assertTrue(error(() -> EnsembleManifest.read(m, conf)).contains("manifest version 7 is not supported"));
    Files.write(f, new byte[(int) EnsembleManifest.MAX_BYTES + 1]);
    assertTrue(error(() -> EnsembleManifest.read(m, conf)).contains("too large for an ensemble manifest"));
    Files.delete(f);
    assertEquals(m + ": no such file", error(() -> EnsembleManifest.read(m, conf)));
    Files.write(f, "{\"format\": \"sparktrain-ensemble\"".getBytes(StandardCharsets.UTF_8));
    assertTrue(error(() -> EnsembleManifest.read(m, conf)).startsWith(m + ": truncated or not JSON"));
  }
}
