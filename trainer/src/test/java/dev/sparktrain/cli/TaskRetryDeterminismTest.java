package dev.sparktrain.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktrain.io.SavedModel;
import dev.sparktrain.testing.CliRun;
import dev.sparktrain.testing.InjectedFault;
import dev.sparktrain.train.Hooks;
import dev.sparktrain.testing.SyntheticImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import dev.sparktrain.testing.SparkFixture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A task's gradient is a pure function of (parameters, partition, iteration, seed): with a third of the gradient
 * tasks failing on their first attempt and retried by Spark, training ends bit-identical to the fault-free run.
 * The same holds for the barrier engine, where a failed task makes Spark relaunch the epoch's whole barrier stage
 * and the driver resends the step in flight; and both engines train the same model.
 */
class TaskRetryDeterminismTest {
  @TempDir Path dir;

  @Test
  void retriedTasksChangeNothing() throws Exception {
    Path data = Files.createDirectories(dir.resolve("data"));
    SyntheticImages.writeDataset(data, 900, 100, 8, 4);
    String[] engines = {"job", "job", "barrier", "barrier"};
    double[] faults = {0, 0.33, 0, 0.33};
    float[][] params = new float[engines.length][];
    for (int run = 0; run < engines.length; run++) {
      // this test needs its own session, whose master retries failed tasks
      SparkFixture.stopAll();
      Path model = dir.resolve("model-" + run + ".stm");
      Map<String, String> s = SmallJobConf.settings(data, model, dir.resolve("p" + run));
      s.put("model.layers", "dense(16), relu, dense(4)");
      s.put("train.epochs", "2");
      s.put("spark.master", "local[2,4]");  // up to 4 attempts per task
      s.put("train.engine", engines[run]);
      CliRun.Result r = CliRun.inProcess(Hooks.of(InjectedFault.failingTasks(faults[run], 42)), "train", SmallJobConf.write(dir.resolve("run" + run + ".conf"), s).toString());
      assertEquals(0, r.exitCode(), r.toString());
      long failed = r.json().path("failed_tasks").asLong(-1);
      if (faults[run] == 0) assertEquals(0, failed, "no failures without injection: " + r.json());
      else if (engines[run].equals("job")) assertTrue(failed >= 10, "Spark retried the injected failures: " + r.json());
      else assertTrue(failed >= 2, "Spark relaunched the barrier stage of each epoch: " + r.json());
      params[run] = SavedModel.load(model.toString(), new Configuration()).params();
    }
    for (int run = 1; run < engines.length; run++) {
      assertArrayEquals(params[0], params[run], engines[run] + " engine, failure fraction " + faults[run]
          + ", vs the job engine without failures");
    }
  }
}
