package dev.sparktrain.spark;

import dev.sparktrain.augment.AugmentPipeline;
import dev.sparktrain.data.DataBlock;
import dev.sparktrain.nn.ModelSpec;
import dev.sparktrain.train.GradientSum;
import dev.sparktrain.train.GradientTask;
import dev.sparktrain.train.MinibatchPlan;
import dev.sparktrain.train.PartitionHook;
import java.io.Serializable;

/**
 * What every engine runs for partition p in a step: its share of the global minibatch through
 * {@link GradientTask#compute}, then the run's {@link PartitionHook} (tests' faults). The same function in every
 * engine is what makes their models equal bit for bit.
 */
record PartitionStep(ModelSpec spec, int[] offsets, MinibatchPlan plan, AugmentPipeline augment, PartitionHook hook,
                     int frozen) implements Serializable {

  PartitionStep(ModelSpec spec, int[] offsets, MinibatchPlan plan, AugmentPipeline augment, PartitionHook hook) {
    this(spec, offsets, plan, augment, hook, 0);
  }

  /** Where the gradient a partition sends starts in the parameter vector (after the frozen layers). */
  int gradientOffset() {
    return GradientTask.network(spec).trainableOffset(frozen);
  }

  /** How many values a partition's gradient holds: the trainable parameters only. */
  int gradientLength() {
    return Math.toIntExact(spec.paramCount()) - gradientOffset();
  }

  /** The bytes of one partition's GRAD frame per step in the barrier transport (docs/step-protocol.md). */
  long gradientFrameBytes() {
    return dev.sparktrain.transport.Frames.gradFrame(gradientLength(), GradientTask.network(spec).statsCount());
  }

  GradientSum.Node compute(int p, float[] params, DataBlock block, int epoch, int t) {
    GradientSum.Node node = GradientTask.compute(spec, params, block, offsets[p], plan, epoch, t, augment, frozen);
    hook.afterStep(p, epoch, t, (long) epoch * plan.iterationsPerEpoch() + t, node);
    return node;
  }

  /** Combines per-partition sums (index = partition) along GradientSum's fixed tree, as treeAggregate does. */
  static GradientSum.Node combine(GradientSum.Node[] nodes) {
    GradientSum sum = GradientSum.empty(nodes.length);
    for (int p = 0; p < nodes.length; p++) sum.merge(GradientSum.leaf(nodes.length, p, nodes[p]));
    return sum.total();
  }
}
