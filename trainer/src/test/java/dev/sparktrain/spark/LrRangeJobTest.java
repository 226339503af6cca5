package dev.sparktrain.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktrain.UserError;
import dev.sparktrain.config.Settings;
import dev.sparktrain.config.TrainConfig;
import dev.sparktrain.tensor.Rng;
import dev.sparktrain.testing.InjectedFault;
import dev.sparktrain.testing.SparkFixture;
import dev.sparktrain.testing.SyntheticImages;
import dev.sparktrain.train.Hooks;
import dev.sparktrain.train.Progress;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The lr-range job end to end on a small generated data set (352 training examples in batches of 8: 44 steps per
 * epoch, so a range of 60 steps crosses an epoch's end and its validation): the CSV's rows and exponential rates,
 * the plot files, the suggestion, a divergent range that stops early, a poisoned gradient that the finite check
 * fails, and the settings it refuses.
 */
class LrRangeJobTest {
  private static final int STEPS = 60;
  @TempDir Path dir;

  /**
   * The range's config on 400 training images of SyntheticImages (8×8, 4 classes); with noisyLabels a third of the
   * labels are drawn at random, so that the loss cannot fall to zero (where the gradient vanishes and no rate
   * diverges) and a large rate must blow it up.
   */
  private TrainConfig config(double minLr, double maxLr, String optimizer, boolean noisyLabels) throws Exception {
    SyntheticImages train = new SyntheticImages(400, 8, 4, 1);
    if (noisyLabels) {
      Rng rng = new Rng(7);
      for (int i = 0; i < train.count; i++) if (rng.nextInt(3) == 0) train.labels[i] = (byte) rng.nextInt(4);
    }
    SyntheticImages.gzip(dir.resolve("train-images.gz"), train.imagesIdx());
    SyntheticImages.gzip(dir.resolve("train-labels.gz"), train.labelsIdx());
    Map<String, String> s = new LinkedHashMap<>(Map.of(
        "data.train", dir.resolve("train-images.gz").toString(),
        "data.train_labels", dir.resolve("train-labels.gz").toString(),
        "data.num_classes", "4", "data.partitions", "2", "data.validation_fraction", "0.1",
        "model.layers", "dense(16), relu, dense(4)", "train.batch_size", "8", "optimizer.name", optimizer));
    s.put("lr_range.min_lr", Double.toString(minLr));
    s.put("lr_range.max_lr", Double.toString(maxLr));
    s.put("lr_range.steps", Integer.toString(STEPS));
    s.put("lr_range.output", dir.resolve("out").toString());
    // settings the range must override: a schedule, EMA, early stopping and checkpoints
    s.put("schedule.name", "cosine");
    s.put("ema.decay", "0.9");
    s.put("early_stopping.patience", "1");
    s.put("checkpoint.dir", dir.resolve("ck").toString());
    return TrainConfig.from(Settings.of(s));
  }

  /** The CSV's rows below its header, split into fields. */
  private static List<String[]> rows(Map<String, Object> result) throws Exception {
    List<String> lines = Files.readAllLines(Path.of((String) result.get("csv")), StandardCharsets.UTF_8);
    assertEquals("step,lr,loss,smoothed_loss", lines.get(0));
    return lines.subList(1, lines.size()).stream().map(l -> l.split(",", -1)).toList();
  }

  private static void assertPlotWritten(Map<String, Object> result) throws Exception {
    String png = (String) result.get("plot");
    assertTrue(png.endsWith("/lr-range.png"), png);
    assertTrue(Files.size(Path.of(png)) > 1000, "a non-empty PNG");
    Path svg = Path.of(png.replace(".png", ".svg"));
    assertTrue(Files.readString(svg).contains("<svg"), "an SVG");
  }

  private static void assertSuggestionInRange(Map<String, Object> result, double minLr, double maxLr) {
    for (String key : List.of("suggested_lr", "steepest_lr", "min_loss_lr")) {
      double lr = (Double) result.get(key);
      assertTrue(lr >= minLr && lr <= maxLr, key + " = " + lr);
    }
  }

  @Test
  void aRangeRunsItsStepsAtExponentiallyGrowingRatesAndWritesItsCurve() throws Exception {
    SparkSession spark = SparkFixture.local2();
    double minLr = 1e-4, maxLr = 0.05;
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    Map<String, Object> r = LrRangeJob.run(spark, config(minLr, maxLr, "momentum", false),
        new Progress(new PrintStream(err, true, StandardCharsets.UTF_8), false), Hooks.NONE);

    assertEquals(STEPS, r.get("steps"));
    assertEquals("ran the 60 steps of lr_range.steps", r.get("stopped"));
    List<String[]> rows = rows(r);
    assertEquals(STEPS, rows.size());
    double ratio = Math.pow(maxLr / minLr, 1.0 / (STEPS - 1));
    assertEquals(minLr, Double.parseDouble(rows.get(0)[1]), 1e-9 * minLr);
    assertEquals(maxLr, Double.parseDouble(rows.get(STEPS - 1)[1]), 1e-9 * maxLr);
    for (int i = 0; i + 1 < rows.size(); i++) {
      assertEquals(Long.toString(i), rows.get(i)[0]);
      double q = Double.parseDouble(rows.get(i + 1)[1]) / Double.parseDouble(rows.get(i)[1]);
      assertEquals(ratio, q, 1e-9 * ratio, "rows " + i + " and " + (i + 1));
      assertTrue(Double.isFinite(Double.parseDouble(rows.get(i)[2])) && Double.isFinite(Double.parseDouble(rows.get(i)[3])));
    }
    assertPlotWritten(r);
    assertSuggestionInRange(r, minLr, maxLr);
    assertEquals((Double) r.get("min_loss_lr") / 10, (Double) r.get("suggested_lr"), 0);
    assertTrue((Double) r.get("seconds") > 0);
    String log = err.toString(StandardCharsets.UTF_8);
    assertTrue(log.contains("lr range: step 10/60  lr "), log);
    assertFalse(Files.exists(dir.resolve("ck")), "no checkpoints");
  }

  @Test
  void aRangeUpToAHugeRateStopsEarlyAndSaysWhy() throws Exception {
    SparkSession spark = SparkFixture.local2();
    double minLr = 1e-3, maxLr = 1e4;
    Map<String, Object> r = LrRangeJob.run(spark, config(minLr, maxLr, "momentum", true), Progress.quiet(), Hooks.NONE);
    int steps = (Integer) r.get("steps");
    String stopped = (String) r.get("stopped");
    assertTrue(steps < STEPS, "stopped early: " + steps);
    assertTrue(stopped.startsWith("diverged after " + steps + " steps")
        || stopped.startsWith("the loss or gradient was not finite at step " + (steps + 1)), stopped);
    assertEquals(steps, rows(r).size());
    assertPlotWritten(r);
    assertSuggestionInRange(r, minLr, maxLr);
  }

  @Test
  void aNonFiniteGradientEndsTheRangeAndKeepsThePointsBeforeIt() throws Exception {
    SparkSession spark = SparkFixture.local2();
    Map<String, Object> r = LrRangeJob.run(spark, config(1e-4, 0.05, "momentum", false), Progress.quiet(),
        Hooks.of(InjectedFault.nanAtStep(12)));
    assertEquals(12, r.get("steps"));
    String stopped = (String) r.get("stopped");
    assertTrue(stopped.startsWith("the loss or gradient was not finite at step 13 (lr "), stopped);
    assertTrue(stopped.endsWith("the range ends after the 12 steps before it"), stopped);
    assertEquals(12, rows(r).size());
    assertPlotWritten(r);
  }

  @Test
  void refusesLbfgsAndAnEmptyRange() throws Exception {
    SparkSession spark = SparkFixture.local2();
    UserError lbfgs = assertThrows(UserError.class,
        () -> LrRangeJob.run(spark, config(1e-4, 1, "momentum", false).with(Map.of("optimizer.name", "lbfgs", "ema.decay", "0",
            "early_stopping.patience", "0")), Progress.quiet(), Hooks.NONE));
    assertTrue(lbfgs.getMessage().startsWith("optimizer.name = lbfgs: "), lbfgs.getMessage());
    UserError empty = assertThrows(UserError.class,
        () -> LrRangeJob.run(spark, config(0.1, 0.01, "adam", false), Progress.quiet(), Hooks.NONE));
    assertEquals("lr_range.min_lr = 0.1: must be below lr_range.max_lr = 0.01", empty.getMessage());
  }
}
