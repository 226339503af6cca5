package dev.sparktrain.optim;

import dev.sparktrain.UserError;

/** A learning rate as a pure function of the optimizer step (0-based). */
@FunctionalInterface
public interface Schedule {
  double at(long step);

  /** The same value at every step. */
  static Schedule constant(double value) {
    if (!(value > 0) || Double.isInfinite(value)) {
      throw new UserError("optimizer.learning_rate must be a positive number, got " + value);
    }
    return step -> value;
  }
}
