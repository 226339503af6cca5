package dev.sparktrain.tensor;

import static dev.sparktrain.tensor.KernelTestData.assertGradient;
import static dev.sparktrain.tensor.KernelTestData.assertGuardsIntact;
import static dev.sparktrain.tensor.KernelTestData.distinct;
import static dev.sparktrain.tensor.KernelTestData.dot;
import static dev.sparktrain.tensor.KernelTestData.gaussian;
import static dev.sparktrain.tensor.KernelTestData.guarded;
import static dev.sparktrain.tensor.KernelTestData.slice;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.sparktrain.testing.Tolerance;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Max pooling against an independent reference (per output, find the maximum, then the first input equal to it),
 * against central differences on inputs with distinct values, and on hand-worked literals.
 */
class MaxPool2dTest {
  static Stream<Arguments> shapes() {
    Stream.Builder<Arguments> b = Stream.builder();
    for (int window : new int[] {1, 2, 3}) {
      for (int stride : new int[] {1, 2, 3}) {
        b.add(Arguments.of(1, new Pool2dShape(1, 7, 5, window, stride)));
        b.add(Arguments.of(3, new Pool2dShape(3, 5, 9, window, stride)));
      }
    }
    return b.build();
  }

  @ParameterizedTest(name = "n={0} {1}")
  @MethodSource("shapes")
  void matchesReference(int n, Pool2dShape shape) {
    Rng rng = new Rng(shape.hashCode() + n);
    int in = n * shape.inSize(), out = n * shape.outSize(), xOff = 3, yOff = 5, dxOff = 2;
    float[] x = gaussian(rng, xOff + in), dy = gaussian(rng, yOff + out);
    MaxPool2d pool = new MaxPool2d(shape);
    float[] y = guarded(yOff, out, 2), dx = guarded(dxOff, in, 2);
    pool.forward(gaussian(rng, xOff + in), xOff, y, yOff, n);  // a stale argmax that must be replaced
    pool.forward(x, xOff, y, yOff, n);
    pool.backward(dy, yOff, dx, dxOff, n);

    float[] yRef = new float[out], dxRef = new float[in];
    reference(shape, slice(x, xOff, in), slice(dy, yOff, out), yRef, dxRef, n);
    Tolerance.assertClose(yRef, slice(y, yOff, out), 0, 0, "y " + shape);
    Tolerance.assertClose(dxRef, slice(dx, dxOff, in), 1e-6, 1e-6, "dX " + shape);
    assertGuardsIntact(y, yOff, out, "y");
    assertGuardsIntact(dx, dxOff, in, "dX");
  }

  @ParameterizedTest(name = "n={0} {1}")
  @MethodSource("shapes")
  void gradientMatchesCentralDifferences(int n, Pool2dShape shape) {
    Rng rng = new Rng(shape.hashCode() * 7L + n);
    float[] x = distinct(rng, n * shape.inSize()), r = gaussian(rng, n * shape.outSize());
    float[] y = new float[r.length], dx = new float[x.length];
    MaxPool2d pool = new MaxPool2d(shape);
    pool.forward(x, 0, y, 0, n);
    pool.backward(r, 0, dx, 0, n);
    assertGradient(dx, x, 1e-2f, xi -> { pool.forward(xi, 0, y, 0, n); return dot(y, 0, r); }, "dX");
  }

  @Test
  void twoByTwoStrideTwoOnALiteral() {
    float[] x = {
        1, 3, 2, 0,
        4, 2, 8, 1,
        0, 5, 1, 1,
        7, 6, 2, 9};
    MaxPool2d pool = new MaxPool2d(new Pool2dShape(1, 4, 4, 2, 2));
    float[] y = new float[4], dx = new float[16];
    pool.forward(x, 0, y, 0, 1);
    assertArrayEquals(new float[] {4, 8, 7, 9}, y);
    pool.backward(new float[] {10, 20, 30, 40}, 0, dx, 0, 1);
    float[] expected = {
        0, 0, 0, 0,
        10, 0, 20, 0,
        0, 0, 0, 0,
        30, 0, 0, 40};
    assertArrayEquals(expected, dx);
  }

  @Test
  void overlappingWindowsSumAtASharedMaximum() {
    float[] x = {
        1, 2, 3,
        4, 9, 5,
        6, 7, 8};
    MaxPool2d pool = new MaxPool2d(new Pool2dShape(1, 3, 3, 2, 1));
    float[] y = new float[4], dx = new float[9];
    pool.forward(x, 0, y, 0, 1);
    assertArrayEquals(new float[] {9, 9, 9, 9}, y);
    pool.backward(new float[] {1, 2, 3, 4}, 0, dx, 0, 1);
    assertArrayEquals(new float[] {0, 0, 0, 0, 10, 0, 0, 0, 0}, dx);
  }

  @Test
  void tiesGoToTheFirstInRowMajorOrder() {
    MaxPool2d pool = new MaxPool2d(new Pool2dShape(1, 2, 2, 2, 2));
    float[] y = new float[1], dx = new float[4];
    pool.forward(new float[] {1, 5, 5, 5}, 0, y, 0, 1);
    pool.backward(new float[] {1}, 0, dx, 0, 1);
    assertArrayEquals(new float[] {0, 1, 0, 0}, dx);
  }

