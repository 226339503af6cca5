package dev.sparktrain.tensor;

import dev.sparktrain.testing.GradientCheck;
import java.util.function.ToDoubleFunction;

/** Inputs and checks shared by the kernel tests of this package: seeded arrays, guard regions and gradient sweeps. */
final class KernelTestData {
  /** The value written around a kernel's output slice; a kernel that touches it wrote outside its range. */
  static final float GUARD = -777f;

  private KernelTestData() {}

  /** n standard normal floats. */
  static float[] gaussian(Rng rng, int n) {
    float[] x = new float[n];
    for (int i = 0; i < n; i++) x[i] = (float) rng.nextGaussian();
    return x;
  }

  /** n floats at least 0.1 apart (a shuffled ramp), so a difference step of 1e-2 never changes a maximum. */
  static float[] distinct(Rng rng, int n) {
    int[] perm = rng.permutation(n);
    float[] x = new float[n];
    for (int i = 0; i < n; i++) x[i] = 0.1f * (perm[i] - n / 2);
    return x;
  }

  /** A buffer of off + n + tail floats, all GUARD. */
  static float[] guarded(int off, int n, int tail) {
    float[] b = new float[off + n + tail];
    java.util.Arrays.fill(b, GUARD);
    return b;
  }

  /** The n floats of a at off. */
  static float[] slice(float[] a, int off, int n) {
    return java.util.Arrays.copyOfRange(a, off, off + n);
  }

  /** Asserts that a is GUARD outside [off, off+n). */
  static void assertGuardsIntact(float[] a, int off, int n, String what) {
    for (int i = 0; i < a.length; i++) {
      if ((i < off || i >= off + n) && a[i] != GUARD) throw new AssertionError(what + ": wrote outside its range at " + i);
    }
  }

  /** Σ y[yOff + i]·r[i] in double: the scalar whose gradient with respect to y is r. */
  static double dot(float[] y, int yOff, float[] r) {
    double s = 0;
    for (int i = 0; i < r.length; i++) s += (double) y[yOff + i] * r[i];
    return s;
  }

  /** Asserts analytic[i] ≈ ∂loss/∂v[i] by central differences with step h, for every coordinate of v. */
  static void assertGradient(float[] analytic, float[] v, float h, ToDoubleFunction<float[]> loss, String what) {
    for (int i = 0; i < v.length; i++) {
      GradientCheck.assertAgrees(analytic[i], GradientCheck.numerical(v, i, h, loss), 1e-3, 1e-3, what + " " + i);
    }
  }
}
