package dev.sparktrain.optim;

import dev.sparktrain.UserError;

/**
 * A learning rate as a pure function of the optimizer step (0-based): the value used by the update that step
 * applies. Schedules hold no state, so a resumed run only needs the step count. The named schedules and the ways
 * to combine them are in {@link Schedules}; the config form is {@link ScheduleSpec}.
 */
@FunctionalInterface
public interface Schedule {
  /** The learning rate at step (≥ 0). */
  double at(long step);

  /**
   * Whether step begins a new cycle of a warm-restart schedule ({@link Schedules#cosineWarmRestarts}); never
   * step 0. A snapshot ensemble takes its snapshot after the update of step s when {@code isRestart(s + 1)},
   * which is the last step of a cycle. Joins and warmups shift the answer with their pieces.
   */
  default boolean isRestart(long step) {
    return false;
  }

  /** The same value at every step. */
  static Schedule constant(double value) {
    if (!(value > 0) || Double.isInfinite(value)) {
      throw new UserError("optimizer.learning_rate must be a positive number, got " + value);
    }
    return step -> value;
  }
}
