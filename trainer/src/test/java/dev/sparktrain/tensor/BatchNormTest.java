package dev.sparktrain.tensor;

import static dev.sparktrain.tensor.KernelTestData.assertGradient;
import static dev.sparktrain.tensor.KernelTestData.dot;
import static dev.sparktrain.tensor.KernelTestData.gaussian;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.sparktrain.testing.Tolerance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Batch norm's gradients against central differences, the defining property of its training output (per-channel
 * mean β and standard deviation γ), inference with the batch's own statistics reproducing training, and the
 * moments handed out for running averages.
 */
class BatchNormTest {
  @ParameterizedTest(name = "c={0} hw={1} n={2}")
  @CsvSource({"3, 5, 7", "4, 1, 7", "2, 3, 2"})
  void gradientsMatchCentralDifferences(int c, int hw, int n) {
    Rng rng = new Rng(c * 100L + hw * 10L + n);
    int size = n * c * hw;
    float[] x = gaussian(rng, size), gamma = gaussian(rng, c), beta = gaussian(rng, c), r = gaussian(rng, size);
    BatchNorm bn = new BatchNorm(c, hw, 1e-5f);
    float[] y = new float[size], dgamma = new float[c], dbeta = new float[c], dx = new float[size];
    bn.forwardTrain(x, 0, n, gamma, 0, beta, 0, y, 0);
    bn.backward(r, 0, n, gamma, 0, dgamma, 0, dbeta, 0, dx, 0);

    assertGradient(dx, x, 1e-2f, xi -> { bn.forwardTrain(xi, 0, n, gamma, 0, beta, 0, y, 0); return dot(y, 0, r); }, "dX");
    assertGradient(dgamma, gamma, 1e-2f, g -> { bn.forwardTrain(x, 0, n, g, 0, beta, 0, y, 0); return dot(y, 0, r); }, "dγ");
    assertGradient(dbeta, beta, 1e-2f, b -> { bn.forwardTrain(x, 0, n, gamma, 0, b, 0, y, 0); return dot(y, 0, r); }, "dβ");
  }

  @ParameterizedTest(name = "hw={0}")
  @CsvSource({"49", "1"})
  void trainingOutputHasMeanBetaAndStdGamma(int hw) {
    int c = 3, n = hw == 1 ? 3136 : 64;
    Rng rng = new Rng(5);
    float[] x = gaussian(rng, n * c * hw);
    for (int i = 0; i < x.length; i++) x[i] = 5 * x[i] + 2;
    float[] gamma = {0.5f, 2f, 1.3f}, beta = {-1f, 0f, 3f}, y = new float[x.length];
    new BatchNorm(c, hw, 1e-5f).forwardTrain(x, 0, n, gamma, 0, beta, 0, y, 0);
    for (int ch = 0; ch < c; ch++) {
      double sum = 0, sumSq = 0, m = (double) n * hw;
      for (int e = 0; e < n; e++) for (int s = 0; s < hw; s++) sum += y[(e * c + ch) * hw + s];
      double mean = sum / m;
      for (int e = 0; e < n; e++) for (int s = 0; s < hw; s++) sumSq += Math.pow(y[(e * c + ch) * hw + s] - mean, 2);
      assertEquals(beta[ch], mean, 1e-4, "mean of channel " + ch);
      assertEquals(gamma[ch], Math.sqrt(sumSq / m), 1e-3, "std of channel " + ch);
    }
  }

  @ParameterizedTest(name = "c={0} hw={1} n={2}")
  @CsvSource({"3, 5, 7", "4, 1, 9"})
  void inferenceWithTheBatchStatisticsReproducesTraining(int c, int hw, int n) {
    Rng rng = new Rng(17);
    int size = n * c * hw;
    float[] x = gaussian(rng, size), gamma = gaussian(rng, c), beta = gaussian(rng, c);
    for (int i = 0; i < size; i++) x[i] = 2 * x[i] - 1;
    BatchNorm bn = new BatchNorm(c, hw, 1e-3f);
    float[] yTrain = new float[size], yInfer = new float[size];
    bn.forwardTrain(x, 0, n, gamma, 0, beta, 0, yTrain, 0);
    double[] meanVar = new double[2 * c];
    bn.batchMeanVar(meanVar, 0);
    float[] running = new float[2 * c];
    for (int i = 0; i < 2 * c; i++) running[i] = (float) meanVar[i];
    bn.forwardInference(x, 0, n, gamma, 0, beta, 0, running, 0, running, c, yInfer, 0);
    Tolerance.assertClose(yTrain, yInfer, 1e-5, 1e-5, "inference vs training");
  }

