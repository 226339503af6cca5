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
    var sc = org.apache.spark.api.java.JavaSparkContext.fromSparkContext(blocks.context());
    Broadcast<float[]> bc = sc.broadcast(params);
    try {
      int partitions = blocks.getNumPartitions();
      return blocks.mapPartitionsWithIndex((p, it) ->
              List.of(GradientSum.leaf(partitions, p, sum.compute(p, bc.value(), it.next()))).iterator(), true)
          .treeAggregate(GradientSum.empty(partitions), GradientSum::merge, GradientSum::merge, treeDepth).total();
    } finally {
      bc.destroy();
    }
  }
}
