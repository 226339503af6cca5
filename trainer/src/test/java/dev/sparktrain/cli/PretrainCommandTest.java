package dev.sparktrain.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparktrain.io.ModelZoo;
import dev.sparktrain.io.Lease;
import dev.sparktrain.io.SavedModel;
import dev.sparktrain.spark.PretrainJob;
import dev.sparktrain.testing.CliRun;
import dev.sparktrain.testing.SyntheticImages;
import dev.sparktrain.train.Callback;
import dev.sparktrain.train.Hooks;
import dev.sparktrain.train.LoopControl;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scheduled pretraining: an uninterrupted run publishes v1; runs stopped by an exception and by SIGKILL, then
 * started again, end bit-identical to it; a second run during a live lease exits "already running" and touches
 * nothing; a stale lease is taken over; a corrupt newest checkpoint falls back to the one before.
 */
class PretrainCommandTest {
  @TempDir static Path dir;
  private static float[] reference;

  private static Path data() throws IOException {
    Path data = dir.resolve("data");
    if (!Files.isDirectory(data)) {
      Files.createDirectory(data);
      SyntheticImages.writeDataset(data, 1600, 200, 8, 4);
    }
    return data;
  }

  /** A pretraining job whose checkpoints go to ck-NAME and whose models are published to zoo-NAME as "small". */
  private static Path conf(String name, String... extra) throws IOException {
    Map<String, String> s = SmallJobConf.settings(data(), dir.resolve(name + ".stm"), dir.resolve(name + "-pred"));
    s.put("data.shape", "1x8x8");
    s.put("data.standardize", "channel");
    s.put("data.augment", "flip");
    s.put("model.layers", "conv(4, 3), batchnorm, relu, maxpool(2), flatten, dense(16), relu, dropout(0.2), dense(4)");
    s.put("optimizer.name", "adam");
    s.put("optimizer.learning_rate", "0.01");
    s.put("train.epochs", "3");
    s.put("checkpoint.dir", dir.resolve("ck-" + name).toString());
    s.put("checkpoint.every", "10");
    s.put("pretrain.zoo", dir.resolve("zoo-" + name).toString());
    s.put("pretrain.name", "small");
    s.put("pretrain.heartbeat", "1");
    for (String kv : extra) s.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
    return SmallJobConf.write(dir.resolve(name + ".conf"), s);
  }

  private static float[] params(String name) {
    return SavedModel.load(dir.resolve(name + ".stm").toString(), new Configuration()).params();
  }

  /** Fails the run with an exception once it reaches global step `at`. */
  private static Hooks failAt(long at) {
    return Hooks.of(new Callback() {
      @Override public void onStepEnd(StepEnd e, LoopControl loop) {
        if (e.step() == at) throw new IllegalStateException("injected failure at step " + at);
      }
    });
  }

  @BeforeAll
  static void uninterrupted() throws Exception {
    CliRun.Result r = CliRun.inProcess("pretrain", conf("straight").toString());
    assertEquals(0, r.exitCode(), r.toString());
    JsonNode j = r.json();
    assertEquals("done", j.path("status").asText());
    assertEquals("small@v1", j.path("zoo_version").asText());
    assertEquals(3, j.path("epochs").asInt());
    assertFalse(Files.exists(dir.resolve("ck-straight/_lease.json")), "the lease is released");
    reference = params("straight");
    var v = new ModelZoo(dir.resolve("zoo-straight").toString(), new Configuration()).resolve("small@latest");
    assertArrayEquals(reference, SavedModel.load(v.modelPath(), new Configuration()).params(), "the zoo holds the model");
  }

  @Test
  void aRunFailedByAnExceptionResumesBitIdenticalAndPublishes() throws Exception {
    Path c = conf("failed");
    CliRun.Result failed = CliRun.inProcess(failAt(47), "pretrain", c.toString());
    assertEquals(1, failed.exitCode(), failed.toString());
    assertEquals("failed", failed.json().path("status").asText());
    assertFalse(Files.exists(dir.resolve("ck-failed/_lease.json")), "a failed run releases its lease");
    assertFalse(Files.exists(dir.resolve("zoo-failed")), "nothing published");
    CliRun.Result r = CliRun.inProcess("pretrain", c.toString());
    assertEquals(Main.EXIT_RESUMED, r.exitCode(), r.toString());
    assertEquals("resumed", r.json().path("status").asText());
    assertEquals(45, r.json().path("resumed_from_step").asLong(), "from the newest checkpoint before step 47: the first epoch's end");
    assertEquals("small@v1", r.json().path("zoo_version").asText());
    assertArrayEquals(reference, params("failed"), "bit-identical to the uninterrupted run");
    // started once more, it finds the run done: nothing is trained or published again
    CliRun.Result again = CliRun.inProcess("pretrain", c.toString());
    assertEquals("small@v1", again.json().path("zoo_version").asText(), again.toString());
    assertArrayEquals(reference, params("failed"));
  }

