package dev.sparktrain.tensor;

import static dev.sparktrain.tensor.KernelTestData.assertGuardsIntact;
import static dev.sparktrain.tensor.KernelTestData.gaussian;
import static dev.sparktrain.tensor.KernelTestData.guarded;
import static dev.sparktrain.tensor.KernelTestData.slice;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.sparktrain.testing.Tolerance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Fractional max pooling agrees with the naive twin (exact decimal boundaries, a scan per output, backward by
 * comparison) over awkward shapes, both region kinds and random per-example offsets, at non-zero offsets, writing
 * nothing outside its output slices and nothing stale from a previous call; and its boundaries are the exact ones.
 */
class FractionalMaxPool2dParityTest {
  @ParameterizedTest(name = "n={0} c={1} {2}×{3} ratio={4} overlapping={5}")
  @CsvSource({
      "3, 3, 7, 9, 1.4142135623730951, false", "3, 3, 7, 9, 1.4142135623730951, true",
      "1, 1, 28, 19, 1.4142135623730951, false", "2, 2, 28, 19, 1.4142135623730951, true",
      "2, 2, 5, 11, 2.0, false", "2, 2, 5, 11, 2.0, true",
      "2, 1, 13, 6, 1.1, false", "2, 4, 13, 6, 1.1, true",
      "4, 2, 2, 3, 1.5, false", "4, 2, 2, 3, 1.5, true"})
  void matchesNaive(int n, int c, int h, int w, double ratio, boolean overlapping) {
    Rng rng = new Rng(h * 1000L + w * 10L + n + (overlapping ? 7 : 0));
    FractionalMaxPool2d fast = new FractionalMaxPool2d(c, h, w, ratio, overlapping);
    NaiveFractionalMaxPool2d naive = new NaiveFractionalMaxPool2d(c, h, w, ratio, overlapping);
    int in = n * fast.inSize(), out = n * fast.outSize(), xOff = 3, yOff = 5, dxOff = 2;
    double[] uRows = new double[n], uCols = new double[n];
    for (int e = 0; e < n; e++) {
      uRows[e] = rng.nextDouble();
      uCols[e] = e == 0 ? 0.5 : rng.nextDouble();
    }
    float[] x = gaussian(rng, xOff + in), dy = gaussian(rng, yOff + out);
    float[] yFast = guarded(yOff, out, 2), dxFast = guarded(dxOff, in, 2);
    float[] yNaive = new float[yOff + out], dxNaive = new float[dxOff + in];
    double[] otherU = {0.99, 0.01, 0.3, 0.7};
    fast.forward(gaussian(rng, xOff + in), xOff, yFast, yOff, n, otherU, otherU);  // a stale argmax that must be replaced
    fast.forward(x, xOff, yFast, yOff, n, uRows, uCols);
    fast.backward(dy, yOff, dxFast, dxOff, n);
    naive.forward(x, xOff, yNaive, yOff, n, uRows, uCols);
    naive.backward(x, xOff, dy, yOff, dxNaive, dxOff, n, uRows, uCols);

    Tolerance.assertClose(slice(yNaive, yOff, out), slice(yFast, yOff, out), 0, 0, "y");
    Tolerance.assertClose(slice(dxNaive, dxOff, in), slice(dxFast, dxOff, in), 1e-6, 1e-6, "dX");
    assertGuardsIntact(yFast, yOff, out, "y");
    assertGuardsIntact(dxFast, dxOff, in, "dX");
  }

  @Test
  void boundariesAreExactlyTheDefinition() {
    Rng rng = new Rng(41);
    for (int in = 2; in <= 64; in++) {
      for (double ratio : new double[] {1.05, Math.sqrt(2), 1.5, 1.9, 2}) {
        int out = FractionalMaxPool2d.outputLength(in, ratio);
        if (out < 1) continue;
        for (double u : uValues(rng)) {
          assertArrayEquals(NaiveFractionalMaxPool2d.boundaries(in, out, u), FractionalMaxPool2d.boundaries(in, out, u),
              "in " + in + " out " + out + " u " + u);
        }
      }
    }
  }

  /** Edges, the test-time 0.5, thirds and sevenths (which land boundaries exactly on integers), and random draws. */
  static double[] uValues(Rng rng) {
    double[] u = new double[16];
    double[] fixed = {0, 0.5, Math.nextDown(1.0), 0.25, 1.0 / 3, 2.0 / 3, 1.0 / 7, 0.1};
    System.arraycopy(fixed, 0, u, 0, fixed.length);
    for (int i = fixed.length; i < u.length; i++) u[i] = rng.nextDouble();
    return u;
  }
}
