package dev.sparktrain.testing;

import static org.junit.jupiter.api.Assertions.fail;

/** Tolerance assertions over float arrays, reporting the worst element. */
public final class Tolerance {
  private Tolerance() {}

  /** |a − b| ≤ rel·max(|a|, |b|) + abs for every element. */
  public static void assertClose(float[] expected, float[] actual, double rel, double abs, String what) {
    if (expected.length != actual.length) fail(what + ": lengths " + expected.length + " vs " + actual.length);
    double worst = 0;
    int at = -1;
    for (int i = 0; i < expected.length; i++) {
      double e = expected[i], a = actual[i];
      double excess = Math.abs(e - a) - (rel * Math.max(Math.abs(e), Math.abs(a)) + abs);
      if (!(excess <= 0) && (at < 0 || excess > worst || Double.isNaN(excess))) {
        worst = excess;
        at = i;
      }
    }
    if (at >= 0) {
      fail(String.format("%s: element %d: expected %s, got %s (rel %.1e, abs %.1e)", what, at, expected[at],
          actual[at], rel, abs));
    }
  }

  /** The largest relative difference max|a−b| / max|a|, a single-figure summary of a vector comparison. */
  public static double maxRelative(float[] expected, float[] actual) {
    double diff = 0, scale = 0;
    for (int i = 0; i < expected.length; i++) {
      diff = Math.max(diff, Math.abs((double) expected[i] - actual[i]));
      scale = Math.max(scale, Math.abs(expected[i]));
    }
    return diff / Math.max(scale, 1e-30);
  }
}
