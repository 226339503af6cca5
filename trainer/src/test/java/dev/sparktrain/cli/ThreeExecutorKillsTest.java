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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three executor JVMs killed with SIGKILL, one after the other, in one run of the barrier engine on
 * local-cluster[2,1,1024] (executor JVMs talk TCP to the driver's step endpoint). Each kill fails the running
 * barrier stage; Spark starts a replacement executor, relaunches the stage, and the driver resends the step in
 * flight. The next kill comes only once the replacement is running and training has moved on. The model equals
 * local[2]'s and an uninterrupted local-cluster run's, bit for bit.
 */
class ThreeExecutorKillsTest {
  private static final int KILLS = 3;
  @TempDir Path dir;

  @Test
  void threeKilledExecutorsUnderTheBarrierEngineGiveTheSameBits() throws Exception {
    Path data = Files.createDirectories(dir.resolve("data"));
    SyntheticImages.writeDataset(data, 1600, 100, 8, 4);
    String[] masters = {"local[2]", "local-cluster[2,1,1024]", "local-cluster[2,1,1024]"};
    float[][] params = new float[masters.length][];
    double[] seconds = new double[masters.length];
    List<Long> killedAt = new ArrayList<>();
    for (int run = 0; run < masters.length; run++) {
      boolean kill = run == 2;
      SparkFixture.stopAll();
      Path model = dir.resolve("model-" + run + ".stm"), checkpoints = dir.resolve("ck-" + run);
      Map<String, String> s = SmallJobConf.settings(data, model, dir.resolve("p" + run));
      s.put("model.layers", "dense(16), relu, dropout(0.2), dense(4)");
      s.put("train.epochs", "3");  // 45 steps per epoch; a barrier stage per epoch (validation ends each)
      s.put("train.engine", "barrier");
      s.put("train.transport", "tcp");
      s.put("checkpoint.dir", checkpoints.toString());  // to see from outside how far training got
      s.put("checkpoint.every", "10");
      SmallJobConf.onMaster(s, masters[run]);
      // every kill fails a stage attempt (and a task); keep both limits above the three kills with room to spare
      s.put("spark.stage.maxConsecutiveAttempts", "8");
      s.put("spark.task.maxFailures", "8");
      Path events = dir.resolve("events-" + run);
      EventLog.enable(s, events);
      String conf = SmallJobConf.write(dir.resolve("run" + run + ".conf"), s).toString();
      long start = System.nanoTime();
      CompletableFuture<CliRun.Result> training = CompletableFuture.supplyAsync(() -> CliRun.inProcess("train", conf));
      if (kill) {
        long after = 20;
        for (int k = 0; k < KILLS; k++) {
          long step = awaitCheckpoint(training, checkpoints, after);
          List<ProcessHandle> executors = awaitExecutors(training, 2);
          ProcessHandle victim = executors.get(k % 2);
          assertTrue(victim.destroyForcibly(), "kill -9 " + victim.pid());
          victim.onExit().get(30, TimeUnit.SECONDS);
          killedAt.add(step);
          System.err.printf("ThreeExecutorKillsTest: killed executor pid %d after checkpoint %d%n", victim.pid(), step);
          // the next kill only after the replacement executor runs and the relaunched stage has gone 20 steps on
          after = step + 20;
        }
      }
      CliRun.Result r = training.get(300, TimeUnit.SECONDS);
      seconds[run] = (System.nanoTime() - start) / 1e9;
      assertEquals(0, r.exitCode(), r.toString());
      params[run] = SavedModel.load(model.toString(), new Configuration()).params();
      SparkFixture.stopAll();
      if (kill) {
        EventLog log = EventLog.read(events);
        int relaunches = log.relaunchedStages().size();
        int removed = log.of("SparkListenerExecutorRemoved").size();
        assertEquals(KILLS, removed, "three executors lost");
        assertTrue(relaunches >= 1, "Spark relaunched the barrier stage");
        System.err.printf("three kills: executors killed after checkpoints %s, %d stage relaunches, %d failed tasks, "
            + "run %.1f s vs %.1f s uninterrupted (local-cluster[2,1,1024], barrier engine over TCP; local[2] %.1f s)%n",
            killedAt, relaunches, r.json().path("failed_tasks").asInt(), seconds[2], seconds[1], seconds[0]);
      }
    }
    assertArrayEquals(params[0], params[1], "local-cluster vs local[2]");
    assertArrayEquals(params[0], params[2], "three executors killed vs local[2]");
  }

  /** Waits for a checkpoint at a step of at least after; returns the newest step. */
  private static long awaitCheckpoint(CompletableFuture<CliRun.Result> training, Path checkpoints, long after)
      throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
    while (true) {
      List<Long> steps = CliRun.checkpointSteps(checkpoints);
      if (!steps.isEmpty() && steps.get(steps.size() - 1) >= after) return steps.get(steps.size() - 1);
      assertTrue(!training.isDone(), "training ended before checkpoint " + after + ": "
          + (training.isDone() ? training.get() : ""));
      assertTrue(System.nanoTime() < deadline, "no checkpoint at step " + after + " after 180 s");
      Thread.sleep(20);
    }
  }

  /** Waits until this JVM has n executor JVMs (local-cluster forks them as its descendants); returns them by pid. */
  private static List<ProcessHandle> awaitExecutors(CompletableFuture<CliRun.Result> training, int n) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (true) {
      List<ProcessHandle> executors = ProcessHandle.current().descendants().filter(ProcessHandle::isAlive)
          .filter(p -> p.info().commandLine().orElse("").contains("CoarseGrainedExecutorBackend"))
          .sorted(java.util.Comparator.comparingLong(ProcessHandle::pid)).toList();
      if (executors.size() == n) return executors;
      assertTrue(!training.isDone(), "training ended while waiting for executors");
      assertTrue(System.nanoTime() < deadline, executors.size() + " executor JVMs, not " + n + ", after 120 s");
      Thread.sleep(50);
    }
  }
}
