package dev.sparktrain.spark;

import dev.sparktrain.data.DataBlock;
import dev.sparktrain.train.GradientSum;
import java.io.Serializable;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.broadcast.Broadcast;

/**
 * The one distributed pattern of training: broadcast the parameters, let each partition compute a sum over its
 * cached block, combine the sums with treeAggregate from an empty zero value along GradientSum's fixed tree, and
 * destroy the broadcast. Minibatch steps and L-BFGS evaluations differ only in the per-partition function.
 */
final class DistributedSum {
  private DistributedSum() {}

  /** What one partition computes from the broadcast parameters and its block. */
  @FunctionalInterface
  interface PartitionSum extends Serializable {
    GradientSum.Node compute(int partition, float[] params, DataBlock block);
  }

  static GradientSum.Node run(JavaRDD<DataBlock> blocks, float[] params, int treeDepth, PartitionSum sum) {
    int partitions = blocks.getNumPartitions();
    return run(blocks.mapPartitionsWithIndex((p, it) -> List.of(new TrainingData.Part(p, it.next())).iterator(), true),
        partitions, params, treeDepth, sum);
  }

  /**
   * The same over partitions that tasks may read several at a time ({@link TrainingData#trainParts}): a task
   * sums its partitions' nodes along the same tree, so the result does not depend on how they are grouped.
   */
  static GradientSum.Node run(JavaRDD<TrainingData.Part> parts, int partitions, float[] params, int treeDepth,
                              PartitionSum sum) {
    var sc = org.apache.spark.api.java.JavaSparkContext.fromSparkContext(parts.context());
    Broadcast<float[]> bc = sc.broadcast(params);
    try {
      return parts.mapPartitions(it -> {
            GradientSum s = GradientSum.empty(partitions);
            while (it.hasNext()) {
              TrainingData.Part part = it.next();
              GradientSum.Node node = sum.compute(part.partition(), bc.value(), part.block());
              // a node may live in the thread's step buffers, which the task's next partition overwrites
              s.merge(GradientSum.leaf(partitions, part.partition(), it.hasNext() ? node.copy() : node));
            }
            return List.of(s).iterator();
          })
          .treeAggregate(GradientSum.empty(partitions), GradientSum::merge, GradientSum::merge, treeDepth).total();
    } finally {
      bc.destroy();
    }
  }
}
