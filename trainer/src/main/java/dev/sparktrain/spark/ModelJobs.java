package dev.sparktrain.spark;

import dev.sparktrain.UserError;
import dev.sparktrain.config.TrainConfig;
import dev.sparktrain.data.DataBlock;
import dev.sparktrain.io.SavedModel;
import dev.sparktrain.nn.SoftmaxCrossEntropy;
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
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    SavedModel model = SavedModel.load(cfg.model().path(), sc.hadoopConfiguration());
    Sources sources = Sources.resolve(cfg.data(), progress);
    if (sources.test() == null) throw new UserError("data.test: no test data to evaluate on");
    JavaRDD<DataBlock> blocks = load(spark, cfg, model, sources.test());
    DistributedEvaluation.Metrics m = DistributedEvaluation.run(blocks, model.spec(), model.params(),
        "evaluate · " + sources.test().features());
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("test_accuracy", m.accuracy());
    out.put("test_loss", m.loss());
    out.put("examples", m.count());
    out.put("model", cfg.model().path());
    out.put("data", sources.test().features());
    return out;
  }

  /**
   * Writes one CSV line per example (row, label, prediction, probability of each class) to predict.output, a
   * directory written through Spark's commit protocol, so that a failed job leaves no partial result.
   */
  public static Map<String, Object> predict(SparkSession spark, TrainConfig cfg, Progress progress) {
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    SavedModel model = SavedModel.load(cfg.model().path(), sc.hadoopConfiguration());
    Sources sources = Sources.resolve(cfg.data(), progress);
    if (sources.test() == null) throw new UserError("data.test: no data to predict on");
    JavaRDD<DataBlock> blocks = load(spark, cfg, model, sources.test());
    String output = cfg.predict().output();
    try {
      Path out = new Path(output);
      FileSystem fs = out.getFileSystem(sc.hadoopConfiguration());
      if (fs.exists(out)) fs.delete(out, true);
    } catch (IOException e) {
      throw new UserError(output + ": cannot replace (" + e.getMessage() + ")");
    }
    var spec = model.spec();
    Broadcast<float[]> bc = sc.broadcast(model.params());
    sc.setJobDescription("predict · " + sources.test().features());
    int k = spec.numClasses();
    blocks.mapPartitionsWithIndex((p, it) -> {
      List<String> lines = new ArrayList<>();
      if (p == 0) {
        StringBuilder h = new StringBuilder("row,label,prediction");
        for (int j = 0; j < k; j++) h.append(",p").append(j);
        lines.add(h.toString());
      }
      while (it.hasNext()) {
        DataBlock b = it.next();
        float[] logits = GradientTask.network(spec).logits(bc.value(), b.x(), b.n());
        float[] probs = new float[b.n() * k];
        SoftmaxCrossEntropy.softmax(logits, b.n(), k, probs);
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
    }, true).saveAsTextFile(output);
    bc.destroy();
    long count = blocks.map(b -> (long) b.n()).fold(0L, Long::sum);
    Map<String, Object> result = new LinkedHashMap<>();
    result.put("predictions", count);
    result.put("output", output);
    result.put("model", cfg.model().path());
    return result;
  }

  private static JavaRDD<DataBlock> load(SparkSession spark, TrainConfig cfg, SavedModel model, DataLoader.Source src) {
    Examples e = new DataLoader(spark, model.spec().numClasses(), cfg.data().partitions()).load(src);
    SparkTrainer.requireDim(e, model.spec());
    var std = model.standardizer();
    return e.blocks().map(b -> b.standardized(std));
  }
}
