package dev.sparktrain.spark;

import dev.sparktrain.train.GradientSum;
import dev.sparktrain.train.StepEngine;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;

/** train.engine = job: one Spark job per step (broadcast, treeAggregate, destroy the broadcast). */
final class JobEngine implements StepEngine {
  private final JavaSparkContext sc;
  private final JavaRDD<TrainingData.Part> train;
  private final int partitions;
  private final PartitionStep step;
  private final int treeDepth;
  private final String label;

  /** train: the training partitions, read through as many tasks as it has partitions (of all partitions). */
  JobEngine(JavaSparkContext sc, JavaRDD<TrainingData.Part> train, int partitions, PartitionStep step, int treeDepth,
            String label) {
    this.sc = sc;
    this.train = train;
    this.partitions = partitions;
    this.step = step;
    this.treeDepth = treeDepth;
    this.label = label;
  }

  @Override
  public int gradientOffset() {
    return step.gradientOffset();
  }

  @Override
  public GradientSum.Node gradient(float[] params, int epoch, int t) {
    sc.setJobDescription(String.format("%sepoch %d · iteration %d/%d", label, epoch + 1, t + 1,
        step.plan().iterationsPerEpoch()));
    PartitionStep s = step;
    return DistributedSum.run(train, partitions, params, treeDepth,
        (p, bcParams, block) -> s.compute(p, bcParams, block, epoch, t));
  }
}
