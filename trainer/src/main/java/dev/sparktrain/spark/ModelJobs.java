package dev.sparktrain.spark;

import dev.sparktrain.UserError;
import dev.sparktrain.config.TrainConfig;
import dev.sparktrain.io.EnsembleManifest;
import dev.sparktrain.io.SavedModel;
import dev.sparktrain.train.Metrics;
import dev.sparktrain.train.Progress;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

/** The {@code evaluate} and {@code predict} commands: a saved model applied to a data source on the executors. */
public final class ModelJobs {
  private ModelJobs() {}

  /** Accuracy and loss of the model at model.path on the test source. */
  public static Map<String, Object> evaluate(SparkSession spark, TrainConfig cfg, Progress progress) {
    Input in = Input.open(spark, cfg, progress);
    var tta = cfg.predict().tta();
    Map<String, Object> out = new LinkedHashMap<>();
    Metrics m;
    if (in.ensemble() != null) {
      var e = in.ensemble().evaluate(in.examples(), tta, cfg.predict().ttaPad(), "evaluate · ensemble · " + in.examples().source());
      m = e.ensemble();
      List<Double> each = e.members().stream().map(Metrics::accuracy).toList();
      out.put("test_accuracy", m.accuracy());
      out.put("member_test_accuracy", each);
      out.put("mean_member_test_accuracy", each.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN));
      out.put("best_member_test_accuracy", each.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN));
      out.put("members", in.ensemble().members().stream().map(EnsembleModel.Member::name).toList());
    } else {
      m = in.model().evaluate(in.examples(), tta, cfg.predict().ttaPad(), "evaluate · " + in.examples().source());
      out.put("test_accuracy", m.accuracy());
    }
    out.put("tta", tta.name().toLowerCase(java.util.Locale.ROOT));
    out.put("test_loss", m.loss());
    out.put("examples", m.count());
    out.put("model", cfg.model().path());
    out.put("data", in.examples().source());
    return out;
  }

  /**
   * Writes one CSV line per example (row, label, prediction, probability of each class) to predict.output, a
   * directory of part files. It is written beside the target under a hidden name and renamed into place, so a
   * failed job leaves neither a partial result nor a damaged previous one.
   */
  public static Map<String, Object> predict(SparkSession spark, TrainConfig cfg, Progress progress) {
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Input in = Input.open(spark, cfg, progress);
    String output = cfg.predict().output();
    Path out = new Path(output);
    Path temp = new Path(out.getParent(), "." + out.getName() + ".tmp-" + Long.toHexString(System.nanoTime()));
    FileSystem fs;
    try {
      fs = out.getFileSystem(sc.hadoopConfiguration());
    } catch (IOException e) {
      throw new UserError(output + ": cannot open its file system (" + e.getMessage() + ")");
    }
    sc.setJobDescription("predict · " + in.examples().source());
    int k = in.numClasses();
    JavaRDD<TrainedModel.Prediction> predictions = in.ensemble() != null
        ? in.ensemble().predict(in.examples(), cfg.predict().tta(), cfg.predict().ttaPad())
        : in.model().predict(in.examples(), cfg.predict().tta(), cfg.predict().ttaPad());
    JavaRDD<String> csv = predictions
        .mapPartitionsWithIndex((p, it) -> {
          List<String> lines = new ArrayList<>();
          if (p == 0) {
            StringBuilder h = new StringBuilder("row,label,prediction");
            for (int j = 0; j < k; j++) h.append(",p").append(j);
            lines.add(h.toString());
          }
          while (it.hasNext()) {
            TrainedModel.Prediction r = it.next();
            StringBuilder s = new StringBuilder().append(r.row()).append(',').append(r.label()).append(',').append(r.predicted());
            for (float q : r.probabilities()) s.append(',').append(q);
            lines.add(s.toString());
          }
          return lines.iterator();
        }, true);
    try {
      csv.saveAsTextFile(temp.toString());
      // the previous output is replaced only once the new one is complete
      if (fs.exists(out)) fs.delete(out, true);
      if (!fs.rename(temp, out)) throw new IOException("rename from " + temp + " failed");
    } catch (IOException e) {
      throw new UserError(output + ": cannot write predictions (" + e.getMessage() + ")");
    } finally {
      try {
        if (fs.exists(temp)) fs.delete(temp, true);
      } catch (IOException ignored) {
        // best effort: a leftover hidden temporary directory is harmless
      }
    }
    long count = in.examples().blocks().map(b -> (long) b.n()).fold(0L, Long::sum);
    Map<String, Object> result = new LinkedHashMap<>();
    result.put("predictions", count);
    result.put("output", output);
    result.put("model", cfg.model().path());
    return result;
  }

  /**
   * A saved model, or an ensemble model (model.path names its manifest, which is validated with every member
   * before any data are read), and the data.test examples it is applied to.
   */
  private record Input(TrainedModel model, EnsembleModel ensemble, Examples examples) {
    static Input open(SparkSession spark, TrainConfig cfg, Progress progress) {
      var conf = spark.sparkContext().hadoopConfiguration();
      String path = cfg.model().path();
      TrainedModel model = null;
      EnsembleModel ensemble = null;
      int classes;
      if (EnsembleManifest.isManifest(path, conf)) {
        ensemble = EnsembleModel.load(path, conf);
        classes = ensemble.numClasses();
        progress.info("ensemble model " + path + ": " + ensemble.members().size() + " members");
      } else {
        model = TrainedModel.of(SavedModel.load(path, conf));
        classes = model.spec().numClasses();
      }
      DataLoader.Source src = Sources.resolve(cfg.data(), progress).test();
      if (src == null) throw new UserError("data.test: no data to apply the model to");
      List<Integer> keep = cfg.data().classes();  // a model of some of the source's classes (data.classes)
      if (!keep.isEmpty() && keep.size() != classes) {
        throw new UserError("data.classes = " + keep + " selects " + keep.size() + " classes, but " + path + " has "
            + classes);
      }
      Examples e = new DataLoader(spark, keep.isEmpty() ? classes : cfg.data().numClasses(), cfg.data().partitions(),
          cfg.data().pixelType().equals("uint8")).load(src);
      if (!keep.isEmpty()) e = new Examples(e.blocks().map(b -> b.withClasses(keep)), e.dim(), e.source());
      return new Input(model, ensemble, e);
    }

    int numClasses() {
      return ensemble != null ? ensemble.numClasses() : model.spec().numClasses();
    }
  }
}
