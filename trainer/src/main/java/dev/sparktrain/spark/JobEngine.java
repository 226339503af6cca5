package dev.sparktrain.spark;

import dev.sparktrain.train.GradientSum;
import org.apache.spark.api.java.JavaSparkContext;

/** train.engine = job: one Spark job per step (broadcast, treeAggregate, destroy the broadcast). */
final class JobEngine implements StepEngine {
  private final JavaSparkContext sc;
  private final PreparedData data;
  private final PartitionStep step;
  private final int treeDepth;
  private final String label;

  JobEngine(JavaSparkContext sc, PreparedData data, PartitionStep step, int treeDepth, String label) {
    this.sc = sc;
    this.data = data;
    this.step = step;
    this.treeDepth = treeDepth;
    this.label = label;
  }

  @Override
  public GradientSum.Node gradient(float[] params, int epoch, int t) {
    sc.setJobDescription(String.format("%sepoch %d · iteration %d/%d", label, epoch + 1, t + 1,
        step.plan().iterationsPerEpoch()));
    PartitionStep s = step;
    return DistributedSum.run(data.train(), params, treeDepth, (p, bcParams, block) -> s.compute(p, bcParams, block, epoch, t));
  }
}
