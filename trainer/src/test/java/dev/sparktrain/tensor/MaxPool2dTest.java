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
