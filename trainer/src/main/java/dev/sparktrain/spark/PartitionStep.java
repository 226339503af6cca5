package dev.sparktrain.spark;

import dev.sparktrain.augment.AugmentPipeline;
import dev.sparktrain.data.DataBlock;
import dev.sparktrain.nn.ModelSpec;
import dev.sparktrain.train.GradientSum;
import dev.sparktrain.train.GradientTask;
import dev.sparktrain.train.MinibatchPlan;
import java.io.Serializable;

/**
 * What every engine runs for partition p in a step: its share of the global minibatch through
 * {@link GradientTask#compute}, with the test-only faults (a failed first attempt, a poisoned gradient). The same
 * function in every engine is what makes their models equal bit for bit.
 */
record PartitionStep(ModelSpec spec, int[] offsets, MinibatchPlan plan, AugmentPipeline augment,
                     double failureFraction, long nanAtStep) implements Serializable {

  GradientSum.Node compute(int p, float[] params, DataBlock block, int epoch, int t) {
    if (failureFraction > 0) InjectedFault.maybeFail(failureFraction, plan.seed(), epoch, t, p);
    GradientSum.Node node = GradientTask.compute(spec, params, block, offsets[p], plan, epoch, t, augment);
    if (nanAtStep == (long) epoch * plan.iterationsPerEpoch() + t && node.grad() != null) {
      node.grad()[0] = Float.NaN;  // faults.nan_at_step, for tests
    }
    return node;
  }

  /** Combines per-partition sums (index = partition) along GradientSum's fixed tree, as treeAggregate does. */
  static GradientSum.Node combine(GradientSum.Node[] nodes) {
    GradientSum sum = GradientSum.empty(nodes.length);
    for (int p = 0; p < nodes.length; p++) sum.merge(GradientSum.leaf(nodes.length, p, nodes[p]));
    return sum.total();
  }
}
