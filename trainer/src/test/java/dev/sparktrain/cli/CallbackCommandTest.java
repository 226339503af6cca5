package dev.sparktrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparktrain.config.Settings;
import dev.sparktrain.config.TrainConfig;
import dev.sparktrain.io.CheckpointStore;
import dev.sparktrain.io.TensorFile;
import dev.sparktrain.optim.Schedule;
import dev.sparktrain.testing.CliRun;
import dev.sparktrain.testing.SyntheticImages;
import dev.sparktrain.train.Callback;
import dev.sparktrain.train.Hooks;
import dev.sparktrain.train.LoopControl;
import dev.sparktrain.train.MinibatchPlan;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Callbacks passed to the train command from code: one that records every step, and one that throws. */
class CallbackCommandTest {
  @TempDir Path dir;

  private Map<String, String> settings() throws Exception {
    Path data = Files.createDirectories(dir.resolve("data"));
    SyntheticImages.writeDataset(data, 640, 100, 8, 4);
    Map<String, String> s = SmallJobConf.settings(data, dir.resolve("m.stm"), dir.resolve("pred"));
    s.put("train.epochs", "3");
    s.put("schedule.name", "cosine");
    s.put("schedule.warmup_steps", "7");
    s.put("schedule.warmup_start_lr", "0.001");
    return s;
  }

  /** Every step's rate, loss and example count. */
  private static final class Recorder implements Callback {
    final List<StepEnd> steps = new ArrayList<>();

    @Override public void onStepEnd(StepEnd e, LoopControl loop) { steps.add(e); }
  }

  @Test
  void aRecordingCallbackSeesTheScheduleAndTheLoggedLosses() throws Exception {
    Map<String, String> s = settings();
    Path conf = SmallJobConf.write(dir.resolve("job.conf"), s);
    Recorder rec = new Recorder();
    CliRun.Result r = CliRun.inProcess(Hooks.of(rec), "train", conf.toString());
    assertEquals(0, r.exitCode(), r.toString());
    TrainConfig cfg = TrainConfig.from(Settings.load(conf.toString(), List.of()));
    JsonNode json = r.json();
    int n = json.path("train_examples").asInt(), iterations = new MinibatchPlan(42, n, 32).iterationsPerEpoch();
    Schedule lr = cfg.schedule().build(cfg.optimizer().learningRate(), iterations, 3L * iterations);
    assertEquals(3 * iterations, rec.steps.size());
    double[] sum = new double[3];
    long[] count = new long[3];
    for (int i = 0; i < rec.steps.size(); i++) {
      Callback.StepEnd e = rec.steps.get(i);
      assertEquals(i, e.step());
      assertEquals(lr.at(i), e.lr(), 0, "step " + i + ": the rate of the configured warmup + cosine schedule");
      sum[e.epoch()] += e.loss() * e.examples();
      count[e.epoch()] += e.examples();
    }
    // the per-epoch lines of the log show each epoch's mean of the recorded losses
    Matcher m = Pattern.compile("epoch (\\d)/3  train_loss (\\d+\\.\\d{4})").matcher(r.stderr());
    int lines = 0;
    while (m.find()) {
      int epoch = Integer.parseInt(m.group(1)) - 1;
      assertEquals(String.format("%.4f", sum[epoch] / count[epoch]), m.group(2), "epoch " + (epoch + 1));
      lines++;
    }
    assertEquals(3, lines, r.stderr());
    assertEquals(sum[2] / count[2], json.path("train_loss").asDouble(), 1e-12 * Math.abs(sum[2] / count[2]));
    assertEquals(n, count[0], "each epoch sees every training example once");
  }

  @Test
  void aThrowingCallbackStopsTheRunAndLeavesNothingHalfWritten() throws Exception {
    Map<String, String> s = settings();
    Path checkpoints = dir.resolve("ck");
    s.put("checkpoint.dir", checkpoints.toString());
    s.put("checkpoint.every", "5");
    s.put("checkpoint.keep", "10");
    Path conf = SmallJobConf.write(dir.resolve("job.conf"), s);
    Callback broken = new Callback() {
      @Override public void onStepEnd(StepEnd e, LoopControl loop) {
        if (e.step() == 21) throw new IllegalStateException("metrics store unreachable");
      }

      @Override public String callbackName() { return "metrics-exporter"; }
    };
    CliRun.Result r = CliRun.inProcess(Hooks.of(broken), "train", conf.toString());
    assertEquals(1, r.exitCode(), r.toString());
    assertEquals(1, r.errorLines().size(), r.toString());
    String line = r.errorLines().get(0);
    assertTrue(line.startsWith("error: callback metrics-exporter failed at epoch 2 iteration ")
        && line.endsWith(" (step 22): IllegalStateException: metrics store unreachable"), line);
    assertTrue(r.json().path("error").asText().contains("metrics-exporter"), r.stdout());
    assertFalse(Files.exists(dir.resolve("m.stm")), "no model file");
    try (Stream<Path> files = Files.list(checkpoints)) {
      List<String> names = files.map(p -> p.getFileName().toString()).sorted().toList();
      assertFalse(names.isEmpty());
      for (String f : names) assertTrue(f.matches("ckpt-\\d{12}\\.stc"), "only complete checkpoints: " + names);
    }
    long newest = 0;
    try (Stream<Path> files = Files.list(checkpoints)) {
      for (Path f : files.toList()) {  // each one reads and passes its checksum
        var c = TensorFile.read(f.toString(), new Configuration(), CheckpointStore.FORMAT);
        newest = Math.max(newest, c.meta().path("step").asLong());
      }
    }
    assertEquals(20, newest, "the last checkpoint before the failed step 22 is step 20's");
  }
}
