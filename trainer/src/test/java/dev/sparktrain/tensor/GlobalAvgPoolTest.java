package dev.sparktrain.tensor;

import static dev.sparktrain.tensor.KernelTestData.assertGradient;
import static dev.sparktrain.tensor.KernelTestData.assertGuardsIntact;
import static dev.sparktrain.tensor.KernelTestData.dot;
import static dev.sparktrain.tensor.KernelTestData.gaussian;
import static dev.sparktrain.tensor.KernelTestData.guarded;
import static dev.sparktrain.tensor.KernelTestData.slice;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Global average pooling on a literal, against central differences, and as the same thing as an average pool
 * whose window is the whole (square) plane.
 */
class GlobalAvgPoolTest {
  @Test
  void planeMeansOnALiteral() {
    // n=2, c=2, 2×3 planes
    float[] x = {
        1, 2, 3, 4, 5, 6,
        0, 0, 0, 0, 0, 12,
        -1, -1, -1, -1, -1, -1,
        6, 6, 6, 0, 0, 0};
    GlobalAvgPool pool = new GlobalAvgPool(2, 2, 3);
    float[] y = guarded(1, 4, 1), dx = guarded(2, 24, 1);
    pool.forward(x, 0, y, 1, 2);
    assertArrayEquals(new float[] {3.5f, 2, -1, 3}, slice(y, 1, 4), 1e-6f);
    assertGuardsIntact(y, 1, 4, "y");
    pool.backward(new float[] {6, 12, -6, 0}, 0, dx, 2, 2);
    float[] expected = {1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0};
    assertArrayEquals(expected, slice(dx, 2, 24), 1e-6f);
    assertGuardsIntact(dx, 2, 24, "dX");
  }

  @ParameterizedTest(name = "n={0} c={1} h={2} w={3}")
  @CsvSource({"1,1,1,1", "1,3,5,7", "3,2,4,4", "2,5,3,1"})
  void gradientMatchesCentralDifferences(int n, int c, int h, int w) {
    Rng rng = new Rng(n * 1000L + c * 100L + h * 10L + w);
    GlobalAvgPool pool = new GlobalAvgPool(c, h, w);
    float[] x = gaussian(rng, n * pool.inSize()), r = gaussian(rng, n * pool.outSize());
    float[] y = new float[r.length], dx = new float[x.length];
    pool.backward(r, 0, dx, 0, n);
    assertGradient(dx, x, 1e-2f, xi -> { pool.forward(xi, 0, y, 0, n); return dot(y, 0, r); }, "dX");
  }

  @Test
  void equalsAnAveragePoolOverTheWholePlane() {
    int n = 3, c = 4, side = 5;
    Rng rng = new Rng(5);
    float[] x = gaussian(rng, n * c * side * side), dy = gaussian(rng, n * c);
    float[] yGlobal = new float[n * c], yAvg = new float[n * c];
    float[] dxGlobal = new float[x.length], dxAvg = new float[x.length];
    GlobalAvgPool global = new GlobalAvgPool(c, side, side);
    AvgPool2d avg = new AvgPool2d(new Pool2dShape(c, side, side, side, 1));
    global.forward(x, 0, yGlobal, 0, n);
    avg.forward(x, 0, yAvg, 0, n);
    global.backward(dy, 0, dxGlobal, 0, n);
    avg.backward(dy, 0, dxAvg, 0, n);
    assertArrayEquals(yAvg, yGlobal, 1e-6f);
    assertArrayEquals(dxAvg, dxGlobal, 1e-6f);
  }
}
