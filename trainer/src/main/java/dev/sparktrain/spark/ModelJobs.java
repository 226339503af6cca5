package dev.sparktrain.spark;

import dev.sparktrain.UserError;
import dev.sparktrain.config.TrainConfig;
import dev.sparktrain.data.DataBlock;
import dev.sparktrain.io.SavedModel;
import dev.sparktrain.train.GradientTask;
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
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;

/** The {@code evaluate} and {@code predict} commands: a saved model applied to a data source on the executors. */
public final class ModelJobs {
  private ModelJobs() {}

  /** Accuracy and loss of the model at model.path on the test source. */
  public static Map<String, Object> evaluate(SparkSession spark, TrainConfig cfg, Progress progress) {
    Input in = Input.open(spark, cfg, progress);
    var tta = cfg.predict().tta();
    DistributedEvaluation.Metrics m = DistributedEvaluation.run(in.blocks(), in.model().spec(), in.model().params(),
        tta, cfg.predict().ttaPad(), "evaluate · " + in.source().features());
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("test_accuracy", m.accuracy());
    out.put("tta", tta.name().toLowerCase(java.util.Locale.ROOT));
    out.put("test_loss", m.loss());
    out.put("examples", m.count());
    out.put("model", cfg.model().path());
    out.put("data", in.source().features());
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
    SavedModel model = in.model();
    JavaRDD<DataBlock> blocks = in.blocks();
    String output = cfg.predict().output();
    Path out = new Path(output);
    Path temp = new Path(out.getParent(), "." + out.getName() + ".tmp-" + Long.toHexString(System.nanoTime()));
    FileSystem fs;
    try {
      fs = out.getFileSystem(sc.hadoopConfiguration());
    } catch (IOException e) {
      throw new UserError(output + ": cannot open its file system (" + e.getMessage() + ")");
    }
    var spec = model.spec();
    Broadcast<float[]> bc = sc.broadcast(model.params());
    sc.setJobDescription("predict · " + in.source().features());
    int k = spec.numClasses();
    var tta = cfg.predict().tta();
    int pad = cfg.predict().ttaPad();
    JavaRDD<String> csv = blocks.mapPartitionsWithIndex((p, it) -> {
      List<String> lines = new ArrayList<>();
      if (p == 0) {
        StringBuilder h = new StringBuilder("row,label,prediction");
        for (int j = 0; j < k; j++) h.append(",p").append(j);
        lines.add(h.toString());
      }
      while (it.hasNext()) {
        DataBlock b = it.next();
        float[] probs = GradientTask.probabilities(spec, bc.value(), b, tta, pad);
        for (int i = 0; i < b.n(); i++) {
          StringBuilder s = new StringBuilder().append(b.rows()[i]).append(',').append(b.y()[i]).append(',');
          int best = 0;
          for (int j = 1; j < k; j++) if (probs[i * k + j] > probs[i * k + best]) best = j;
          s.append(best);
          for (int j = 0; j < k; j++) s.append(',').append(probs[i * k + j]);
          lines.add(s.toString());
        }
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
      bc.destroy();
      try {
        if (fs.exists(temp)) fs.delete(temp, true);
      } catch (IOException ignored) {
        // best effort: a leftover hidden temporary directory is harmless
      }
    }
    long count = blocks.map(b -> (long) b.n()).fold(0L, Long::sum);
    Map<String, Object> result = new LinkedHashMap<>();
    result.put("predictions", count);
    result.put("output", output);
    result.put("model", cfg.model().path());
    return result;
  }

  /** A saved model and the data.test source it is applied to, standardized with the model's statistics. */
  private record Input(SavedModel model, DataLoader.Source source, JavaRDD<DataBlock> blocks) {
    static Input open(SparkSession spark, TrainConfig cfg, Progress progress) {
      SavedModel model = SavedModel.load(cfg.model().path(), spark.sparkContext().hadoopConfiguration());
      DataLoader.Source src = Sources.resolve(cfg.data(), progress).test();
      if (src == null) throw new UserError("data.test: no data to apply the model to");
      Examples e = new DataLoader(spark, model.spec().numClasses(), cfg.data().partitions()).load(src);
      SparkTrainer.requireDim(e, model.spec());
      var std = model.standardizer();
      return new Input(model, src, e.blocks().map(b -> b.standardized(std)));
    }
  }
}
