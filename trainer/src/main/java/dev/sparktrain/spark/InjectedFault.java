package dev.sparktrain.spark;

import dev.sparktrain.tensor.Rng;
import org.apache.spark.TaskContext;

/**
 * Fault injection for tests (faults.task_failure_fraction): a seeded choice of gradient tasks fails on its first
 * attempt, so that Spark retries it. A task's result is a pure function of its inputs, so the retry changes
 * nothing: the trained model must equal the fault-free one bit for bit.
 */
final class InjectedFault extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private static final long PURPOSE = 0xFA17;

  private InjectedFault(String message) {
    super(message);
  }

  /** Throws on the first attempt of the tasks that (seed, epoch, iteration, partition) selects. */
  static void maybeFail(double fraction, long seed, int epoch, int iteration, int partition) {
    TaskContext task = TaskContext.get();
    // a relaunched barrier stage starts its tasks at attempt 0 again: its stage attempt tells
    if (task == null || task.attemptNumber() > 0 || task.stageAttemptNumber() > 0) return;
    if (Rng.derive(seed, PURPOSE, epoch, iteration, partition).nextDouble() < fraction) {
      throw new InjectedFault("injected failure of the first attempt: epoch " + (epoch + 1) + " iteration "
          + (iteration + 1) + " partition " + partition);
    }
  }
}
