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
  private final double learningRate;

  /** learningRate: optimizer.learning_rate, named in the message. */
  public FiniteCheck(double learningRate) {
    this.learningRate = learningRate;
  }

  @Override
  public void onStepEnd(StepEnd e, LoopControl loop) {
    if (Double.isFinite(e.loss()) && allFinite(e.gradient())) return;
    throw new UserError(String.format("epoch %d iteration %d: the loss or gradient is not finite; the learning "
        + "rate is probably too high (optimizer.learning_rate = %s)", e.epoch() + 1, e.iteration() + 1, learningRate));
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
