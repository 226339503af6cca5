package dev.sparktrain.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparktrain.io.CheckpointStore;
import dev.sparktrain.io.SavedModel;
import dev.sparktrain.testing.CliRun;
import dev.sparktrain.testing.InjectedFault;
import dev.sparktrain.train.Callback;
import dev.sparktrain.train.Hooks;
import dev.sparktrain.train.LoopControl;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checkpoints and {@code --resume}: a driver killed with SIGKILL mid-training resumes from its newest checkpoint
 * and ends bit-identical to an uninterrupted run; a NaN stops the run with a named step and leaves the last good
 * checkpoint intact and loadable; a corrupt newest checkpoint is skipped for the one before.
 */
class CheckpointResumeTest {
  @TempDir Path dir;

  /** A job with every kind of state a resume must restore: Adam moments, BN running averages, dropout, augmentation. */
  private Path conf(Path data, String name, Path checkpoints) throws IOException {
    Map<String, String> s = SmallJobConf.settings(data, dir.resolve(name + ".stm"), dir.resolve(name + "-pred"));
    s.put("data.shape", "1x8x8");
    s.put("data.standardize", "channel");
    s.put("data.augment", "flip");
    s.put("model.layers", "conv(4, 3), batchnorm, relu, maxpool(2), flatten, dense(16), relu, dropout(0.2), dense(4)");
    s.put("optimizer.name", "adam");
    s.put("optimizer.learning_rate", "0.01");
    s.put("train.epochs", "3");
    s.put("checkpoint.dir", checkpoints.toString());
    s.put("checkpoint.every", "10");
    return SmallJobConf.write(dir.resolve(name + ".conf"), s);
  }

  private Path data() throws IOException {
    return SmallJobConf.syntheticData(dir, 1600);
  }

  @Test
  void aKilledDriverResumesBitIdentical() throws Exception {
    Path data = data();
    JsonNode straight = succeeds("train", conf(data, "straight", dir.resolve("ck-straight")).toString());
    float[] expected = SavedModel.load(dir.resolve("straight.stm").toString(), new Configuration()).params();

    Path checkpoints = dir.resolve("ck-killed");
    Path killedConf = conf(data, "killed", checkpoints);
    Process child = CliRun.start(dir, "train", killedConf.toString());
    // kill -9 the driver once it has written a checkpoint in the middle of the run
    CliRun.killAfterCheckpoint(child, dir, checkpoints, 40);
    assertTrue(!Files.exists(dir.resolve("killed.stm")), "the killed run saved no model");
    long lastStep = CliRun.checkpointSteps(checkpoints).stream().mapToLong(Long::longValue).max().orElseThrow();

    CliRun.Result r = CliRun.inProcess("train", killedConf.toString(), "--resume");
    assertEquals(0, r.exitCode(), r.toString());
    assertTrue(r.stderr().contains("--resume: continuing from step " + lastStep), r.stderr());
    float[] resumed = SavedModel.load(dir.resolve("killed.stm").toString(), new Configuration()).params();
    assertArrayEquals(expected, resumed, "resumed parameters equal the uninterrupted run's, bit for bit");
    assertEquals(straight.path("test_accuracy").asDouble(), r.json().path("test_accuracy").asDouble(), 0);
  }

  @Test
  void aNanStopsTheRunAndKeepsTheLastGoodCheckpoint() throws Exception {
    Path data = data();
    Path checkpoints = dir.resolve("ck-nan");
    Path c = conf(data, "nan", checkpoints);
    CliRun.Result r = CliRun.inProcess(Hooks.of(InjectedFault.nanAtStep(25)), "train", c.toString());
    assertEquals(2, r.exitCode(), r.toString());
    assertEquals(1, r.errorLines().size(), r.toString());
    String line = r.errorLines().get(0);
    assertTrue(line.contains("epoch 1 iteration 26") && line.contains("not finite") && line.contains("learning rate"), line);
    assertEquals(List.of(10L, 20L), CliRun.checkpointSteps(checkpoints), "checkpoints up to the last good step");
    assertTrue(!Files.exists(dir.resolve("nan.stm")), "no model is saved");
    // the last good checkpoint loads, and resuming without the fault finishes the run
    CliRun.Result resumed = CliRun.inProcess("train", c.toString(), "--resume");
    assertEquals(0, resumed.exitCode(), resumed.toString());
    assertTrue(resumed.stderr().contains("continuing from step 20"), resumed.stderr());
  }

  @Test
  void aCorruptNewestCheckpointIsSkippedForTheOneBefore() throws Exception {
    Path data = data();
    Path checkpoints = dir.resolve("ck-corrupt");
    Path c = conf(data, "corrupt", checkpoints);
    assertEquals(2, CliRun.inProcess(Hooks.of(InjectedFault.nanAtStep(35)), "train", c.toString()).exitCode());
    assertEquals(List.of(20L, 30L), CliRun.checkpointSteps(checkpoints));
    Path newest = checkpoints.resolve(String.format("ckpt-%012d.stc", 30));
    byte[] bytes = Files.readAllBytes(newest);
    bytes[bytes.length / 2] ^= 0x10;  // one flipped bit in the tensor data: the CRC32C catches it
    Files.write(newest, bytes);
    CliRun.Result r = CliRun.inProcess("train", c.toString(), "--resume", "train.epochs=1");
    // a different epoch count is a different schedule: refused, naming the setting
    assertEquals(2, r.exitCode(), r.toString());
    assertTrue(r.errorLines().get(0).contains("train.epochs"), r.toString());
    r = CliRun.inProcess("train", c.toString(), "--resume");
    assertEquals(0, r.exitCode(), r.toString());
    assertTrue(r.stderr().contains("checkpoint skipped: file:" + newest + ": checksum mismatch"), r.stderr());
    assertTrue(r.stderr().contains("continuing from step 20"), r.stderr());
    // a truncated file is refused before anything is allocated for its tensors
    Files.write(newest, java.util.Arrays.copyOf(bytes, 40));
    var store = new CheckpointStore(checkpoints.toString(), new Configuration(), 2);
    String message = org.junit.jupiter.api.Assertions.assertThrows(dev.sparktrain.UserError.class,
        () -> store.load(newest.toString(), null, 1)).getMessage();
    assertTrue(message.startsWith(newest.toString()), message);
  }

