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

/** Loss and accuracy of a model over cached blocks, as one Spark job; partials are summed in partition order. */
final class DistributedEvaluation {
  private DistributedEvaluation() {}

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
      for (GradientSum.Node n : blocks.map(b -> GradientTask.evaluate(spec, bc.value(), b, tta, pad)).collect()) {
        loss += n.lossSum();
        count += n.count();
        correct += n.correct();
      }
      return Metrics.of(loss, correct, count);
    } finally {
      bc.destroy();
    }
  }
}
