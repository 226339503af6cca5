package dev.sparktrain.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparktrain.io.SavedModel;
import dev.sparktrain.testing.CliRun;
import dev.sparktrain.testing.SparkFixture;
import dev.sparktrain.testing.SyntheticImages;
import dev.sparktrain.train.Callback;
import dev.sparktrain.train.Hooks;
import dev.sparktrain.train.LoopControl;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Dynamic allocation with the job engine on local-cluster[2,1,1024]: Spark removes executors that sit idle and
 * adds executors when tasks wait, in the middle of training. The idle time comes from the driver: after step 10 a
 * callback holds the loop for 4 s (as a slow checkpoint write or a busy driver would), longer than the 1 s idle
 * timeouts, so both executors (and the cached blocks they hold) are removed; the next step's tasks then wait, and
 * Spark adds executors again, which recompute the blocks from their lineage. Spark's event log proves both
 * happened after the first job. The model equals the same run's, pause included, on a fixed pair of executors,
 * bit for bit.
 */
class DynamicAllocationTest {
  private static final long PAUSE_AFTER_STEP = 10, PAUSE_MS = 4000;
  @TempDir Path dir;

  @Test
  void executorsAddedAndRemovedMidRunGiveTheSameBitsAsAFixedSet() throws Exception {
    Path data = Files.createDirectories(dir.resolve("data"));
    SyntheticImages.writeDataset(data, 1600, 100, 8, 4);
    boolean[] dynamic = {false, true};
    float[][] params = new float[2][];
    double[] seconds = new double[2], training = new double[2];
    for (int run = 0; run < 2; run++) {
      SparkFixture.stopAll();
      Path model = dir.resolve("model-" + run + ".stm");
      Map<String, String> s = SmallJobConf.settings(data, model, dir.resolve("p" + run));
      s.put("model.layers", "dense(16), relu, dropout(0.2), dense(4)");
      s.put("train.epochs", "1");
      s.put("train.batch_size", "64");  // 23 steps
      s.put("train.engine", "job");
      SmallJobConf.onMaster(s, "local-cluster[2,1,1024]");
      if (dynamic[run]) {
        s.put("spark.dynamicAllocation.enabled", "true");
        s.put("spark.dynamicAllocation.shuffleTracking.enabled", "true");  // no external shuffle service here
        s.put("spark.dynamicAllocation.shuffleTracking.timeout", "1s");
        s.put("spark.dynamicAllocation.minExecutors", "0");
        s.put("spark.dynamicAllocation.initialExecutors", "2");
        s.put("spark.dynamicAllocation.maxExecutors", "2");
        s.put("spark.dynamicAllocation.executorIdleTimeout", "1s");
        s.put("spark.dynamicAllocation.cachedExecutorIdleTimeout", "1s");
        s.put("spark.dynamicAllocation.schedulerBacklogTimeout", "1s");
        s.put("spark.dynamicAllocation.sustainedSchedulerBacklogTimeout", "1s");
      } else {
        s.put("spark.scheduler.minRegisteredResourcesRatio", "1.0");
      }
      Path events = dir.resolve("events-" + run);
      EventLog.enable(s, events);
      String conf = SmallJobConf.write(dir.resolve("run" + run + ".conf"), s).toString();
      long start = System.nanoTime();
      Pause pause = new Pause();
      CliRun.Result r = CliRun.inProcess(Hooks.of(pause), "train", conf);
      seconds[run] = (System.nanoTime() - start) / 1e9;
      assertEquals(0, r.exitCode(), r.toString());
      training[run] = r.json().path("seconds_per_epoch").asDouble() * r.json().path("epochs").asInt();
      params[run] = SavedModel.load(model.toString(), new Configuration()).params();
      SparkFixture.stopAll();
      if (dynamic[run]) {
        EventLog log = EventLog.read(events);
        long firstJob = log.firstJobStart();
        List<JsonNode> removed = log.of("SparkListenerExecutorRemoved", e -> e.path("Timestamp").asLong() > firstJob);
        assertTrue(removed.size() >= 1, "executors removed after the first job: " + removed);
        long firstRemoval = removed.stream().mapToLong(e -> e.path("Timestamp").asLong()).min().orElseThrow();
        // added after an executor was removed: new executors for waiting tasks, not the initial ones registering late
        List<JsonNode> added = log.of("SparkListenerExecutorAdded", e -> e.path("Timestamp").asLong() > firstRemoval);
        assertTrue(added.size() >= 1, "executors added after one was removed: " + added);
        // seconds from the start of the pause; an executor's removal is decided while it is idle, and the event
        // comes once its JVM has exited
        String removedAt = seconds(removed, pause.began), addedAt = seconds(added, pause.began);
        List<String> reasons = removed.stream().map(e -> e.path("Removed Reason").asText()).distinct().toList();
        System.err.printf("dynamic allocation: %d executors removed (%s) at %s s and %d added at %s s after the "
            + "start of a %.0f s driver pause after step %d; training %.1f s vs %.1f s on a fixed pair of executors "
            + "(command %.1f s vs %.1f s; job engine, local-cluster[2,1,1024])%n", removed.size(),
            String.join("; ", reasons), removedAt, added.size(), addedAt, PAUSE_MS / 1000.0, PAUSE_AFTER_STEP,
            training[1], training[0], seconds[1], seconds[0]);
      }
    }
    assertArrayEquals(params[0], params[1], "dynamic allocation vs a fixed set of executors");
  }

  /** The events' timestamps as seconds after t0 (epoch ms), comma-separated. */
  private static String seconds(List<JsonNode> events, long t0) {
    return String.join(", ", events.stream()
        .map(e -> String.format("%.1f", (e.path("Timestamp").asLong() - t0) / 1000.0)).toList());
  }

  /** Holds the training loop on the driver after one step, so the executors sit idle. */
  private static final class Pause implements Callback {
    volatile long began;  // epoch ms, like the event log's timestamps

    @Override
    public void onStepEnd(StepEnd e, LoopControl loop) {
      if (e.step() == PAUSE_AFTER_STEP) {
        began = System.currentTimeMillis();
        try {
          Thread.sleep(PAUSE_MS);
        } catch (InterruptedException x) {
          Thread.currentThread().interrupt();
        }
      }
    }
  }
}
