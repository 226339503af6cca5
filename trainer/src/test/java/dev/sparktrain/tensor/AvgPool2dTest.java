package dev.sparktrain.tensor;

import static dev.sparktrain.tensor.KernelTestData.assertGradient;
import static dev.sparktrain.tensor.KernelTestData.assertGuardsIntact;
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
 * Average pooling against an independent reference (backward as a gather: each input sums dy/window² over the
 * windows that contain it), against central differences, and on a hand-worked literal.
 */
class AvgPool2dTest {
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
    AvgPool2d pool = new AvgPool2d(shape);
    float[] y = guarded(yOff, out, 2), dx = guarded(dxOff, in, 2);
    pool.forward(x, xOff, y, yOff, n);
    pool.backward(dy, yOff, dx, dxOff, n);

    float[] yRef = new float[out], dxRef = new float[in];
    reference(shape, slice(x, xOff, in), slice(dy, yOff, out), yRef, dxRef, n);
    Tolerance.assertClose(yRef, slice(y, yOff, out), 1e-5, 1e-6, "y " + shape);
    Tolerance.assertClose(dxRef, slice(dx, dxOff, in), 1e-5, 1e-6, "dX " + shape);
    assertGuardsIntact(y, yOff, out, "y");
    assertGuardsIntact(dx, dxOff, in, "dX");
  }

  @ParameterizedTest(name = "n={0} {1}")
  @MethodSource("shapes")
  void gradientMatchesCentralDifferences(int n, Pool2dShape shape) {
    Rng rng = new Rng(shape.hashCode() * 7L + n);
    float[] x = gaussian(rng, n * shape.inSize()), r = gaussian(rng, n * shape.outSize());
    float[] y = new float[r.length], dx = new float[x.length];
    AvgPool2d pool = new AvgPool2d(shape);
    pool.backward(r, 0, dx, 0, n);
    assertGradient(dx, x, 1e-2f, xi -> { pool.forward(xi, 0, y, 0, n); return dot(y, 0, r); }, "dX");
  }

  @Test
  void twoByTwoStrideOneOnALiteral() {
    float[] x = {
        1, 2, 3,
        4, 5, 6,
        7, 8, 9};
    AvgPool2d pool = new AvgPool2d(new Pool2dShape(1, 3, 3, 2, 1));
    float[] y = new float[4], dx = new float[9];
    pool.forward(x, 0, y, 0, 1);
    assertArrayEquals(new float[] {3, 4, 6, 7}, y, 1e-6f);
    pool.backward(new float[] {4, 8, 12, 16}, 0, dx, 0, 1);
    // each window gives a quarter of its gradient to each of its four inputs; the centre is in all four windows
    assertArrayEquals(new float[] {1, 3, 2, 4, 10, 6, 3, 7, 4}, dx, 1e-6f);
  }

  /** Forward as a window mean; backward gathered per input over the outputs whose window holds it. */
  private static void reference(Pool2dShape s, float[] x, float[] dy, float[] y, float[] dx, int n) {
    int win = s.window(), st = s.stride();
    for (int e = 0; e < n; e++) {
      for (int c = 0; c < s.c(); c++) {
        int xPlane = (e * s.c() + c) * s.h() * s.w(), yPlane = (e * s.c() + c) * s.p() * s.q();
        for (int p = 0; p < s.p(); p++) {
          for (int q = 0; q < s.q(); q++) {
            double sum = 0;
            for (int i = 0; i < win; i++) {
              for (int j = 0; j < win; j++) sum += x[xPlane + (p * st + i) * s.w() + q * st + j];
            }
            y[yPlane + p * s.q() + q] = (float) (sum / (win * win));
          }
        }
        for (int h = 0; h < s.h(); h++) {
          for (int w = 0; w < s.w(); w++) {
            double g = 0;
            for (int p = 0; p < s.p(); p++) {
              for (int q = 0; q < s.q(); q++) {
                boolean inside = h >= p * st && h < p * st + win && w >= q * st && w < q * st + win;
                if (inside) g += dy[yPlane + p * s.q() + q];
              }
            }
            dx[xPlane + h * s.w() + w] = (float) (g / (win * win));
          }
        }
      }
    }
  }
}
