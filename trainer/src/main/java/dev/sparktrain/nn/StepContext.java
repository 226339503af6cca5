package dev.sparktrain.nn;

/**
 * What random layers need to know about a training step: the run's seed, the global optimizer step, and the
 * identity of each example in the batch (its global training index). A layer draws its noise for example e from
 * the stream (seed, purpose, step, e, layer), so the noise does not depend on how the data are partitioned, and a
 * retried task draws the same noise.
 */
public record StepContext(long seed, long step, long[] exampleIds) {
  /** For calls that have no randomness to draw (a network without dropout, gradient checks of other layers). */
  public static final StepContext NONE = new StepContext(0, -1, null);

  public long exampleId(int row) {
    if (exampleIds == null) throw new IllegalStateException("a random layer needs a StepContext with example ids");
    return exampleIds[row];
  }
}
