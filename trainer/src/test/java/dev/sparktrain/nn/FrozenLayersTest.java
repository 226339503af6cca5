package dev.sparktrain.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.sparktrain.tensor.BlasGemm;
import dev.sparktrain.tensor.Rng;
import dev.sparktrain.train.GradientSum;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** A pass with the first layers frozen: only the trainable layers' gradient, as the full pass computes it. */
class FrozenLayersTest {
  private static float[] input(int n, int d) {
    Rng r = new Rng(3);
    float[] x = new float[n * d];
    for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
    return x;
  }

  @Test
  void theTrainableSliceIsTheFullGradientsSliceBitForBit() {
    Network net = new Network(ModelSpec.parse(12, "dense(10), relu, dense(8), relu, dense(3)", 3, Init.HE), BlasGemm.INSTANCE);
    float[] p = net.initParams(1), x = input(16, 12);
    int[] y = new int[16];
    for (int i = 0; i < y.length; i++) y[i] = i % 3;
    float[] full = new float[net.paramCount()];
    var a = net.lossAndGradient(p, x, y, 0, 16, full);
    for (int frozen = 1; frozen < 5; frozen++) {
      int base = net.trainableOffset(frozen);
      float[] part = new float[net.paramCount() - base];
      var b = net.lossAndGradient(p, x, y, 0, 16, part, StepContext.NONE, null, frozen);
      assertEquals(a.lossSum(), b.lossSum(), "the same forward");
      assertArrayEquals(Arrays.copyOfRange(full, base, full.length), part, frozen + " frozen layers");
    }
    assertEquals(net.offset(2), net.trainableOffset(2));
    assertThrows(IllegalArgumentException.class, () -> net.trainableOffset(5), "the last layer must train");
    assertThrows(IllegalArgumentException.class,
        () -> net.lossAndGradient(p, x, y, 0, 16, new float[3], StepContext.NONE, null, 2), "a buffer of the wrong length");
  }

  @Test
  void aFrozenBatchNormNormalizesWithItsRunningAveragesAndReportsNoStatistics() {
    Network net = new Network(ModelSpec.parse(6, "dense(5), batchnorm, relu, dense(2)", 2, Init.HE), BlasGemm.INSTANCE);
    float[] p = net.initParams(2);
    int bn = net.offset(1);
    for (int c = 0; c < 5; c++) {  // running mean and variance away from 0 and 1
      p[bn + 10 + c] = 0.3f * c;
      p[bn + 15 + c] = 1 + c;
    }
    float[] x = input(8, 6);
    int[] y = {0, 1, 0, 1, 1, 0, 0, 1};
    double[] stats = new double[net.statsCount()];
    float[] grad = new float[net.paramCount() - net.trainableOffset(3)];
    var frozen = net.lossAndGradient(p, x, y, 0, 8, grad, StepContext.NONE, stats, 3);
    float[] logits = net.logits(p, x, 8).clone();  // inference mode: the running averages
    float[] probs = new float[16];
    SoftmaxCrossEntropy.softmax(logits, 8, 2, probs);
    double loss = 0;
    for (int i = 0; i < 8; i++) loss -= Math.log(probs[i * 2 + y[i]]);
    assertEquals(loss, frozen.lossSum(), 1e-5, "the frozen prefix ran as at inference");
    assertArrayEquals(new double[net.statsCount()], stats, "no batch statistics from a frozen BatchNorm");
  }

  @Test
  void aTrainableSlicesMeanLandsAfterTheFrozenParameters() {
    GradientSum.Node node = new GradientSum.Node(new float[] {2, 4}, 0, 2, 0);
    assertArrayEquals(new float[] {0, 0, 0, 1, 2}, node.mean(5, 3));
    assertThrows(IllegalStateException.class, () -> node.mean(5, 2));
  }
}
