package dev.sparktrain.spark;

import dev.sparktrain.data.DataBlock;
import dev.sparktrain.train.GradientSum;
import dev.sparktrain.train.StepEngine;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;

/** train.engine = job: one Spark job per step (broadcast, treeAggregate, destroy the broadcast). */
final class JobEngine implements StepEngine {
  private final JavaSparkContext sc;
  private final JavaRDD<DataBlock> train;
  private final PartitionStep step;
  private final int treeDepth;
  private final String label;

  JobEngine(JavaSparkContext sc, JavaRDD<DataBlock> train, PartitionStep step, int treeDepth, String label) {
    this.sc = sc;
    this.train = train;
    this.step = step;
    this.treeDepth = treeDepth;
    this.label = label;
  }

  @Override
  public GradientSum.Node gradient(float[] params, int epoch, int t) {
    sc.setJobDescription(String.format("%sepoch %d · iteration %d/%d", label, epoch + 1, t + 1,
        step.plan().iterationsPerEpoch()));
    PartitionStep s = step;
    return DistributedSum.run(train, params, treeDepth, (p, bcParams, block) -> s.compute(p, bcParams, block, epoch, t));
  }
}