  @Test
  void aKilledRunIsTakenOverAtOnceAndResumesBitIdentical() throws Exception {
    Path c = conf("killed");
    Path checkpoints = dir.resolve("ck-killed");
    Process child = CliRun.start(dir, "pretrain", c.toString());
    CliRun.killAfterCheckpoint(child, dir, checkpoints, 40);
    assertTrue(Files.exists(checkpoints.resolve("_lease.json")), "a killed run leaves its lease behind");
    // its process is gone: the lease is taken over at once, without waiting for pretrain.lease_timeout (600 s)
    CliRun.Result r = CliRun.inProcess("pretrain", c.toString());
    assertEquals(Main.EXIT_RESUMED, r.exitCode(), r.toString());
    assertTrue(r.stderr().contains("taking over the lease of a process that has ended"), r.stderr());
    assertArrayEquals(reference, params("killed"), "bit-identical to the uninterrupted run");
  }

  @Test
  void aRunDuringALiveLeaseExitsAlreadyRunningAndTouchesNothing() throws Exception {
    Path c = conf("busy");
    String lease = PretrainJob.leasePath(dir.resolve("ck-busy").toString());
    try (Lease held = ((Lease.Acquired) Lease.acquire(lease, new Configuration(), Duration.ofMinutes(10),
        Clock.systemUTC(), w -> {})).lease()) {
      byte[] before = Files.readAllBytes(Path.of(lease));
      CliRun.Result r = CliRun.inProcess("pretrain", c.toString());
      assertEquals(Main.EXIT_ALREADY_RUNNING, r.exitCode(), r.toString());
      assertEquals("already-running", r.json().path("status").asText());
      assertTrue(r.json().path("model").isNull());
      assertTrue(r.json().path("holder").asText().contains("(pid " + ProcessHandle.current().pid() + ")"), r.toString());
      assertArrayEquals(before, Files.readAllBytes(Path.of(lease)), "the lease is untouched");
      try (Stream<Path> files = Files.list(dir.resolve("ck-busy"))) {
        assertEquals(List.of("_lease.json"), files.map(p -> p.getFileName().toString()).toList(), "no checkpoint");
      }
      assertFalse(Files.exists(dir.resolve("busy.stm")));
      assertFalse(Files.exists(dir.resolve("zoo-busy")));
      held.heartbeat();  // still ours
    }
  }

  @Test
  void aStaleLeaseIsTakenOverWithAWarning() throws Exception {
    Path c = conf("stale", "pretrain.lease_timeout=60");
    String lease = PretrainJob.leasePath(dir.resolve("ck-stale").toString());
    // a lease of a live process (this one) whose last heartbeat was two hours ago
    assertTrue(Lease.acquire(lease, new Configuration(), Duration.ofMinutes(10),
        Clock.offset(Clock.systemUTC(), Duration.ofHours(-2)), w -> {}) instanceof Lease.Acquired);
    CliRun.Result r = CliRun.inProcess("pretrain", c.toString());
    assertEquals(0, r.exitCode(), r.toString());
    assertEquals("done", r.json().path("status").asText());
    assertTrue(r.stderr().contains("warning: " + lease + ": taking over a stale lease of "), r.stderr());
    assertTrue(r.stderr().contains("(timeout 60.0 s)"), r.stderr());
    assertArrayEquals(reference, params("stale"));
  }

  @Test
  void aCorruptNewestCheckpointFallsBackToTheOneBefore() throws Exception {
    Path c = conf("corrupt");
    Path checkpoints = dir.resolve("ck-corrupt");
    assertEquals(1, CliRun.inProcess(failAt(35), "pretrain", c.toString()).exitCode());
    assertEquals(List.of(20L, 30L), CliRun.checkpointSteps(checkpoints));
    Path newest = checkpoints.resolve(String.format("ckpt-%012d.stc", 30));
    byte[] bytes = Files.readAllBytes(newest);
    Files.write(newest, java.util.Arrays.copyOf(bytes, bytes.length - 100));  // truncated
    CliRun.Result r = CliRun.inProcess("pretrain", c.toString());
    assertEquals(Main.EXIT_RESUMED, r.exitCode(), r.toString());
    assertTrue(r.stderr().contains("checkpoint skipped: file:" + newest), r.stderr());
    assertEquals(20, r.json().path("resumed_from_step").asLong());
    assertArrayEquals(reference, params("corrupt"), "bit-identical from the checkpoint before");
  }
}
