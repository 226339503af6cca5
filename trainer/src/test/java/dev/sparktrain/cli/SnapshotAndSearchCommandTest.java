package dev.sparktrain.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparktrain.io.EnsembleManifest;
import dev.sparktrain.io.SavedModel;
import dev.sparktrain.testing.CliRun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A snapshot ensemble from one train run, and the search command's ranked CSV and plot. */
class SnapshotAndSearchCommandTest {
  @TempDir Path dir;

  private Path conf(String name, Map<String, String> extra) throws Exception {
    return SmallJobConf.inDir(dir, name, extra);
  }

  @Test
  void aWarmRestartRunSavesItsLastCyclesAsAnEnsembleModel() throws Exception {
    Path conf = conf("snap", Map.of("train.epochs", "4", "schedule.name", "cosine_restarts", "schedule.period", "1",
        "snapshot.keep", "3"));
    CliRun.Result r = CliRun.inProcess("train", conf.toString());
    assertEquals(0, r.exitCode(), r.toString());
    JsonNode j = r.json();
    assertEquals("[2,3,4]", j.get("snapshot_cycles").toString());
    String manifest = j.get("snapshot_model").asText();
    assertEquals(dir.resolve("snap-snapshots/ensemble.json").toString(), manifest);
    Configuration hc = new Configuration();
    EnsembleManifest m = EnsembleManifest.read(manifest, hc);
    assertEquals("snapshot", m.source());
    List<SavedModel> members = m.loadMembers(manifest, hc);
    assertArrayEquals(SavedModel.load(dir.resolve("snap.stm").toString(), hc).params(), members.get(2).params(),
        "the last cycle's snapshot is the final model");
    assertEquals(3, j.get("snapshot_test_accuracy").size());
    assertEquals(j.get("test_accuracy").asDouble(), j.get("snapshot_test_accuracy").get(2).asDouble(), 0);
    CliRun.Result ev = CliRun.inProcess("evaluate", conf.toString(), "model.path=" + manifest);
    assertEquals(0, ev.exitCode(), ev.toString());
    assertEquals(j.get("snapshot_ensemble_test_accuracy").asDouble(), ev.json().get("test_accuracy").asDouble(), 0);

    CliRun.inProcess("train", conf.toString(), "schedule.name=cosine")
        .assertUserError("snapshot.keep = 3", "schedule.name = cosine_restarts");
  }

  @Test
  void searchRanksItsRunsByValidationAccuracyWithACsvAndAPlot() throws Exception {
    Path out = dir.resolve("search");
    Path conf = conf("search", Map.of("search.runs", "3", "search.learning_rate", "1e-3:0.3",
        "search.output", out.toString(), "spark.scheduler.mode", "FAIR"));
    CliRun.Result r = CliRun.inProcess("search", conf.toString());
    assertEquals(0, r.exitCode(), r.toString());
    JsonNode j = r.json();
    assertEquals(3, j.get("runs").size());
    double previous = 1;
    for (JsonNode run : j.get("runs")) {
      double acc = run.get("validation_accuracy").asDouble();
      assertTrue(acc <= previous, "ranked by validation accuracy: " + j.get("runs"));
      previous = acc;
      double lr = run.get("learning_rate").asDouble();
      assertTrue(lr >= 1e-3 && lr <= 0.3, "drawn from the range: " + lr);
    }
    assertEquals(j.get("runs").get(0), j.get("best"));
    List<String> csv = Files.readAllLines(out.resolve("search.csv"));
    assertEquals(4, csv.size(), csv.toString());
    assertTrue(csv.get(1).startsWith("1," + j.get("best").get("name").asText() + ","), csv.toString());
    assertTrue(Files.size(out.resolve("search.png")) > 1000 && Files.size(out.resolve("search.svg")) > 1000);
    CliRun.inProcess("search", conf.toString(), "search.learning_rate=0.1")
        .assertUserError("search.learning_rate = 0.1", "expected a range lo:hi");
  }
}
