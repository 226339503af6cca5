package dev.sparktrain.spark;

import dev.sparktrain.augment.TestTimeAugmentation;
import dev.sparktrain.config.TrainConfig;
import dev.sparktrain.nn.ModelSpec;
import dev.sparktrain.tensor.Gemm;
import dev.sparktrain.train.Hooks;
import dev.sparktrain.train.Metrics;
import dev.sparktrain.train.MetricsLog;
import dev.sparktrain.train.Progress;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.SparkSession;

/**
 * The {@code train} command on the library: load the config's data, fit, evaluate the model on the test set
 * (also with test-time augmentation when predict.tta is set) and on its own training split, save it to model.path,
 * and report the result as the command's JSON fields.
 */
public final class TrainJob {
  private TrainJob() {}

  /** Trains as cfg says, with the hooks added from code; returns the fields of the command's JSON line. */
  public static Map<String, Object> run(SparkSession spark, TrainConfig cfg, Progress progress, Hooks hooks) {
    FailedTasks failures = new FailedTasks();
    MetricsLog metricsLog = RunMetrics.open(spark, cfg, "train");
    spark.sparkContext().addSparkListener(failures);
    try (TrainingData data = TrainingData.load(spark, cfg.data(), progress)) {
      ModelSpec spec = Trainer.modelSpec(cfg, data);
      progress.info(String.format("data: %s; model: %s, %,d parameters; BLAS: %s", data, spec.layersText(),
          spec.paramCount(), Gemm.best().name()));
      FitOptions options = FitOptions.from(cfg).withProgress(progress).withHooks(hooks);
      TrainedModel model = new Trainer(spark).fit(data, RunMetrics.with(options, metricsLog));
      Metrics test = Metrics.NONE, testTta = Metrics.NONE;
      var tta = cfg.predict().tta();
      if (data.test().isPresent()) {
        Examples t = data.test().get();
        test = model.evaluate(t, "test · " + t.source());
        progress.info(String.format("test accuracy %.4f (%,d examples)", test.accuracy(), test.count()));
        if (tta != TestTimeAugmentation.NONE) {
          String name = tta.name().toLowerCase(Locale.ROOT);
          testTta = model.evaluate(t, tta, cfg.predict().ttaPad(), "test · " + name + " · " + t.source());
          progress.info(String.format("test accuracy with test-time augmentation (%s): %.4f", name, testTta.accuracy()));
        }
      }
      Metrics testEma = model.averaged().isPresent() && data.test().isPresent()
          ? model.averaged().get().evaluate(data.test().get(), "test · EMA weights · " + data.test().get().source())
          : Metrics.NONE;
      if (testEma.count() > 0) progress.info(String.format("test accuracy of the EMA weights %.4f", testEma.accuracy()));
      // the final model on its own training split, in test mode without augmentation: the train side of the gap
      Metrics train = model.evaluateTraining(data, "train accuracy · final model");
      progress.info(String.format("train accuracy %.4f (test mode, %,d examples)", train.accuracy(), train.count()));
      var s = model.summary();
      Map<String, Double> metrics = new LinkedHashMap<>();
      metrics.put("train_accuracy", train.accuracy());
      metrics.put("test_accuracy", test.accuracy());
      if (!Double.isNaN(testTta.accuracy())) metrics.put("test_accuracy_tta", testTta.accuracy());
      metrics.put("validation_accuracy", s.validationAccuracy());
      metrics.put("train_loss", s.trainLoss());
      if (testEma.count() > 0) {
        metrics.put("test_accuracy_ema", testEma.accuracy());
        metrics.put("validation_accuracy_ema", s.averagedValidationAccuracy());
      }
      model.save(cfg.model().path(), spark.sparkContext().hadoopConfiguration(), metrics);
      Map<String, Object> snapshots = snapshots(spark, cfg, model, data, progress);

      Map<String, Object> m = new LinkedHashMap<>();
      m.put("test_accuracy", test.accuracy());
      if (!Double.isNaN(testTta.accuracy())) m.put("test_accuracy_tta", testTta.accuracy());
      m.put("test_loss", test.loss());
      m.put("train_accuracy", train.accuracy());
      m.put("validation_accuracy", s.validationAccuracy());
      m.put("train_loss", s.trainLoss());
      if (testEma.count() > 0) {
        m.put("test_accuracy_ema", testEma.accuracy());
        m.put("test_loss_ema", testEma.loss());
        m.put("validation_accuracy_ema", s.averagedValidationAccuracy());
      }
      m.putAll(snapshots);
      m.put("epochs", s.epochs());
      m.put("seconds_per_epoch", s.secondsPerEpoch());
      m.put("examples_per_second", s.examplesPerSecond());
      m.put("train_examples", (long) data.trainCount());
      m.put("validation_examples", data.validationCount());
      m.put("test_examples", test.count());
      m.put("parameters", spec.paramCount());
      m.put("blas", Gemm.best().name());
      m.put("failed_tasks", failures.count.get());
      m.put("engine", s.engine());
      TrainedModel.Traffic traffic = model.traffic();
      if (traffic != null) {
        // gradient frames into the driver over TCP per step: N × the gradient flat, about one gradient with the tree
        m.put("reduce", traffic.reduce());
        if (traffic.measuredBytesPerStep() > 0) m.put("driver_bytes_in_per_step", traffic.measuredBytesPerStep());
      }
      if (s.stopReason() != null) m.put("stopped", s.stopReason());
      m.put("peak_rss_mib", dev.sparktrain.report.PeakMemory.mib());
      m.put("model", cfg.model().path());
      if (metricsLog != null) metricsLog.finish(m, test);
      return m;
    } finally {
      spark.sparkContext().removeSparkListener(failures);
    }
  }

