package dev.sparktrain.train;

/**
 * Where the training loop gets a step's gradient sum for its parameters: the loop's one collaborator that knows
 * how data and workers are laid out (train.engine). Every engine computes each partition's sum with the same
 * function and combines the sums along {@link GradientSum}'s fixed tree, so they train the same model bit for
 * bit; they differ only in how parameters and gradients travel. Tests can pass a fake one.
 */
public interface StepEngine extends AutoCloseable {
  /** Before the steps of an epoch, starting at iteration first. */
  default void beginEpoch(int epoch, int first) {}

  /**
   * Where the gradient sums this engine returns start in the parameter vector: 0, unless the first layers are
   * frozen (fine-tuning), whose parameters get no gradient and are not sent.
   */
  default int gradientOffset() { return 0; }

  /** Bytes of gradient this engine has received over the network so far, when it counts them (TCP); else −1. */
  default long gradientBytesReceived() { return -1; }

  /** How the partitions' gradients reach the driver: "flat" (each its own) or "tree" (summed among the tasks). */
  default String reduce() { return "flat"; }

  /** The sum over the global minibatch of iteration t of the epoch, for these parameters. */
  GradientSum.Node gradient(float[] params, int epoch, int t);

  /**
   * After an epoch's last step, when other jobs (validation, final evaluation) are about to run; the loop skips
   * it between epochs that need none, and the barrier engine's stage then carries on.
   */
  default void endEpoch() {}

  /** Releases what the engine holds, also after a failure in the middle of an epoch. */
  @Override
  default void close() {}
}
