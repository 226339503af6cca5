package dev.sparktrain.spark;

import dev.sparktrain.UserError;
import dev.sparktrain.config.SearchSpace;
import dev.sparktrain.config.SettingsTable;
import dev.sparktrain.config.TrainConfig;
import dev.sparktrain.report.CurvePlot;
import dev.sparktrain.report.SearchPlot;
import dev.sparktrain.train.Hooks;
import dev.sparktrain.train.Progress;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;

/**
 * The search command: search.runs short runs with settings drawn from the search.* ranges ({@link SearchSpace}),
 * as concurrent Spark jobs over one cached copy of the data, ranked by validation accuracy; writes search.csv and a
 * plot of validation accuracy against learning rate. A run that fails is listed with its reason.
 */
public final class SearchJob {
  private SearchJob() {}

  public static Map<String, Object> run(SparkSession spark, TrainConfig cfg, Function<List<String>, TrainConfig> configFor,
                                        Progress progress, Hooks hooks) {
    long begin = System.nanoTime();
    if (cfg.data().validationFraction() == 0.0) {
      throw new UserError("data.validation_fraction = 0: search ranks runs by validation accuracy; hold out a split");
    }
    SearchSpace space = SearchSpace.of(cfg);
    int k = cfg.get(SettingsTable.SEARCH_RUNS);
    List<ParallelRuns.Run> runs = new ArrayList<>();
    List<Map<String, String>> drawn = new ArrayList<>();
    for (int i = 0; i < k; i++) {
      Map<String, String> o = space.sample(i);
      drawn.add(o);
      TrainConfig run = configFor.apply(o.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList());
      if (run.optimizer().isLbfgs()) throw new UserError("search: optimizer.name = lbfgs is full-batch; search a minibatch optimizer");
      String name = "run-" + i;
      runs.add(new ParallelRuns.Run(name, FitOptions.from(run).withName(name).withProgress(progress.forRun(name))
          .withHooks(hooks)));
    }
    List<ParallelRuns.Outcome> outcomes;
    ParallelRuns.Plan plan;
    try (TrainingData data = TrainingData.load(spark, cfg.data(), progress)) {
      Trainer trainer = new Trainer(spark);
      plan = ParallelRuns.plan(trainer.sparkContext(), cfg.training().engine(), k, data.partitions(),
          cfg.get(SettingsTable.ENSEMBLE_CONCURRENCY));
      progress.info("search: " + plan.describe());
      outcomes = ParallelRuns.fit(trainer, data, runs, plan, true, progress);
    }
    List<Map<String, Object>> rows = new ArrayList<>();
    for (int i = 0; i < k; i++) {
      ParallelRuns.Outcome o = outcomes.get(i);
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("name", o.name());
      r.put("settings", drawn.get(i));
      r.put("learning_rate", o.options().config().optimizer().learningRate());
      r.put("weight_decay", o.options().config().get(SettingsTable.OPTIMIZER_WEIGHT_DECAY));
      r.put("layers", o.options().config().model().layers());
      r.put("validation_accuracy", o.ok() ? o.model().summary().validationAccuracy() : Double.NaN);
      r.put("train_loss", o.ok() ? o.model().summary().trainLoss() : Double.NaN);
      r.put("seconds", o.seconds());
      if (!o.ok()) r.put("failure", o.failure());
      rows.add(r);
    }
    rows.sort(Comparator.comparingDouble((Map<String, Object> r) -> {
      double v = (Double) r.get("validation_accuracy");
      return Double.isNaN(v) ? Double.POSITIVE_INFINITY : -v;
    }));
    for (int i = 0; i < rows.size(); i++) rows.get(i).put("rank", i + 1);

    String dir = cfg.get(SettingsTable.SEARCH_OUTPUT);
    var conf = spark.sparkContext().hadoopConfiguration();
    String csv = dir + "/search.csv";
    writeCsv(csv, rows, conf);
    List<SearchPlot.Point> points = rows.stream().map(r -> new SearchPlot.Point((Double) r.get("learning_rate"),
        (Double) r.get("validation_accuracy"))).toList();
    String plot = CurvePlot.write(SearchPlot.chart("random search: " + k + " runs of " + cfg.training().epochs()
        + " epoch(s), " + cfg.model().layers(), points, points.get(0)), dir + "/search", 1000, 650, conf);

    Map<String, Object> out = new LinkedHashMap<>();
    out.put("best", rows.get(0));
    out.put("runs", rows);
    out.put("runs_failed", outcomes.stream().filter(o -> !o.ok()).count());
    out.put("plan", plan.toJson());
    out.put("seconds", (System.nanoTime() - begin) / 1e9);
    out.put("csv", csv);
    out.put("plot", plot);
    return out;
  }

  private static void writeCsv(String file, List<Map<String, Object>> rows, org.apache.hadoop.conf.Configuration conf) {
    Path path = new Path(file);
    try {
      FileSystem fs = dev.sparktrain.io.OutputFileSystem.of(path, conf);
      try (OutputStream raw = fs.create(path, true);
           PrintWriter w = new PrintWriter(new OutputStreamWriter(raw, StandardCharsets.UTF_8))) {
        w.println("rank,name,learning_rate,weight_decay,layers,validation_accuracy,train_loss,seconds,failure");
        for (Map<String, Object> r : rows) {
          w.println(String.join(",", r.get("rank").toString(), r.get("name").toString(), r.get("learning_rate").toString(),
              r.get("weight_decay").toString(), quoted(r.get("layers").toString()), r.get("validation_accuracy").toString(),
              r.get("train_loss").toString(), r.get("seconds").toString(), quoted(String.valueOf(r.getOrDefault("failure", "")))));
        }
      }
    } catch (IOException e) {
      throw new UserError(file + ": cannot write (" + e.getMessage() + ")");
    }
  }

  private static String quoted(String s) {
    return "\"" + s.replace("\"", "\"\"") + "\"";
  }
}
