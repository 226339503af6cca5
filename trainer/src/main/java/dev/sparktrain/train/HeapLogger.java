package dev.sparktrain.train;

import java.lang.management.ManagementFactory;
import java.util.Locale;

/**
 * Logs the driver JVM's heap in use after a full GC every N steps (train.heap_log_every, scripts/heap-check);
 * with local[N] that includes the executors' heap, so a leak per step shows as a rising line.
 */
public final class HeapLogger implements Callback {
  private final Progress progress;
  private final int every;

  public HeapLogger(Progress progress, int every) {
    if (every < 1) throw new IllegalArgumentException("every must be at least 1: " + every);
    this.progress = progress;
    this.every = every;
  }

  @Override
  public void onStepEnd(StepEnd e, LoopControl loop) {
    long steps = e.step() + 1;
    if (steps % every != 0) return;
    System.gc();
    var heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
    progress.info(String.format(Locale.ROOT, "heap after GC at step %d: %.1f MiB used of %.0f MiB",
        steps, heap.getUsed() / 1048576.0, heap.getCommitted() / 1048576.0));
  }
}
