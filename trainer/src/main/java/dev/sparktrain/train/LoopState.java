package dev.sparktrain.train;

import java.util.Map;

/**
 * The state of a run between two steps, everything an exact resume needs: the next step to take is iteration
 * {@code iteration} of epoch {@code epoch} (0-based), global step {@code step}; the epoch's loss sum and example
 * count so far; the parameters (with BatchNorm running averages); the optimizer state (null before the first
 * step of a fresh run); and the callbacks' own state by name, numbers (reduce-on-plateau's, early stopping's) and
 * vectors (EMA weights), which they restore at train start.
 */
public record LoopState(long step, int epoch, int iteration, double epochLossSum, long epochCount, float[] params,
                        Object optimizerState, Map<String, Map<String, Double>> callbackState,
                        Map<String, Map<String, float[]>> callbackVectors) {
  public LoopState {
    callbackState = Map.copyOf(callbackState);
    callbackVectors = Map.copyOf(callbackVectors);
  }

  /** A state whose callbacks keep no vectors. */
  public LoopState(long step, int epoch, int iteration, double epochLossSum, long epochCount, float[] params,
                   Object optimizerState, Map<String, Map<String, Double>> callbackState) {
    this(step, epoch, iteration, epochLossSum, epochCount, params, optimizerState, callbackState, Map.of());
  }

  /** A fresh run from these parameters. */
  public static LoopState start(float[] params) {
    return new LoopState(0, 0, 0, 0, 0, params, null, Map.of(), Map.of());
  }

  /** Whether this continues a run (from a checkpoint) rather than starting one. */
  public boolean resumed() {
    return optimizerState != null;
  }
}
