package dev.sparktrain.train;

import dev.sparktrain.UserError;
import dev.sparktrain.optim.Elementwise;
import java.nio.FloatBuffer;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Stops a run whose loss or gradient stops being finite, naming the step and the learning rate, before any later
 * callback (a checkpoint) can keep the poisoned parameters.
 */
public final class FiniteCheck implements Callback {
  private static final String NOT_FINITE = "the loss or gradient is not finite";
  private final double learningRate;

  /** learningRate: optimizer.learning_rate, named in the message. */
  public FiniteCheck(double learningRate) {
    this.learningRate = learningRate;
  }

  @Override
  public void onStepEnd(StepEnd e, LoopControl loop) {
    if (Double.isFinite(e.loss()) && allFinite(e.gradient())) return;
    throw new UserError(String.format("epoch %d iteration %d: %s; the learning rate is probably too high "
        + "(optimizer.learning_rate = %s)", e.epoch() + 1, e.iteration() + 1, NOT_FINITE, learningRate));
  }

  /**
   * Whether t is the failure this check raises, for a caller that expects it (the learning-rate range test ends
   * its range there); UserError is final, so the message tells.
   */
  public static boolean raised(Throwable t) {
    return t instanceof UserError && t.getMessage() != null && t.getMessage().contains(": " + NOT_FINITE + ";");
  }

  /** Whether no value is ±∞ or NaN: the largest exponent field, found without branches, is not all ones. */
  public static boolean allFinite(FloatBuffer a) {
    AtomicInteger worst = new AtomicInteger();
    Elementwise.forEach(a.limit(), (from, to) -> {
      int max = 0;
      for (int i = from; i < to; i++) max = Math.max(max, Float.floatToRawIntBits(a.get(i)) & 0x7F800000);
      worst.accumulateAndGet(max, Math::max);
    });
    return worst.get() != 0x7F800000;
  }
}