  @Test
  void batchMomentsAreTheSumsAndSumsOfSquaresPerChannel() {
    int c = 3, hw = 5, n = 7, xOff = 4;
    Rng rng = new Rng(23);
    float[] x = gaussian(rng, xOff + n * c * hw), gamma = {1, 1, 1}, beta = {0, 0, 0};
    BatchNorm bn = new BatchNorm(c, hw, 1e-5f);
    assertEquals(0, bn.batchCount());
    bn.forwardTrain(x, xOff, n, gamma, 0, beta, 0, new float[n * c * hw], 0);
    double[] moments = new double[1 + 2 * c], meanVar = new double[2 * c];
    bn.batchMoments(moments, 1);
    bn.batchMeanVar(meanVar, 0);
    assertEquals(n * hw, bn.batchCount());
    for (int ch = 0; ch < c; ch++) {
      double sum = 0, sumSq = 0;
      for (int e = 0; e < n; e++) {
        for (int s = 0; s < hw; s++) {
          double v = x[xOff + (e * c + ch) * hw + s];
          sum += v;
          sumSq += v * v;
        }
      }
      double m = n * hw, mean = sum / m;
      // the kernel sums float differences from a per-channel shift in double: float precision per term
      double scale = Math.sqrt(sumSq);
      assertEquals(sum, moments[1 + ch], 1e-6 * scale, "Σx " + ch);
      assertEquals(sumSq, moments[1 + c + ch], 1e-6 * sumSq, "Σx² " + ch);
      assertEquals(mean, meanVar[ch], 1e-6 * scale / m, "μ " + ch);
      assertEquals(sumSq / m - mean * mean, meanVar[c + ch], 1e-6 * sumSq / m, "σ² " + ch);
    }
  }

  @Test
  void withoutInputGradientTheParameterGradientsAreTheSame() {
    int c = 2, hw = 3, n = 4;
    Rng rng = new Rng(29);
    float[] x = gaussian(rng, n * c * hw), gamma = gaussian(rng, c), beta = gaussian(rng, c);
    float[] dy = gaussian(rng, x.length), y = new float[x.length];
    BatchNorm bn = new BatchNorm(c, hw, 1e-5f);
    bn.forwardTrain(x, 0, n, gamma, 0, beta, 0, y, 0);
    float[] with = new float[2 * c], without = new float[2 * c];
    bn.backward(dy, 0, n, gamma, 0, with, 0, with, c, new float[x.length], 0);
    bn.backward(dy, 0, n, gamma, 0, without, 0, without, c, null, 0);
    Tolerance.assertClose(with, without, 0, 0, "dγ, dβ without dX");
  }

  @Test
  void rejectsBadArgumentsAndBackwardWithoutAMatchingForward() {
    assertThrows(IllegalArgumentException.class, () -> new BatchNorm(0, 1, 1e-5f));
    assertThrows(IllegalArgumentException.class, () -> new BatchNorm(1, 0, 1e-5f));
    assertThrows(IllegalArgumentException.class, () -> new BatchNorm(1, 1, 0f));
    assertThrows(IllegalArgumentException.class, () -> new BatchNorm(1, 1, Float.NaN));
    BatchNorm bn = new BatchNorm(1, 1, 1e-5f);
    float[] one = {1}, four = new float[4];
    assertThrows(IllegalStateException.class, () -> bn.backward(one, 0, 1, one, 0, four, 0, four, 1, four, 2));
    bn.forwardTrain(four, 0, 2, one, 0, one, 0, new float[2], 0);
    assertThrows(IllegalArgumentException.class, () -> bn.backward(four, 0, 3, one, 0, four, 0, four, 1, four, 2));
  }
}
