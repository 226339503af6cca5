package dev.sparktrain.spark;

import dev.sparktrain.UserError;
import dev.sparktrain.config.TrainConfig;
import dev.sparktrain.nn.ModelSpec;
import dev.sparktrain.report.CsvFile;
import dev.sparktrain.report.CurvePlot;
import dev.sparktrain.report.Curves;
import dev.sparktrain.train.MinibatchPlan;
import dev.sparktrain.train.Hooks;
import dev.sparktrain.train.MetricsLog;
import dev.sparktrain.train.Progress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.apache.spark.sql.SparkSession;

/**
 * The compare command: the same model trained with several optimizers as concurrent Spark jobs over one cached
 * copy of the data. Writes each run's curves (CSV) and one plot (PNG, SVG) of training loss and validation
 * accuracy.
 */
public final class Comparison {
  private Comparison() {}

  /**
   * Runs compare.runs; configFor(overrides) builds the config of one run from the job's config plus the run's
   * optimizer.name and optimizer.learning_rate.
   */
  public static Map<String, Object> run(SparkSession spark, TrainConfig cfg, Function<List<String>, TrainConfig> configFor,
                                        Progress progress, Hooks hooks) {
    List<String> names = cfg.compare().runs();
    if (names.isEmpty()) throw new UserError("compare.runs: no runs");
    List<TrainConfig> runs = new ArrayList<>();
    for (int i = 0; i < names.size(); i++) {
      List<String> o = new ArrayList<>(List.of("optimizer.name=" + names.get(i)));
      if (!cfg.compare().learningRates().isEmpty()) o.add("optimizer.learning_rate=" + cfg.compare().learningRates().get(i));
      TrainConfig run = configFor.apply(o);
      if (run.optimizer().isLbfgs()) throw new UserError("compare.runs: lbfgs is full-batch; compare minibatch optimizers");
      runs.add(run);
    }
    int concurrency = Math.min(cfg.compare().concurrency(), runs.size());
    List<Curves> curves = new ArrayList<>();
    List<MetricsLog> metrics = new ArrayList<>();  // one file per run (metrics.path, docs/metrics.md)
    ModelSpec spec;
    try (TrainingData data = TrainingData.load(spark, cfg.data(), progress)) {
      spec = Trainer.modelSpec(cfg, data);
      int iterations = new MinibatchPlan(cfg.training().orderSeed(), data.trainCount(), cfg.training().batchSize())
          .iterationsPerEpoch();
      progress.info(String.format("compare: %d runs of %s on %,d examples, %d at a time", runs.size(),
          spec.layersText(), data.trainCount(), concurrency));
      Trainer trainer = new Trainer(spark);
      List<ParallelRuns.Run> fits = new ArrayList<>();
      for (TrainConfig run : runs) {
        String name = runName(run, runs);
        Curves c = new Curves(name, run.optimizer().name(), iterations);
        curves.add(c);
        MetricsLog log = RunMetrics.openMember(spark, run, "compare", name);
        if (log != null) metrics.add(log);
        FitOptions options = FitOptions.from(run).withProgress(progress.forRun(name)).withCallbacks(c);
        fits.add(new ParallelRuns.Run(name, RunMetrics.with(options, log).withHooks(hooks)));
      }
      var plan = ParallelRuns.plan(trainer.sparkContext(), cfg.training().engine(), runs.size(), data.partitions(),
          concurrency);
      progress.info("compare: " + plan.describe());
      ParallelRuns.fit(trainer, data, fits, plan, false, progress);
    }

    String dir = cfg.compare().output();
    var conf = spark.sparkContext().hadoopConfiguration();
    writeCsv(dir + "/iterations.csv", "run,optimizer,epoch,iteration,step,loss,lr", curves, c -> c.iterations().stream()
        .map(p -> String.join(",", c.name(), c.optimizer(), str(p.epoch()), str(p.iteration()), str(p.step()),
            str(p.loss()), str(p.lr()))).toList(), conf);
    writeCsv(dir + "/epochs.csv", "run,optimizer,epoch,train_loss,val_loss,val_accuracy,lr,seconds", curves, c -> c.epochs()
        .stream().map(e -> String.join(",", c.name(), c.optimizer(), str(e.epoch()), str(e.trainLoss()), str(e.valLoss()),
            str(e.valAccuracy()), str(e.lr()), str(e.seconds()))).toList(), conf);
    String plot = CurvePlot.write(CurvePlot.chart("Fashion-MNIST " + spec.layersText() + ", batch "
        + cfg.training().batchSize(), curves, 0.98), dir + "/curves", 1000, 700, conf);

    List<Map<String, Object>> summary = new ArrayList<>();
    for (Curves c : curves) {
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("name", c.name());
      r.put("optimizer", c.optimizer());
      Curves.EpochPoint last = c.last();
      r.put("final_val_accuracy", last == null ? Double.NaN : last.valAccuracy());
      r.put("final_train_loss", last == null ? Double.NaN : last.trainLoss());
      summary.add(r);
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("runs", summary);
    out.put("plot", plot);
    out.put("curves", dir + "/epochs.csv");
    for (MetricsLog log : metrics) log.finish(out, null);  // compare evaluates no test set
    return out;
  }

  private static String runName(TrainConfig run, List<TrainConfig> all) {
    String name = run.optimizer().name();
    long same = all.stream().filter(r -> r.optimizer().name().equals(name)).count();
    return same == 1 ? name : name + " lr=" + run.optimizer().learningRate();
  }

  private static String str(double v) {
    return CsvFile.field(v);
  }

  private static String str(long v) {
    return Long.toString(v);
  }

  private static void writeCsv(String file, String header, List<Curves> runs, Function<Curves, List<String>> rows,
                               org.apache.hadoop.conf.Configuration conf) {
    CsvFile.write(file, header, runs.stream().flatMap(c -> rows.apply(c).stream()).toList(), conf);
  }
}