  /**
   * The snapshot ensemble of a run with snapshot.keep: each kept cycle's weights saved as a member under
   * snapshot.output (default: model.path without .stm, then "-snapshots"), with the manifest, and scored on the
   * test set beside each snapshot; the fields for the command's JSON line (none without snapshots).
   */
  private static Map<String, Object> snapshots(SparkSession spark, TrainConfig cfg, TrainedModel model, TrainingData data,
                                               Progress progress) {
    List<TrainedModel> snaps = model.snapshots();
    Map<String, Object> m = new LinkedHashMap<>();
    if (snaps.isEmpty()) return m;
    String dir = cfg.get(dev.sparktrain.config.SettingsTable.SNAPSHOT_OUTPUT);
    if (dir.isBlank()) dir = cfg.model().path().replaceFirst("\\.stm$", "") + "-snapshots";
    List<String> names = model.snapshotCycles().stream().map(c -> "cycle-" + c).toList();
    EnsembleModel ensemble = EnsembleModel.uniform(names, snaps);
    Examples t = data.test().orElse(null);
    EnsembleModel.Evaluation e = t == null ? null
        : ensemble.evaluate(t, TestTimeAugmentation.NONE, 0, "test · snapshot ensemble · " + t.source());
    List<EnsembleModel.Saved> saved = new java.util.ArrayList<>();
    for (int i = 0; i < snaps.size(); i++) {
      saved.add(new EnsembleModel.Saved(names.get(i), snaps.get(i), Double.NaN,
          e == null ? Double.NaN : e.members().get(i).accuracy(), Map.of("snapshot", names.get(i))));
    }
    String manifest = EnsembleModel.save(dir, "snapshot", "uniform", saved, List.of(),
        spark.sparkContext().hadoopConfiguration());
    if (e != null) {
      progress.info(String.format("snapshot ensemble of %d cycles: test accuracy %.4f", snaps.size(),
          e.ensemble().accuracy()));
      m.put("snapshot_ensemble_test_accuracy", e.ensemble().accuracy());
      m.put("snapshot_ensemble_test_loss", e.ensemble().loss());
      m.put("snapshot_test_accuracy", e.members().stream().map(Metrics::accuracy).toList());
    }
    m.put("snapshot_cycles", model.snapshotCycles());
    m.put("snapshot_model", manifest);
    return m;
  }

  /** Counts task attempts that did not succeed (Spark retried them); reported so that retries are visible. */
  static final class FailedTasks extends SparkListener {
    final AtomicLong count = new AtomicLong();

    @Override
    public void onTaskEnd(SparkListenerTaskEnd end) {
      if (!(end.reason() instanceof org.apache.spark.Success$)) count.incrementAndGet();
    }
  }
}
