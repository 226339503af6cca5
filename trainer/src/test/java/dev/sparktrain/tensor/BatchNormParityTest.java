package dev.sparktrain.tensor;

import static dev.sparktrain.tensor.KernelTestData.assertGuardsIntact;
import static dev.sparktrain.tensor.KernelTestData.gaussian;
import static dev.sparktrain.tensor.KernelTestData.guarded;
import static dev.sparktrain.tensor.KernelTestData.slice;

import dev.sparktrain.testing.Tolerance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The batch-norm kernel agrees with the naive double-precision one (which differentiates through the paper's
 * intermediate gradients), in training, inference and backward, over awkward sizes, dense and spatial, at
 * non-zero offsets, writing nothing outside its output slices and nothing stale from a previous batch.
 */
class BatchNormParityTest {
  private static final double REL = 1e-5, ABS = 1e-5;

  @ParameterizedTest(name = "c={0} hw={1} n={2}")
  @CsvSource({"3, 5, 7", "4, 1, 7", "1, 1, 1", "1, 1, 2", "2, 49, 3", "5, 1, 64", "3, 9, 1"})
  void matchesNaive(int c, int hw, int n) {
    Rng rng = new Rng(c * 1000L + hw * 10L + n);
    int size = n * c * hw, xOff = 3, pOff = 2, yOff = 5, gOff = 1, dxOff = 4;
    float[] x = gaussian(rng, xOff + size), stale = gaussian(rng, xOff + size + 3 * c * hw);
    for (int i = 0; i < x.length; i++) x[i] = 3 * x[i] + 2 + (i % c);  // means and scales far from 0 and 1
    float[] gamma = gaussian(rng, pOff + c), beta = gaussian(rng, pOff + c), dy = gaussian(rng, yOff + size);
    BatchNorm fast = new BatchNorm(c, hw, 1e-5f);
    NaiveBatchNorm naive = new NaiveBatchNorm(c, hw, 1e-5f);

    float[] yFast = guarded(yOff, size, 3), yNaive = new float[yOff + size];
    fast.forwardTrain(stale, xOff, n + 3, gamma, pOff, beta, pOff, new float[yOff + size + 3 * c * hw], yOff);
    fast.forwardTrain(x, xOff, n, gamma, pOff, beta, pOff, yFast, yOff);
    naive.forwardTrain(x, xOff, n, gamma, pOff, beta, pOff, yNaive, yOff);
    Tolerance.assertClose(slice(yNaive, yOff, size), slice(yFast, yOff, size), REL, ABS, "y train");
    assertGuardsIntact(yFast, yOff, size, "y train");

    float[] gFast = guarded(gOff, 2 * c, 3), gNaive = new float[gOff + 2 * c];
    float[] dxFast = guarded(dxOff, size, 3), dxNaive = new float[dxOff + size];
    fast.backward(dy, yOff, n, gamma, pOff, gFast, gOff, gFast, gOff + c, dxFast, dxOff);
    naive.backward(dy, yOff, n, gamma, pOff, gNaive, gOff, gNaive, gOff + c, dxNaive, dxOff);
    Tolerance.assertClose(slice(gNaive, gOff, c), slice(gFast, gOff, c), REL, ABS, "dγ");
    Tolerance.assertClose(slice(gNaive, gOff + c, c), slice(gFast, gOff + c, c), REL, ABS, "dβ");
    Tolerance.assertClose(slice(dxNaive, dxOff, size), slice(dxFast, dxOff, size), REL, ABS, "dX");
    assertGuardsIntact(gFast, gOff, 2 * c, "dγ, dβ");
    assertGuardsIntact(dxFast, dxOff, size, "dX");

    float[] running = new float[pOff + 2 * c];
    for (int i = 0; i < c; i++) {
      running[pOff + i] = (float) rng.nextGaussian();
      running[pOff + c + i] = (float) (0.5 + rng.nextDouble());
    }
    float[] yiFast = guarded(yOff, size, 3), yiNaive = new float[yOff + size];
    fast.forwardInference(x, xOff, n, gamma, pOff, beta, pOff, running, pOff, running, pOff + c, yiFast, yOff);
    naive.forwardInference(x, xOff, n, gamma, pOff, beta, pOff, running, pOff, running, pOff + c, yiNaive, yOff);
    Tolerance.assertClose(slice(yiNaive, yOff, size), slice(yiFast, yOff, size), REL, ABS, "y inference");
    assertGuardsIntact(yiFast, yOff, size, "y inference");
  }
}
