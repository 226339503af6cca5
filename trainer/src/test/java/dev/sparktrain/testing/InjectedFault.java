package dev.sparktrain.testing;

import dev.sparktrain.tensor.Rng;
import dev.sparktrain.train.PartitionHook;
import org.apache.spark.TaskContext;

/**
 * Fault injection for tests, as partition hooks passed to a run from code: a seeded choice of gradient tasks that
 * fail on their first attempt (so that Spark retries them; a task's result is a pure function of its inputs, so
 * the trained model must equal the fault-free one bit for bit), and a gradient poisoned with a NaN at one step.
 */
public final class InjectedFault extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private static final long PURPOSE = 0xFA17;

  private InjectedFault(String message) {
    super(message);
  }

  /** Fails the first attempt of the tasks that (seed, epoch, iteration, partition) selects, with this probability. */
  public static PartitionHook failingTasks(double fraction, long seed) {
    return (p, epoch, iteration, step, node) -> {
      TaskContext task = TaskContext.get();
      // a relaunched barrier stage starts its tasks at attempt 0 again: its stage attempt tells
      if (task == null || task.attemptNumber() > 0 || task.stageAttemptNumber() > 0) return;
      if (Rng.derive(seed, PURPOSE, epoch, iteration, p).nextDouble() < fraction) {
        throw new InjectedFault("injected failure of the first attempt: epoch " + (epoch + 1) + " iteration "
            + (iteration + 1) + " partition " + p);
      }
    };
  }

  /** Poisons the gradient of global step {@code at} (0-based) with a NaN in every partition. */
  public static PartitionHook nanAtStep(long at) {
    return (p, epoch, iteration, step, node) -> {
      if (step == at && node.grad() != null) node.grad()[0] = Float.NaN;
    };
  }
}
