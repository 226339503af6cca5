package dev.sparktrain.spark;

import dev.sparktrain.UserError;
import dev.sparktrain.config.SettingsTable;
import dev.sparktrain.config.TrainConfig;
import dev.sparktrain.nn.ModelSpec;
import dev.sparktrain.report.CsvFile;
import dev.sparktrain.report.CurvePlot;
import dev.sparktrain.report.LrRangePlot;
import dev.sparktrain.train.FiniteCheck;
import dev.sparktrain.train.Hooks;
import dev.sparktrain.train.LrRangeRecorder;
import dev.sparktrain.train.MinibatchPlan;
import dev.sparktrain.train.Progress;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.sql.SparkSession;

/**
 * The lr-range command, the learning-rate range test (Smith 2017, "Cyclical Learning Rates for Training Neural
 * Networks", section 3.3): one short run of the config's model and optimizer whose rate grows exponentially from
 * lr_range.min_lr to lr_range.max_lr over lr_range.steps steps ({@link LrRangeRecorder}), ending early when the
 * loss diverges or stops being finite. Writes lr-range.csv (step, lr, loss, smoothed_loss) and a plot
 * (lr-range.png, lr-range.svg) under lr_range.output, and reports the suggested rates.
 *
 * <p>The run starts from the config's seeded initialisation with a constant schedule that the recorder replaces,
 * optimizer.learning_rate set to lr_range.min_lr, and no EMA, checkpoints, early stopping or reduce-on-plateau:
 * nothing but the range may change the rate, and nothing of the run is kept but its curve.
 */
public final class LrRangeJob {
  private LrRangeJob() {}

  /** Runs the range test as cfg says, with the hooks added from code; returns the fields of the command's JSON line. */
  public static Map<String, Object> run(SparkSession spark, TrainConfig cfg, Progress progress, Hooks hooks) {
    long begin = System.nanoTime();
    double minLr = cfg.get(SettingsTable.LR_RANGE_MIN_LR), maxLr = cfg.get(SettingsTable.LR_RANGE_MAX_LR);
    int steps = cfg.get(SettingsTable.LR_RANGE_STEPS);
    if (cfg.optimizer().isLbfgs()) {
      throw new UserError("optimizer.name = lbfgs: the learning-rate range test needs a minibatch optimizer; "
          + "L-BFGS chooses its own step length");
    }
    if (minLr >= maxLr) {
      throw new UserError("lr_range.min_lr = " + minLr + ": must be below lr_range.max_lr = " + maxLr);
    }
    LrRangeRecorder recorder = new LrRangeRecorder(minLr, maxLr, steps, progress);
    String title, stopped;
    try (TrainingData data = TrainingData.load(spark, cfg.data(), progress)) {
      int iterations = new MinibatchPlan(cfg.training().orderSeed(), data.trainCount(), cfg.training().batchSize())
          .iterationsPerEpoch();
      TrainConfig range = cfg.with(rangeSettings((steps + iterations - 1) / iterations, minLr));
      ModelSpec spec = Trainer.modelSpec(range, data);
      title = String.format(Locale.ROOT, "learning-rate range test: %s, %s, batch %d", spec.layersText(),
          range.optimizer().name(), range.training().batchSize());
      progress.info(String.format(Locale.ROOT, "lr range: %s from %.3g to %.3g over %d steps (%d per epoch) on %,d "
          + "examples", range.optimizer().name(), minLr, maxLr, steps, iterations, data.trainCount()));
      try {
        // the first stop asked for: the recorder's, unless a hook's came before it
        stopped = new Trainer(spark).fit(data, FitOptions.from(range).withProgress(progress).withHooks(hooks)
            .withCallbacks(recorder).withName("lr-range")).summary().stopReason();
      } catch (UserError e) {
        if (!FiniteCheck.raised(e)) throw e;
        stopped = recorder.stopAtNonFinite();
        progress.info("stopped: " + stopped);
      }
    }
    return report(spark, cfg.get(SettingsTable.LR_RANGE_OUTPUT), title, recorder, stopped, minLr, progress, begin);
  }

  /**
   * The overrides of the range's run: enough epochs for the steps, a constant rate from min_lr without warmup
   * (the recorder replaces it at train start), and none of the callbacks that would change the rate or keep state.
   */
  private static Map<String, String> rangeSettings(int epochs, double minLr) {
    Map<String, String> s = new LinkedHashMap<>();
    s.put("train.epochs", Integer.toString(epochs));
    s.put("optimizer.learning_rate", Double.toString(minLr));
    s.put("schedule.name", "constant");
    s.put("schedule.warmup_steps", "0");
    s.put("plateau.enabled", "false");
    s.put("early_stopping.patience", "0");
    s.put("ema.decay", "0");
    s.put("checkpoint.dir", "");
    s.put("checkpoint.resume", "false");
    return s;
  }

  /** Writes the CSV and the plot, and returns the result fields (null for a rate the curve cannot suggest). */
  private static Map<String, Object> report(SparkSession spark, String dir, String title, LrRangeRecorder recorder,
                                            String stopped, double minLr, Progress progress, long begin) {
    List<LrRangeRecorder.Point> points = recorder.points();
    LrRangeRecorder.Suggestion s = recorder.suggestion();
    var conf = spark.sparkContext().hadoopConfiguration();
    String csv = dir + "/lr-range.csv";
    CsvFile.write(csv, "step,lr,loss,smoothed_loss", points.stream().map(p -> String.join(",", Long.toString(p.step()),
        CsvFile.field(p.lr()), CsvFile.field(p.loss()), CsvFile.field(p.smoothedLoss()))).toList(), conf);
    String plot = CurvePlot.write(LrRangePlot.chart(title, points, s), dir + "/lr-range", 1000, 700, conf);
    progress.info(String.format(Locale.ROOT, "lr range: lowest smoothed loss at lr %.3g; suggested lr %.3g, steepest "
        + "descent at lr %.3g", s.minLossLr(), s.suggestedLr(), s.steepestLr()));
    if (s.suggestedLr() < minLr) {
      progress.info("lr range: the suggestion lies below lr_range.min_lr; start the range lower to see where the loss "
          + "begins to fall");
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("suggested_lr", rate(s.suggestedLr()));
    m.put("steepest_lr", rate(s.steepestLr()));
    m.put("min_loss_lr", rate(s.minLossLr()));
    m.put("steps", points.size());
    m.put("stopped", stopped);
    m.put("csv", csv);
    m.put("plot", plot);
    m.put("seconds", (System.nanoTime() - begin) / 1e9);
    return m;
  }

  private static Double rate(double lr) {
    return Double.isNaN(lr) ? null : lr;
  }
}
