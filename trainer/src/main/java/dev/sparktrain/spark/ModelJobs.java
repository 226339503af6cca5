package dev.sparktrain.spark;

import dev.sparktrain.UserError;
import dev.sparktrain.config.TrainConfig;
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
    Metrics m = in.model().evaluate(in.examples(), tta, cfg.predict().ttaPad(), "evaluate · " + in.examples().source());
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("test_accuracy", m.accuracy());
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
    TrainedModel model = in.model();
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
    int k = model.spec().numClasses();
    JavaRDD<String> csv = model.predict(in.examples(), cfg.predict().tta(), cfg.predict().ttaPad())
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

  /** A saved model and the data.test examples it is applied to. */
  private record Input(TrainedModel model, Examples examples) {
    static Input open(SparkSession spark, TrainConfig cfg, Progress progress) {
      SavedModel model = SavedModel.load(cfg.model().path(), spark.sparkContext().hadoopConfiguration());
      DataLoader.Source src = Sources.resolve(cfg.data(), progress).test();
      if (src == null) throw new UserError("data.test: no data to apply the model to");
      Examples e = new DataLoader(spark, model.spec().numClasses(), cfg.data().partitions()).load(src);
      return new Input(TrainedModel.of(model), e);
    }
  }
}
