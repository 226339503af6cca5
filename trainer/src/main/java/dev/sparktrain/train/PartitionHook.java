package dev.sparktrain.train;

import java.io.Serializable;

/**
 * Code that runs beside each partition's step, where that partition is computed (on an executor): for tests that
 * inject faults (a failed task attempt, a poisoned gradient) without a setting in any config. It may throw, or
 * change the node's gradient in place.
 */
@FunctionalInterface
public interface PartitionHook extends Serializable {
  PartitionHook NONE = (partition, epoch, iteration, step, node) -> {};

  /** After partition p computed its share of iteration {@code iteration} of epoch (global step {@code step}). */
  void afterStep(int partition, int epoch, int iteration, long step, GradientSum.Node node);
}
