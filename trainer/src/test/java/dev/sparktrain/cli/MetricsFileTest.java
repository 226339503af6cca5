package dev.sparktrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparktrain.testing.CliRun;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The metrics file (metrics.path, docs/metrics.md) of real runs: train's lines in the documented format, a driver
 * killed after a checkpoint and resumed leaving every step exactly once, one file per ensemble member, and a bad
 * path refused before training, naming the setting.
 */
class MetricsFileTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  @TempDir Path dir;

  private Path data() throws IOException {
    return SmallJobConf.syntheticData(dir, 1600);
  }

  private Path conf(String name, Map<String, String> extra) throws IOException {
    Map<String, String> s = SmallJobConf.settings(data(), dir.resolve(name + ".stm"), dir.resolve(name + "-pred"));
    s.put("train.epochs", "3");
    s.put("metrics.path", dir.resolve(name + ".jsonl").toString());
    s.putAll(extra);
    return SmallJobConf.write(dir.resolve(name + ".conf"), s);
  }

  static List<JsonNode> lines(Path file) throws IOException {
    List<JsonNode> out = new ArrayList<>();
    for (String l : Files.readAllLines(file)) out.add(JSON.readTree(l));
    return out;
  }

  private static List<JsonNode> ofType(List<JsonNode> lines, String type) {
    return lines.stream().filter(n -> n.path("type").asText().equals(type)).toList();
  }

  @Test
  void trainWritesStartStepsEpochsAndEnd() throws Exception {
    CliRun.Result r = CliRun.inProcess("train", conf("plain", Map.of()).toString());
    assertEquals(0, r.exitCode(), r.toString());
    List<JsonNode> lines = lines(dir.resolve("plain.jsonl"));
    JsonNode start = lines.get(0), end = lines.get(lines.size() - 1);
    assertEquals("start", start.path("type").asText());
    assertEquals("train", start.path("command").asText());
    assertEquals(dir.resolve("plain.stm").toString(), start.path("run").asText());
    assertTrue(start.path("time").asText().matches("\\d{4}-\\d\\d-\\d\\dT.*Z"), start.toString());
    assertEquals("3", start.path("config").path("train.epochs").asText());
    assertEquals("0.05", start.path("config").path("optimizer.learning_rate").asText());
    for (String k : List.of("project_version", "java", "spark", "host", "master")) {
      assertFalse(start.path("provenance").path(k).asText().isEmpty(), k + " in " + start);
    }
    assertEquals(42, start.path("provenance").path("seed").asLong());

    List<JsonNode> steps = ofType(lines, "step");
    int perEpoch = (int) Math.ceil(1440 * 0.9 / 32.0);  // roughly: the exact count is read from the file below
    long n = steps.size();
    assertTrue(n >= 3L * (perEpoch - 3) && n % 3 == 0, "steps: " + n);
    assertEquals(LongStream.rangeClosed(1, n).boxed().toList(), steps.stream().map(s -> s.path("step").asLong()).toList());
    JsonNode s1 = steps.get(0), last = steps.get(steps.size() - 1);
    assertEquals(1, s1.path("epoch").asInt());
    assertEquals(3, last.path("epoch").asInt());
    for (JsonNode s : List.of(s1, last)) {
      assertTrue(s.path("loss").asDouble() > 0 && s.path("grad_norm").asDouble() > 0, s.toString());
      assertEquals(0.05, s.path("lr").asDouble(), 1e-12, s.toString());
      assertTrue(s.path("examples_per_second").asDouble() > 0 && s.path("seconds").asDouble() > 0, s.toString());
    }
    assertTrue(last.path("seconds").asDouble() > s1.path("seconds").asDouble());

    List<JsonNode> epochs = ofType(lines, "epoch");
    assertEquals(List.of(1, 2, 3), epochs.stream().map(e -> e.path("epoch").asInt()).toList());
    JsonNode e3 = epochs.get(2);
    assertTrue(e3.has("train_accuracy") && e3.get("train_accuracy").isNull(), e3.toString());
    assertTrue(e3.path("validation_accuracy").asDouble() > 0 && e3.path("validation_loss").asDouble() > 0, e3.toString());
    assertTrue(e3.path("train_loss").asDouble() > 0 && e3.path("seconds").asDouble() > 0, e3.toString());

    assertEquals("end", end.path("type").asText());
    assertEquals(r.json(), end.path("result"), "the end line holds the command's JSON result");
    JsonNode test = end.path("test");
    assertEquals(r.json().path("test_accuracy").asDouble(), test.path("accuracy").asDouble(), 0);
    assertEquals(r.json().path("test_loss").asDouble(), test.path("loss").asDouble(), 0);
    assertEquals("[0,1,2,3]", test.path("classes").toString());
    long total = 0, diagonal = 0;
    for (int i = 0; i < 4; i++) {
      assertEquals(4, test.path("confusion").path(i).size());
      for (int j = 0; j < 4; j++) {
        total += test.path("confusion").path(i).path(j).asLong();
        if (i == j) diagonal += test.path("confusion").path(i).path(j).asLong();
      }
    }
    assertEquals(200, total, "every test example counted once");
    assertEquals(test.path("accuracy").asDouble(), diagonal / 200.0, 1e-12, "the diagonal is the accuracy");
  }

  @Test
  void aKilledAndResumedRunHasEveryStepExactlyOnce() throws Exception {
    Path checkpoints = dir.resolve("ck");
    Path c = conf("killed", Map.of("checkpoint.dir", checkpoints.toString(), "checkpoint.every", "10"));
    Process child = CliRun.start(dir, "train", c.toString());
    CliRun.killAfterCheckpoint(child, dir, checkpoints, 40);
    long checkpointed = CliRun.checkpointSteps(checkpoints).stream().mapToLong(Long::longValue).max().orElseThrow();
    List<Long> before = ofType(lines(dir.resolve("killed.jsonl")), "step").stream().map(s -> s.path("step").asLong()).toList();
    assertTrue(before.size() >= checkpointed, "the killed run's file holds every checkpointed step: " + before.size()
        + " < " + checkpointed);
    // the newest checkpoint is corrupt: the resume starts from the one before, and the file's steps after it go
    List<Long> kept = CliRun.checkpointSteps(checkpoints);
    long resumeAt = kept.get(kept.size() - 2);
    Path newest = checkpoints.resolve(String.format("ckpt-%012d.stc", checkpointed));
    byte[] bytes = Files.readAllBytes(newest);
    bytes[bytes.length / 2] ^= 0x10;
    Files.write(newest, bytes);
    assertTrue(before.size() > resumeAt, "the file has steps after the checkpoint resumed from");

    CliRun.Result r = CliRun.inProcess("train", c.toString(), "--resume");
    assertEquals(0, r.exitCode(), r.toString());
    assertTrue(r.stderr().contains("--resume: continuing from step " + resumeAt), r.stderr());
    checkpointed = resumeAt;
    List<JsonNode> lines = lines(dir.resolve("killed.jsonl"));
    assertEquals(1, ofType(lines, "start").size());
    assertEquals("start", lines.get(0).path("type").asText());
    List<Long> steps = ofType(lines, "step").stream().map(s -> s.path("step").asLong()).toList();
    assertEquals(LongStream.rangeClosed(1, steps.size()).boxed().toList(), steps, "steps 1..N, each once");
    assertEquals(r.json().path("epochs").asLong() * (steps.size() / 3), steps.size());
    assertEquals(List.of(1, 2, 3), ofType(lines, "epoch").stream().map(e -> e.path("epoch").asInt()).toList());
    assertEquals(1, ofType(lines, "end").size());
    assertEquals("end", lines.get(lines.size() - 1).path("type").asText());
    // seconds continue from the killed run's clock
    JsonNode after = ofType(lines, "step").get((int) checkpointed);
    assertTrue(after.path("seconds").asDouble() >= ofType(lines, "step").get((int) checkpointed - 1).path("seconds").asDouble());
  }

  @Test
  void anEnsembleWritesOneFilePerMember() throws Exception {
    Path c = conf("ens", Map.of("train.epochs", "1", "ensemble.members", "2", "ensemble.output",
        dir.resolve("ens-out").toString()));
    CliRun.Result r = CliRun.inProcess("ensemble", c.toString());
    assertEquals(0, r.exitCode(), r.toString());
    for (int i = 0; i < 2; i++) {
      JsonNode member = r.json().path("members").path(i);
      Path file = dir.resolve("ens-" + member.path("name").asText() + ".jsonl");
      List<JsonNode> lines = lines(file);
      assertEquals("ensemble", lines.get(0).path("command").asText());
      assertEquals(member.path("name").asText(), lines.get(0).path("run").asText());
      JsonNode end = lines.get(lines.size() - 1);
      assertEquals(r.json(), end.path("result"));
      assertEquals(member.path("test_accuracy").asDouble(), end.path("test").path("accuracy").asDouble(), 0);
      long total = 0, diagonal = 0;
      for (int t = 0; t < 4; t++) {
        for (int q = 0; q < 4; q++) {
          total += end.path("test").path("confusion").path(t).path(q).asLong();
          if (t == q) diagonal += end.path("test").path("confusion").path(t).path(q).asLong();
        }
      }
      assertEquals(200, total, end.toString());
      assertEquals(member.path("test_accuracy").asDouble(), diagonal / 200.0, 1e-12, "the member's own confusion");
      List<Long> steps = ofType(lines, "step").stream().map(s -> s.path("step").asLong()).toList();
      assertEquals(LongStream.rangeClosed(1, steps.size()).boxed().toList(), steps);
    }
    assertFalse(Files.exists(dir.resolve("ens.jsonl")), "no file for the command as a whole");
  }

  @Test
  void compareWritesOneFilePerRun() throws Exception {
    Path c = conf("cmp", Map.of("train.epochs", "1", "compare.runs", "sgd, adam", "compare.learning_rates", "0.05, 0.01",
        "compare.output", dir.resolve("cmp-out").toString()));
    CliRun.Result r = CliRun.inProcess("compare", c.toString());
    assertEquals(0, r.exitCode(), r.toString());
    for (String run : List.of("sgd", "adam")) {
      List<JsonNode> lines = lines(dir.resolve("cmp-" + run + ".jsonl"));
      assertEquals("compare", lines.get(0).path("command").asText());
      assertEquals(run, lines.get(0).path("config").path("optimizer.name").asText());
      assertEquals(1, ofType(lines, "epoch").size());
      JsonNode end = lines.get(lines.size() - 1);
      assertEquals(r.json(), end.path("result"));
      assertTrue(end.has("test") && end.get("test").isNull(), "compare evaluates no test set: " + end);
    }
  }

  @Test
  void aDirectoryAsThePathIsRefusedNamingTheSetting() throws Exception {
    Path c = conf("bad", Map.of("metrics.path", dir.toString()));
    CliRun.inProcess("train", c.toString()).assertUserError("metrics.path", "is a directory");
    CliRun.inProcess("train", c.toString(), "metrics.path=", "progress.every_seconds=-1")
        .assertUserError("progress.every_seconds = -1");
  }
}
