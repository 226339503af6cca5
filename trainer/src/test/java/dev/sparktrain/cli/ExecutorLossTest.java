package dev.sparktrain.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktrain.io.SavedModel;
import dev.sparktrain.testing.CliRun;
import dev.sparktrain.testing.SparkFixture;
import dev.sparktrain.testing.SyntheticImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An executor JVM killed with SIGKILL in the middle of training (local-cluster: two executor processes forked
 * from the project's jars): Spark replaces it, recomputes its cached blocks from their lineage and retries its
 * tasks, and training ends with the same parameters, bit for bit, as a run that lost nothing. With the barrier
 * engine the loss fails the epoch's barrier stage, Spark relaunches it, and the driver resends the step in flight.
 */
class ExecutorLossTest {
  @TempDir Path dir;

  @Test
  void trainingSurvivesAKilledExecutorWithTheSameResult() throws Exception {
    Path data = Files.createDirectories(dir.resolve("data"));
    SyntheticImages.writeDataset(data, 1600, 100, 8, 4);
    String[] engines = {"job", "barrier", "job"};
    float[][] params = new float[engines.length][];
    for (int run = 0; run < engines.length; run++) {
      SparkFixture.stopAll();
      Path model = dir.resolve("model-" + run + ".stm"), checkpoints = dir.resolve("ck-" + run);
      Map<String, String> s = SmallJobConf.settings(data, model, dir.resolve("p" + run));
      s.put("model.layers", "dense(16), relu, dropout(0.2), dense(4)");
      s.put("train.epochs", "3");
      s.put("checkpoint.dir", checkpoints.toString());  // only to see from outside how far training got
      s.put("checkpoint.every", "10");
      SmallJobConf.onMaster(s, run == 0 ? "local[2]" : "local-cluster[2,1,1024]");
      s.put("train.engine", engines[run]);
      String conf = SmallJobConf.write(dir.resolve("run" + run + ".conf"), s).toString();
      CompletableFuture<CliRun.Result> training = CompletableFuture.supplyAsync(() -> CliRun.inProcess("train", conf));
      if (run > 0) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (!Files.exists(checkpoints.resolve(String.format("ckpt-%012d.stc", 30)))) {
          assertTrue(!training.isDone(), "training ended before an executor was killed: " + (training.isDone() ? training.get() : ""));
          assertTrue(System.nanoTime() < deadline, "no checkpoint at step 30 after 180 s");
          Thread.sleep(50);
        }
        List<ProcessHandle> executors = ProcessHandle.current().descendants()
            .filter(p -> p.info().commandLine().orElse("").contains("CoarseGrainedExecutorBackend")).toList();
        assertEquals(2, executors.size(), "two executor JVMs");
        ProcessHandle victim = executors.get(0);
        assertTrue(victim.destroyForcibly(), "kill -9 " + victim.pid());
        victim.onExit().get(30, TimeUnit.SECONDS);
      }
      CliRun.Result r = training.get(300, TimeUnit.SECONDS);
      assertEquals(0, r.exitCode(), r.toString());
      // failed_tasks counts the tasks that were running on the killed executor (usually 1; 0 if it died between jobs)
      params[run] = SavedModel.load(model.toString(), new Configuration()).params();
    }
    SparkFixture.stopAll();
    for (int run = 1; run < engines.length; run++) {
      assertArrayEquals(params[0], params[run], engines[run] + " engine: a run that lost an executor vs one that did not");
    }
  }
}