  /**
   * The 2×2 stride-2 fast path against its twin, the window scan, on values drawn from a small set so that most
   * windows tie, with ±0, ±∞ and NaN among them: the same output bits and the same winners (each input gets at
   * most one output's distinct gradient, so dX names the winner). Odd H and W leave a last row and column unused.
   */
  @ParameterizedTest(name = "h={0} w={1}")
  @org.junit.jupiter.params.provider.CsvSource({"28,28", "14,14", "5,7", "2,2", "7,6", "3,34"})
  void twoByTwoFastPathPicksTheSameWinnersAsTheScan(int h, int w) {
    float[] values = {0f, -0f, 1f, -1f, 2f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
        Float.intBitsToFloat(0x7FC00001), Float.MIN_VALUE, -Float.MIN_VALUE};
    Pool2dShape shape = new Pool2dShape(3, h, w, 2, 2);
    int n = 4, in = n * shape.inSize(), out = n * shape.outSize();
    Rng rng = new Rng(h * 31L + w);
    float[] x = new float[in], dy = new float[out];
    for (int i = 0; i < in; i++) x[i] = values[rng.nextInt(values.length)];
    for (int o = 0; o < out; o++) dy[o] = o + 1;
    MaxPool2d fast = new MaxPool2d(shape), scan = new MaxPool2d(shape);
    float[] yFast = new float[out], yScan = new float[out], dxFast = new float[in], dxScan = new float[in];
    fast.forward(x, 0, yFast, 0, n);
    scan.forwardScan(x, 0, yScan, 0, n);
    fast.backward(dy, 0, dxFast, 0, n);
    scan.backward(dy, 0, dxScan, 0, n);
    for (int o = 0; o < out; o++) {
      org.junit.jupiter.api.Assertions.assertEquals(Float.floatToRawIntBits(yScan[o]),
          Float.floatToRawIntBits(yFast[o]), "y bits at " + o);
    }
    assertArrayEquals(dxScan, dxFast, "winners");
  }

  /**
   * The vector pass over the pairs against its scalar twin, bit for bit, on the same tie-heavy values. On this
   * project's JVMs (module flag set, 256-bit registers) the vector pass must exist, so the test cannot pass by
   * comparing the twin with itself.
   */
  @Test
  void theVectorPairPassMatchesItsScalarTwin() {
    org.junit.jupiter.api.Assumptions.assumeTrue(jdk.incubator.vector.IntVector.SPECIES_PREFERRED.length() >= 8,
        "no 256-bit vectors on this machine");
    org.junit.jupiter.api.Assertions.assertNotNull(VectorKernels.PAIR_MAX, "the Vector API pass did not load");
    float[] values = {0f, -0f, 1f, -1f, 3f, Float.NaN, Float.NEGATIVE_INFINITY, Float.intBitsToFloat(0xFFC00000)};
    Rng rng = new Rng(17);
    for (int pairs : new int[] {1, 7, 8, 9, 16, 23, 1000}) {
      int xOff = 3;
      float[] x = new float[xOff + 2 * pairs];
      for (int i = 0; i < x.length; i++) x[i] = values[rng.nextInt(values.length)];
      int[] kv = new int[2 * pairs], iv = new int[2 * pairs], ks = new int[2 * pairs], is = new int[2 * pairs];
      VectorKernels.PAIR_MAX.pairs(x, xOff, pairs, kv, iv);
      MaxPool2d.pairsScalar(x, xOff, 0, pairs, ks, is);
      for (int i = 0; i < pairs; i++) {
        org.junit.jupiter.api.Assertions.assertEquals(ks[2 * i], kv[2 * i], "key of pair " + i + " of " + pairs);
        org.junit.jupiter.api.Assertions.assertEquals(is[2 * i], iv[2 * i], "index of pair " + i + " of " + pairs);
      }
    }
  }

  /** Per output: the maximum of its window, then its gradient to the first window input equal to that maximum. */
  private static void reference(Pool2dShape s, float[] x, float[] dy, float[] y, float[] dx, int n) {
    for (int e = 0; e < n; e++) {
      for (int c = 0; c < s.c(); c++) {
        for (int p = 0; p < s.p(); p++) {
          for (int q = 0; q < s.q(); q++) {
            float max = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < s.window(); i++) {
              for (int j = 0; j < s.window(); j++) max = Math.max(max, x[at(s, e, c, p * s.stride() + i, q * s.stride() + j)]);
            }
            int o = ((e * s.c() + c) * s.p() + p) * s.q() + q;
            y[o] = max;
            found:
            for (int i = 0; i < s.window(); i++) {
              for (int j = 0; j < s.window(); j++) {
                int xi = at(s, e, c, p * s.stride() + i, q * s.stride() + j);
                if (x[xi] == max) {
                  dx[xi] += dy[o];
                  break found;
                }
              }
            }
          }
        }
      }
    }
  }

  private static int at(Pool2dShape s, int e, int c, int h, int w) {
    return ((e * s.c() + c) * s.h() + h) * s.w() + w;
  }
}
