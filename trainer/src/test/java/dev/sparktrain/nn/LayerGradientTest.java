package dev.sparktrain.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.sparktrain.UserError;
import dev.sparktrain.tensor.BlasGemm;
import dev.sparktrain.tensor.NaiveGemm;
import dev.sparktrain.tensor.Rng;
import dev.sparktrain.testing.GradientCheck;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Numerical gradient checks for every layer, the loss, and a whole network; plus the layer-spec parser. */
class LayerGradientTest {
  @Test
  void denseWithBlas() {
    GradientCheck.checkLayer(new Dense(7, 5, Init.HE, BlasGemm.INSTANCE), 4, 1, 0f);
  }

  @Test
  void denseWithNaiveKernel() {
    GradientCheck.checkLayer(new Dense(3, 6, Init.XAVIER, NaiveGemm.INSTANCE), 5, 2, 0f);
  }

  @Test
  void relu() {
    GradientCheck.checkLayer(new Relu(9), 3, 3, 0.05f);
  }

  @Test
  void softmaxCrossEntropy() {
    Rng rng = new Rng(4);
    int n = 5, k = 4;
    float[] logits = new float[n * k];
    for (int i = 0; i < logits.length; i++) logits[i] = (float) (2 * rng.nextGaussian());
    int[] labels = {0, 3, 1, 1, 2};
    float[] grad = new float[n * k];
    double loss = SoftmaxCrossEntropy.lossAndGradient(logits, labels, 0, n, k, grad).lossSum();
    // the loss of one row by definition: −log(e^{z_y} / Σ e^{z_j})
    double z = 0;
    for (int j = 0; j < k; j++) z += Math.exp(logits[j]);
    double row0 = -Math.log(Math.exp(logits[0]) / z);
    double rest = SoftmaxCrossEntropy.lossAndGradient(logits, labels, 0, n, k, null).lossSum()
        - SoftmaxCrossEntropy.lossAndGradient(java.util.Arrays.copyOfRange(logits, k, n * k), labels, 1, n - 1, k, null).lossSum();
    assertEquals(row0, rest, 1e-6);
    for (int i = 0; i < logits.length; i++) {
      double num = GradientCheck.numerical(logits, i, 1e-3f,
          l -> SoftmaxCrossEntropy.lossAndGradient(l, labels, 0, n, k, null).lossSum());
      GradientCheck.assertAgrees(grad[i], num, 1e-3, 1e-4, "logit " + i);
    }
    assertEquals(loss, SoftmaxCrossEntropy.lossAndGradient(logits, labels, 0, n, k, null).lossSum(), 0);
  }

  @Test
  void wholeNetworkWithLoss() {
    ModelSpec spec = ModelSpec.parse(6, "dense(8), relu, dense(5), relu, dense(3)", 3, Init.HE);
    Network net = new Network(spec, BlasGemm.INSTANCE);
    float[] params = net.initParams(7);
    Rng rng = new Rng(8);
    int n = 6;
    float[] x = new float[n * 6];
    for (int i = 0; i < x.length; i++) x[i] = (float) rng.nextGaussian();
    int[] y = {0, 1, 2, 2, 1, 0};
    float[] grad = new float[net.paramCount()];
    net.lossAndGradient(params, x, y, 0, n, grad);
    Network probe = new Network(spec, BlasGemm.INSTANCE);
    for (int i = 0; i < params.length; i++) {
      double num = GradientCheck.numerical(params, i, 1e-3f, p -> {
        float[] logits = probe.logits(p, x, n);
        return SoftmaxCrossEntropy.lossAndGradient(logits, y, 0, n, 3, null).lossSum();
      });
      // ReLU kinks can sit inside the step for a few coordinates; the tolerance covers float rounding only
      GradientCheck.assertAgrees(grad[i], num, 1e-2, 5e-3, "param " + i);
    }
  }

  @Test
  void parsesAndPrintsLayerSpecs() {
    List<LayerSpec> layers = LayerSpec.parseList("Dense(512), relu ,dense( 10 )", "model.layers");
    assertEquals(List.of(new LayerSpec.Dense(512), new LayerSpec.Relu(), new LayerSpec.Dense(10)), layers);
    assertEquals("dense(512), relu, dense(10)", LayerSpec.format(layers));
    assertEquals("model.layers: layer 'conv(3)' takes 2 to 4 arguments",
        assertThrows(UserError.class, () -> LayerSpec.parseList("conv(3)", "model.layers")).getMessage());
    assertThrows(UserError.class, () -> LayerSpec.parseList("dense(-1)", "model.layers"));
    assertThrows(UserError.class, () -> ModelSpec.parse(784, "dense(512), relu, dense(9)", 10, Init.HE));
  }

  @Test
  void heInitializationHasTheStatedSpread() {
    Dense d = new Dense(400, 300, Init.HE, BlasGemm.INSTANCE);
    float[] p = new float[d.paramCount()];
    d.init(p, 0, new Rng(9));
    double sq = 0;
    for (int i = 0; i < 400 * 300; i++) sq += p[i] * p[i];
    assertEquals(Math.sqrt(2.0 / 400), Math.sqrt(sq / (400 * 300)), 0.002);
    for (int i = 400 * 300; i < p.length; i++) assertEquals(0f, p[i]);
  }
}
