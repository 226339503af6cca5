package dev.sparktrain.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparktrain.io.EnsembleManifest;
import dev.sparktrain.io.SavedModel;
import dev.sparktrain.testing.CliRun;
import dev.sparktrain.testing.InjectedFault;
import dev.sparktrain.testing.SparkFixture;
import dev.sparktrain.train.Hooks;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ensemble command: four members trained at once over one cached copy, each the same bits as when trained
 * alone; the ensemble model (manifest) that evaluate and predict accept; a failed member; too few members.
 */
class EnsembleCommandTest {
  @TempDir Path dir;

  private Path conf(String name, Map<String, String> extra) throws Exception {
    Map<String, String> s = new java.util.HashMap<>(Map.of("train.epochs", "2", "ensemble.members", "4",
        "ensemble.output", dir.resolve(name).toString(), "spark.scheduler.mode", "FAIR"));
    s.putAll(extra);
    return SmallJobConf.inDir(dir, name, s);
  }

  @Test
  void fourMembersAtOnceTrainTheBitsOfEachTrainedAloneAndTheEnsembleModelEvaluates() throws Exception {
    // four slots, so that the four members truly run at once (a job-engine run per slot, no more)
    SparkFixture.stopAll();
    Path conf = conf("ens", Map.of("ensemble.concurrency", "4", "spark.master", "local[4]"));
    CliRun.Result r = CliRun.inProcess("ensemble", conf.toString());
    assertEquals(0, r.exitCode(), r.toString());
    JsonNode j = r.json();
    assertEquals(4, j.get("plan").get("slots").asInt(), j.toString());
    assertEquals(4, j.get("plan").get("at_once").asInt(), j.toString());
    assertEquals(1, j.get("plan").get("tasks_per_run").asInt(), "4 runs on 4 slots read their 2 partitions through 1 task");
    assertEquals("job", j.get("plan").get("engine").asText());
    assertEquals(0, j.get("members_failed").asInt());
    List<Double> members = new ArrayList<>();
    j.get("member_test_accuracy").forEach(a -> members.add(a.asDouble()));
    assertEquals(4, members.size());
    double mean = members.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
    assertEquals(mean, j.get("mean_member_test_accuracy").asDouble(), 1e-12);
    assertEquals(members.stream().mapToDouble(Double::doubleValue).max().orElseThrow(),
        j.get("best_member_test_accuracy").asDouble(), 0);
    assertTrue(j.get("ensemble_test_accuracy").asDouble() > 0.25, j.toString());
    for (String f : List.of("seconds", "sequential_seconds_estimate", "model")) assertTrue(j.has(f), f + " in " + j);
    assertTrue(j.get("sequential_seconds_estimate").asDouble() > 0, j.toString());

    // member-2 trained alone, by the train command with its seeds, under the barrier engine through 2 tasks
    CliRun.Result alone = CliRun.inProcess("train", conf.toString(), "train.init_seed=44", "train.order_seed=44",
        "spark.master=local[2]");
    assertEquals(0, alone.exitCode(), alone.toString());
    assertEquals("barrier", alone.json().get("engine").asText());
    Configuration hc = new Configuration();
    float[] a = SavedModel.load(dir.resolve("ens.stm").toString(), hc).params();
    float[] b = SavedModel.load(dir.resolve("ens/member-2.stm").toString(), hc).params();
    assertArrayEquals(a, b, "member-2 beside three others has the bits of member-2 trained alone");
    assertFalse(java.util.Arrays.equals(b, SavedModel.load(dir.resolve("ens/member-1.stm").toString(), hc).params()),
        "members differ");

    // evaluate and predict take the ensemble model
    String manifest = j.get("model").asText();
    CliRun.Result ev = CliRun.inProcess("evaluate", conf.toString(), "model.path=" + manifest);
    assertEquals(0, ev.exitCode(), ev.toString());
    assertEquals(j.get("ensemble_test_accuracy").asDouble(), ev.json().get("test_accuracy").asDouble(), 0);
    assertEquals(j.get("member_test_accuracy"), ev.json().get("member_test_accuracy"));
    CliRun.Result pr = CliRun.inProcess("predict", conf.toString(), "model.path=" + manifest);
    assertEquals(0, pr.exitCode(), pr.toString());
    long correct = 0, rows = 0;
    try (Stream<Path> parts = Files.list(dir.resolve("ens-pred"))) {
      for (Path p : parts.filter(p -> p.getFileName().toString().startsWith("part-")).toList()) {
        for (String line : Files.readAllLines(p)) {
          if (line.startsWith("row")) continue;
          String[] f = line.split(",");
          rows++;
          if (f[1].equals(f[2])) correct++;
        }
      }
    }
    assertEquals(200, rows);
    assertEquals(j.get("ensemble_test_accuracy").asDouble(), (double) correct / rows, 1e-12,
        "predict's averaged probabilities give evaluate's accuracy");
  }

  @Test
  void aFailedMemberIsReportedAndTheOthersMakeTheEnsemble() throws Exception {
    Path conf = conf("fail", Map.of("ensemble.concurrency", "2"));
    CliRun.Result r = CliRun.inProcess(Hooks.of(InjectedFault.nanAtStep(5)).onlyFor("member-2"), "ensemble",
        conf.toString());
    assertEquals(0, r.exitCode(), r.toString());
    JsonNode j = r.json();
    assertEquals(1, j.get("members_failed").asInt(), j.toString());
    assertEquals("member-2", j.get("failures").get(0).get("name").asText());
    assertTrue(j.get("failures").get(0).get("reason").asText().contains("not finite"), j.toString());
    assertEquals(3, j.get("member_test_accuracy").size());
    EnsembleManifest m = EnsembleManifest.read(j.get("model").asText(), new Configuration());
    assertEquals(List.of("member-0", "member-1", "member-3"), m.members().stream().map(EnsembleManifest.Member::name).toList());
    assertEquals("member-2", m.failed().get(0).name());
    assertFalse(Files.exists(dir.resolve("fail/member-2.stm")));
  }

  @Test
  void tooFewMembersFinishingFailsWithExitOneAndWritesNothing() throws Exception {
    Path conf = conf("few", Map.of("ensemble.min_members", "4", "ensemble.concurrency", "2"));
    CliRun.Result r = CliRun.inProcess(Hooks.of(InjectedFault.nanAtStep(3)).onlyFor("member-0"), "ensemble",
        conf.toString());
    assertEquals(1, r.exitCode(), r.toString());
    assertEquals(1, r.errorLines().size(), r.toString());
    String line = r.errorLines().get(0);
    assertTrue(line.contains("only 3 of 4 members finished") && line.contains("ensemble.min_members = 4")
        && line.contains("member-0"), line);
    assertFalse(r.stderr().lines().anyMatch(l -> l.matches("^\\s+at \\S.*")), "no stack trace\n" + r);
    assertFalse(Files.exists(dir.resolve("few/ensemble.json")), "no manifest");
    assertFalse(Files.exists(dir.resolve("few")) && Files.list(dir.resolve("few")).findAny().isPresent(),
        "no member files");
  }
}