  private static JsonNode succeeds(String... args) {
    CliRun.Result r = CliRun.inProcess(args);
    assertEquals(0, r.exitCode(), String.join(" ", args) + "\n" + r);
    return r.json();
  }

  @Test
  void anEmaRunStoppedByACallbackThenResumedEndsBitIdentical() throws Exception {
    Path data = data();
    Path straightConf = conf(data, "ema-straight", dir.resolve("ck-ema-straight"));
    Path stoppedConf = conf(data, "ema-stopped", dir.resolve("ck-ema-stopped"));
    List<String> ema = List.of("ema.decay=0.8", "ema.start_step=5");
    succeeds(concat("train", straightConf.toString(), ema));
    // a callback stops the run inside epoch 2; the checkpoint taken where it stopped holds the EMA vector
    Callback stopAt57 = new Callback() {
      @Override public void onStepEnd(StepEnd e, LoopControl loop) { if (e.step() == 56) loop.stop("test stop"); }
    };
    CliRun.Result stopped = CliRun.inProcess(Hooks.of(stopAt57), concat("train", stoppedConf.toString(), ema));
    assertEquals(0, stopped.exitCode(), stopped.toString());
    assertEquals("test stop", stopped.json().path("stopped").asText(), stopped.stdout());
    assertTrue(CliRun.checkpointSteps(dir.resolve("ck-ema-stopped")).contains(57L), "a checkpoint where it stopped");
    List<String> resume = new java.util.ArrayList<>(ema);
    resume.add("--resume");
    JsonNode resumed = succeeds(concat("train", stoppedConf.toString(), resume));
    var a = SavedModel.load(dir.resolve("ema-straight.stm").toString(), new Configuration());
    var b = SavedModel.load(dir.resolve("ema-stopped.stm").toString(), new Configuration());
    assertArrayEquals(a.params(), b.params(), "raw weights bit for bit");
    assertArrayEquals(a.averagedParams(), b.averagedParams(), "EMA weights bit for bit");
    assertTrue(resumed.has("test_accuracy_ema"), resumed.toString());
  }

  @Test
  void aSnapshotEnsembleStoppedAfterItsSecondCycleThenResumedKeepsTheSameSnapshots() throws Exception {
    Path data = data();
    Path straightConf = conf(data, "snap-straight", dir.resolve("ck-snap-straight"));
    Path stoppedConf = conf(data, "snap-stopped", dir.resolve("ck-snap-stopped"));
    // 45 steps per epoch, one cycle per epoch: snapshots after steps 44, 89 and 134; the last two are kept
    List<String> snap = List.of("schedule.name=cosine_restarts", "schedule.period=1", "schedule.warmup_steps=0",
        "snapshot.keep=2");
    JsonNode straight = succeeds(concat("train", straightConf.toString(), snap));
    assertEquals("[2,3]", straight.get("snapshot_cycles").toString());
    Callback stopAt100 = new Callback() {
      @Override public void onStepEnd(StepEnd e, LoopControl loop) { if (e.step() == 99) loop.stop("test stop"); }
    };
    CliRun.Result stopped = CliRun.inProcess(Hooks.of(stopAt100), concat("train", stoppedConf.toString(), snap));
    assertEquals(0, stopped.exitCode(), stopped.toString());
    List<String> resume = new java.util.ArrayList<>(snap);
    resume.add("--resume");
    JsonNode resumed = succeeds(concat("train", stoppedConf.toString(), resume));
    assertEquals("[2,3]", resumed.get("snapshot_cycles").toString(), "cycle 2 came back from the checkpoint");
    Configuration hc = new Configuration();
    var a = dev.sparktrain.io.EnsembleManifest.read(straight.get("snapshot_model").asText(), hc)
        .loadMembers(straight.get("snapshot_model").asText(), hc);
    var b = dev.sparktrain.io.EnsembleManifest.read(resumed.get("snapshot_model").asText(), hc)
        .loadMembers(resumed.get("snapshot_model").asText(), hc);
    for (int i = 0; i < 2; i++) assertArrayEquals(a.get(i).params(), b.get(i).params(), "snapshot " + i + " bit for bit");
    assertEquals(straight.get("snapshot_ensemble_test_accuracy").asDouble(),
        resumed.get("snapshot_ensemble_test_accuracy").asDouble(), 0);
  }

  private static String[] concat(String command, String conf, List<String> more) {
    List<String> all = new java.util.ArrayList<>(List.of(command, conf));
    all.addAll(more);
    return all.toArray(String[]::new);
  }
}
