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

  /**
   * The vector reductions, four planes at a time, against the scalar loops they replace (BatchNorm's two, and
   * Conv2d's bias gradient): the same float pair sums,
   * bit for bit, for every plane length from 1 to 40 and the cnn's 196 and 784 (tails of 0 to 3), on values of
   * mixed magnitude whose rounding depends on the order of the adds. The vector path must exist on this
   * project's JVMs, so the test cannot compare the scalar loops with themselves.
   */
  @org.junit.jupiter.api.Test
  void theVectorPlaneSumsHaveTheScalarLoopsBits() {
    org.junit.jupiter.api.Assertions.assertNotNull(VectorKernels.PLANE_SUMS, "the Vector API reductions did not load");
    Rng rng = new Rng(99);
    int[] lengths = new int[42];
    for (int i = 0; i < 40; i++) lengths[i] = i + 1;
    lengths[40] = 196;
    lengths[41] = 784;
    for (int hw : lengths) {
      int off = 3;
      float[] x = gaussian(rng, off + 4 * hw + 5), b = gaussian(rng, 4 * hw + 1);
      for (int i = 0; i < x.length; i++) x[i] = x[i] * (1 + (i % 7) * 300) + 0.1f * i;
      float[] k = {x[off], -2.5f, 1e3f, 0f};
      float[] out = new float[16], ref = new float[16];
      VectorKernels.PLANE_SUMS.shifted(x, off, off + hw, off + 2 * hw, off + 3 * hw, k[0], k[1], k[2], k[3], hw, out);
      for (int i = 0; i < 4; i++) BatchNorm.shiftedPairSums(x, off + i * hw, k[i], hw, ref, 4 * i);
      org.junit.jupiter.api.Assertions.assertArrayEquals(ref, out, "shifted sums, hw " + hw);
      VectorKernels.PLANE_SUMS.sumAndDot(x, off, off + hw, off + 2 * hw, off + 3 * hw, b, 1, 1 + hw, 1 + 2 * hw,
          1 + 3 * hw, hw, out);
      for (int i = 0; i < 4; i++) BatchNorm.sumAndDotPairSums(x, off + i * hw, b, 1 + i * hw, hw, ref, 4 * i);
      org.junit.jupiter.api.Assertions.assertArrayEquals(ref, out, "sum and dot, hw " + hw);
      float[] sums = new float[8], sumsRef = new float[8];
      VectorKernels.PLANE_SUMS.sums(x, off + 3 * hw, off + hw, off, off + 2 * hw, hw, sums);
      int[] order = {3, 1, 0, 2};
      for (int i = 0; i < 4; i++) Conv2d.planePairSums(x, off + order[i] * hw, hw, sumsRef, 2 * i);
      org.junit.jupiter.api.Assertions.assertArrayEquals(sumsRef, sums, "sums (Conv2d's bias gradient), hw " + hw);
    }
  }

  @ParameterizedTest(name = "c={0} hw={1} n={2}")
  @CsvSource({"3, 5, 7", "4, 1, 7", "1, 1, 1", "1, 1, 2", "2, 49, 3", "5, 1, 64", "3, 9, 1", "3, 196, 3", "2, 23, 3"})
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
