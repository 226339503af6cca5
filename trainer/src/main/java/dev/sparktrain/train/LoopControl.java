package dev.sparktrain.train;

import dev.sparktrain.optim.Schedule;

/** What a callback may ask of the training loop: stop after this step or epoch, or change the learning rate. */
public interface LoopControl {
  /** Ends the run after the current step (or epoch) with this reason, which the result reports. */
  void stop(String reason);

  /**
   * Continues with the optimizer built for another learning-rate schedule: the loop replaces the transform and
   * keeps the optimizer's state (velocities, moments, step counts), as reduce-on-plateau needs.
   */
  void replaceSchedule(Schedule lr);

  /** The schedule the optimizer follows now. */
  Schedule schedule();
}
