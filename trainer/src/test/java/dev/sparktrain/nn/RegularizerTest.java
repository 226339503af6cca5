package dev.sparktrain.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktrain.tensor.BlasGemm;
import dev.sparktrain.tensor.FractionalMaxPool2d;
import dev.sparktrain.tensor.Rng;
import org.junit.jupiter.api.Test;

/** The train/test behaviour of the regularizing layers: DropConnect, BatchNorm's test mode, stochastic depth, FMP. */
class RegularizerTest {
  private static float[] gaussian(int n, long seed) {
    Rng rng = new Rng(seed);
    float[] x = new float[n];
    for (int i = 0; i < n; i++) x[i] = (float) rng.nextGaussian();
    return x;
  }

  @Test
  void dropConnectDropsTheStatedFractionAndKeepsTheExpectation() {
    int in = 20, units = 5, n = 3, steps = 4000;
    double p = 0.4;
    DropConnect layer = new DropConnect(in, units, p, 1, Init.HE, BlasGemm.INSTANCE);
    float[] params = new float[layer.paramCount()];
    layer.init(params, 0, new Rng(1));
    float[] x = gaussian(n * in, 2);
    double[] mean = new double[n * units];
    long zeros = 0;
    for (int s = 0; s < steps; s++) {
      layer.setContext(new StepContext(7, s, null));
      float[] y = layer.forward(params, 0, x, n, true);
      for (int i = 0; i < mean.length; i++) mean[i] += y[i] / steps;
      for (int i = 0; i < in * units; i++) if (layer.mask()[i] == 0f) zeros++;
    }
    assertEquals(p, (double) zeros / ((long) steps * in * units), 0.01, "fraction of dropped weights");
    float[] test = layer.forward(params, 0, x, n, false);
    double scale = 0;
    for (float v : test) scale = Math.max(scale, Math.abs(v));
    for (int i = 0; i < mean.length; i++) {
      assertEquals(test[i], mean[i], 0.03 * scale, "output " + i + ": training average vs the test-time expectation");
    }
  }

  @Test
  void batchNormTestModeUsesTheRunningAverages() {
    Shape shape = new Shape(2, 3, 3);
    BatchNormLayer bn = new BatchNormLayer(shape, 0.1);
    float[] p = {1.5f, 0.5f, -1f, 2f, 0.25f, -0.5f, 4f, 0.09f};  // γ, β, running mean, running variance
    int n = 2;
    float[] x = gaussian(n * shape.size(), 3);
    float[] y = bn.forward(p, 0, x, n, false);
    for (int e = 0; e < n; e++) {
      for (int c = 0; c < 2; c++) {
        for (int i = 0; i < 9; i++) {
          int at = (e * 2 + c) * 9 + i;
          double expect = p[c] * (x[at] - p[4 + c]) / Math.sqrt(p[6 + c] + BatchNormLayer.EPS) + p[2 + c];
          assertEquals(expect, y[at], 1e-5, "test-mode output " + at);
        }
      }
    }
    // training normalizes with the batch instead: per channel mean ≈ β, std ≈ γ, whatever the running averages
    float[] t = bn.forward(p, 0, x, n, true);
    for (int c = 0; c < 2; c++) {
      double s = 0, s2 = 0;
      for (int e = 0; e < n; e++) for (int i = 0; i < 9; i++) { double v = t[(e * 2 + c) * 9 + i]; s += v; s2 += v * v; }
      double mean = s / 18, std = Math.sqrt(s2 / 18 - mean * mean);
      assertEquals(p[2 + c], mean, 1e-4, "channel " + c + " mean");
      assertEquals(p[c], std, 1e-3, "channel " + c + " std");
    }
  }

