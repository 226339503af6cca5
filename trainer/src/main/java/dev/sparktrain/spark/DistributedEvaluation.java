package dev.sparktrain.spark;

import dev.sparktrain.data.DataBlock;
import dev.sparktrain.augment.TestTimeAugmentation;
import dev.sparktrain.nn.ModelSpec;
import dev.sparktrain.train.GradientSum;
import dev.sparktrain.train.GradientTask;
import dev.sparktrain.train.Metrics;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

/**
 * Loss, accuracy and the confusion matrix of a model over cached blocks, as one Spark job; partials are summed in
 * partition order, and each partition sends only its sums and its K×K counts, never its rows.
 */
final class DistributedEvaluation {
  private DistributedEvaluation() {}

  /** One partition's sums and confusion counts. */
  private record Partial(GradientSum.Node sums, long[][] confusion) implements java.io.Serializable {}

  static Metrics run(JavaRDD<DataBlock> blocks, ModelSpec spec, float[] params, String description) {
    return run(blocks, spec, params, TestTimeAugmentation.NONE, 0, description);
  }

  /** As above, averaging the class probabilities over the views of a test-time augmentation. */
  static Metrics run(JavaRDD<DataBlock> blocks, ModelSpec spec, float[] params, TestTimeAugmentation tta, int pad,
                     String description) {
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(blocks.context());
    sc.setJobDescription(description);
    Broadcast<float[]> bc = sc.broadcast(params);
    try {
      double loss = 0;
      long count = 0, correct = 0;
      int k = spec.numClasses();
      long[][] confusion = new long[k][k];
      for (Partial p : blocks.map(b -> {
        long[][] c = new long[k][k];
        return new Partial(GradientTask.evaluate(spec, bc.value(), b, tta, pad, c), c);
      }).collect()) {
        loss += p.sums().lossSum();
        count += p.sums().count();
        correct += p.sums().correct();
        Metrics.addCounts(confusion, p.confusion());
      }
      return Metrics.of(loss, correct, count, confusion);
    } finally {
      bc.destroy();
    }
  }
}
