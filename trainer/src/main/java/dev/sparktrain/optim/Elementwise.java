package dev.sparktrain.optim;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;

/**
 * Runs an elementwise loop over [0, n) in a few contiguous chunks at once: the calling thread takes the first,
 * the common fork-join pool the others. The optimizer's update runs on the driver between steps, while every
 * task waits for the new parameters, so its loops may use the idle cores. Each index is computed by the same
 * expression whichever thread runs it, so the result does not depend on the split.
 */
public final class Elementwise {
  private Elementwise() {}

  /** The body of a loop over indices [from, to). */
  @FunctionalInterface
  public interface Range {
    void run(int from, int to);
  }

  /** Below this many elements a loop runs on the calling thread alone. */
  static final int MIN_PARALLEL = 1 << 16;

  public static void forEach(int n, Range body) {
    int parts = Math.min(4, ForkJoinPool.getCommonPoolParallelism() + 1);
    if (n < MIN_PARALLEL || parts < 2) {
      body.run(0, n);
      return;
    }
    ForkJoinTask<?>[] others = new ForkJoinTask<?>[parts - 1];
    for (int p = 1; p < parts; p++) {
      int from = (int) ((long) n * p / parts), to = (int) ((long) n * (p + 1) / parts);
      others[p - 1] = ForkJoinPool.commonPool().submit(() -> body.run(from, to));
    }
    body.run(0, (int) ((long) n / parts));
    for (ForkJoinTask<?> t : others) t.join();
  }
}