  @Test
  void stochasticDepthSurvivalFollowsTheLinearRule() {
    ModelSpec spec = ModelSpec.parse(new Shape(1, 6, 6), "conv(4, 3), res(4), res(4), relu, res(4), res(4), gap, dense(3)",
        3, Init.HE, 0.5);
    // p_l = 1 − (l/L)(1 − p_L) with L = 4, p_L = 0.5
    assertEquals(1.0, spec.survival(0));
    assertEquals(0.875, spec.survival(1), 1e-12);
    assertEquals(0.75, spec.survival(2), 1e-12);
    assertEquals(1.0, spec.survival(3));
    assertEquals(0.625, spec.survival(4), 1e-12);
    assertEquals(0.5, spec.survival(5), 1e-12);
    Network net = new Network(spec, BlasGemm.INSTANCE);
    int steps = 20_000;
    int[] kept = new int[6];
    for (int s = 0; s < steps; s++) {
      for (int i = 0; i < 6; i++) {
        if (net.layers().get(i) instanceof ResidualBlock b) {
          b.setContext(new StepContext(9, s, null));
          if (b.survives()) kept[i]++;
        }
      }
    }
    for (int i : new int[] {1, 2, 4, 5}) {
      assertEquals(spec.survival(i), (double) kept[i] / steps, 0.01, "survival frequency of layer " + i);
    }
  }

  @Test
  void stochasticDepthKeepsTheExpectationBetweenTrainingAndTest() {
    double survival = 0.6;
    var build = new LayerSpec.Context(3, Init.HE, BlasGemm.INSTANCE, survival);
    Shape in = new Shape(2, 4, 4);
    ResidualBlock block = (ResidualBlock) new LayerSpec.Residual(2, 1).build(in, build);
    float[] params = new float[block.paramCount()];
    block.init(params, 0, new Rng(4));
    int n = 8;
    float[] x = gaussian(n * in.size(), 5);
    for (int i = 0; i < x.length; i++) x[i] += 8;  // keep the sum positive, so the outer ReLU is linear here
    // let the BN running averages converge to this batch's statistics, so that the branch computes the same
    // F(x) in both modes and only stochastic depth differs
    long kept = 0;
    while (true) {
      block.setContext(new StepContext(1, kept, null));
      if (block.survives()) break;
      kept++;
    }
    for (int i = 0; i < 300; i++) {
      block.forward(params, 0, x, n, true);
      double[] stats = new double[block.statsCount()];
      block.addStats(stats, 0);
      block.updateRunning(params, params, 0, stats, 0);
    }
    int steps = 4000;
    double[] mean = new double[n * in.size()];
    for (int s = 0; s < steps; s++) {
      block.setContext(new StepContext(1, s, null));
      float[] y = block.forward(params, 0, x, n, true);
      for (int i = 0; i < mean.length; i++) mean[i] += y[i] / steps;
    }
    float[] test = block.forward(params, 0, x, n, false);
    for (int i = 0; i < mean.length; i++) {
      assertTrue(test[i] > 0);
      assertEquals(test[i], mean[i], 0.01 * Math.abs(test[i]) + 0.03, "output " + i);
    }
  }

  @Test
  void fractionalPoolingDrawsPerExampleInTrainingAndFixedRegionsAtTest() {
    Shape in = new Shape(2, 10, 10);
    FractionalMaxPoolLayer layer = new FractionalMaxPoolLayer(in, Math.sqrt(2), false, 4);
    float[] x = gaussian(2 * in.size(), 6);
    System.arraycopy(x, 0, x, in.size(), in.size());  // two identical images
    layer.setContext(new StepContext(3, 0, new long[] {10, 11}));
    float[] train = layer.forward(null, 0, x, 2, true).clone();
    int out = layer.outSize();
    assertFalse(java.util.Arrays.equals(java.util.Arrays.copyOfRange(train, 0, out),
        java.util.Arrays.copyOfRange(train, out, 2 * out)), "different examples draw different regions");
    float[] test = layer.forward(null, 0, x, 2, false).clone();
    assertArrayEquals(java.util.Arrays.copyOfRange(test, 0, out), java.util.Arrays.copyOfRange(test, out, 2 * out));
    FractionalMaxPool2d kernel = new FractionalMaxPool2d(2, 10, 10, Math.sqrt(2), false);
    float[] fixed = new float[2 * out];
    kernel.forward(x, 0, fixed, 0, 2, new double[] {0.5, 0.5}, new double[] {0.5, 0.5});
    assertArrayEquals(fixed, test, "test mode pools the fixed regions of u = 0.5");
  }
}
