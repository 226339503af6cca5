package dev.sparktrain.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktrain.UserError;
import dev.sparktrain.tensor.BlasGemm;
import dev.sparktrain.tensor.Conv2dShape;
import dev.sparktrain.tensor.NaiveGemm;
import dev.sparktrain.tensor.Pool2dShape;
import dev.sparktrain.tensor.Rng;
import dev.sparktrain.testing.GradientCheck;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Numerical gradient checks of every image layer in training mode, with the random masks fixed by a fixed step
 * context, and of a whole network that uses all of them; plus shapes and parameter counts from the specs.
 */
class ConvLayersGradientTest {
  private static final StepContext CONTEXT = new StepContext(11, 3, new long[] {5, 9, 2, 7, 1});
  private static final LayerSpec.Context BUILD = new LayerSpec.Context(2, Init.HE, BlasGemm.INSTANCE, 1.0);

  private static void check(Layer layer, int n, long seed, float margin) {
    layer.setContext(CONTEXT);
    GradientCheck.checkLayer(layer, n, seed, margin);
  }

  /** For max-based layers: inputs 0.05 apart, so no window changes its winner within the difference step. */
  private static void checkDistinct(Layer layer, int n, long seed) {
    layer.setContext(CONTEXT);
    GradientCheck.checkLayer(layer, n, seed, 0f, true);
  }

  @Test
  void convWithStrideAndPadding() {
    check(new Conv2dLayer(new Conv2dShape(2, 5, 6, 3, 3, 3, 2, 1), Init.HE, BlasGemm.INSTANCE), 3, 1, 0f);
    check(new Conv2dLayer(new Conv2dShape(3, 4, 4, 2, 1, 1, 1, 0), Init.HE, NaiveGemm.INSTANCE), 2, 2, 0f);
    check(new Conv2dLayer(new Conv2dShape(2, 6, 6, 4, 1, 1, 2, 0), Init.HE, BlasGemm.INSTANCE), 3, 2, 0f);
    check(new Conv2dLayer(new Conv2dShape(2, 6, 6, 4, 3, 3, 2, 1), Init.HE, BlasGemm.INSTANCE), 3, 2, 0f);
    check(new BatchNormLayer(new Shape(4, 3, 3), 0.1), 3, 8, 0f);
  }

  @Test
  void pooling() {
    checkDistinct(new PoolLayer(new Pool2dShape(2, 6, 5, 2, 2), true), 3, 3);
    check(new PoolLayer(new Pool2dShape(2, 6, 5, 3, 1), false), 3, 4, 0f);
    check(new GlobalAvgPoolLayer(new Shape(3, 4, 5)), 2, 5, 0f);
    check(new dev.sparktrain.nn.Flatten(12), 2, 6, 0f);
  }

  @Test
  void batchNormDenseAndSpatial() {
    check(new BatchNormLayer(Shape.flat(6), 0.1), 5, 7, 0f);
    check(new BatchNormLayer(new Shape(3, 4, 4), 0.1), 4, 8, 0f);
  }

  @Test
  void dropConnectWithItsMaskFixed() {
    check(new DropConnect(7, 4, 0.4, 1, Init.HE, BlasGemm.INSTANCE), 5, 9, 0f);
  }

  @Test
  void fractionalMaxPoolWithItsRegionsFixed() {
    checkDistinct(new FractionalMaxPoolLayer(new Shape(2, 9, 7), Math.sqrt(2), false, 1), 5, 10);
    checkDistinct(new FractionalMaxPoolLayer(new Shape(2, 9, 7), Math.sqrt(2), true, 1), 5, 11);
  }

  @Test
  void residualBlocksIdentityAndProjection() {
    // BN centres its output on β, so a ReLU right after it always has units at its kink; shifting the first BN's
    // β to 3 keeps the inner ReLU on its linear side (ReLU masking has its own check), the outer one is natural
    checkResidual(3, 1, new Shape(3, 5, 5), 12);
    checkResidual(4, 2, new Shape(2, 6, 6), 13);
  }

  private static void checkResidual(int k, int stride, Shape in, long seed) {
    Layer block = new LayerSpec.Residual(k, stride).build(in, BUILD);
    block.setContext(CONTEXT);
    int beta1 = k * in.c() * 9 + k + k;  // after conv1's weights and bias, and bn1's γ
    GradientCheck.checkLayer(block, 3, seed, 0f, false, true, p -> java.util.Arrays.fill(p, beta1, beta1 + k, 3f));
  }

  @Test
  void residualBlockDroppedByStochasticDepthPassesOnlyTheShortcut() {
    // survival 0.05: at this step the branch is dropped, and its parameters get a zero gradient
    var build = new LayerSpec.Context(2, Init.HE, BlasGemm.INSTANCE, 0.05);
    ResidualBlock block = (ResidualBlock) new LayerSpec.Residual(3, 1).build(new Shape(3, 4, 4), build);
    block.setContext(CONTEXT);
    assertTrue(!block.survives(), "this seed and step should drop the block");
    check(block, 2, 14, 0.05f);
    float[] params = new float[block.paramCount()];
    block.init(params, 0, new Rng(1));
    float[] x = new float[2 * 48];
    for (int i = 0; i < x.length; i++) x[i] = i % 7 - 3;
    float[] y = block.forward(params, 0, x, 2, true);
    for (int i = 0; i < x.length; i++) assertEquals(Math.max(0, x[i]), y[i], 0, "dropped block = ReLU(x)");
  }

  @Test
  void wholeConvNetworkWithLoss() {
    ModelSpec spec = ModelSpec.parse(new Shape(2, 8, 8), "conv(3, 3), batchnorm, relu, maxpool(2), res(4), "
        + "res(4, 2), fmp(1.5), flatten, dropconnect(6, 0.3), batchnorm, relu, dropout(0.2), dense(3)", 3, Init.HE, 0.9);
    Network net = new Network(spec, BlasGemm.INSTANCE);
    assertEquals(spec.paramCount(), net.paramCount());
    float[] params = net.initParams(7);
    // keep each ReLU that follows a BN off its kink (see residualBlocksIdentityAndProjection)
    List<Shape> shapes = spec.shapes();
    for (int i = 0; i < spec.layers().size(); i++) {
      int off = net.offset(i), c = shapes.get(i).c();
      if (spec.layers().get(i) instanceof LayerSpec.BatchNorm) java.util.Arrays.fill(params, off + c, off + 2 * c, 3f);
      if (spec.layers().get(i) instanceof LayerSpec.Residual r) {
        int beta1 = off + r.channels() * c * 9 + 2 * r.channels();
        java.util.Arrays.fill(params, beta1, beta1 + r.channels(), 3f);
      }
    }
    Rng rng = new Rng(8);
    int n = 5;
    float[] x = new float[n * spec.inputSize()];
    for (int i = 0; i < x.length; i++) x[i] = (float) rng.nextGaussian();
    int[] labels = {0, 2, 1, 1, 0};
    // a step at which both residual blocks survive, so that every parameter is exercised
    long step = 0;
    while (!allSurvive(net, step)) step++;
    StepContext ctx = new StepContext(11, step, new long[] {4, 8, 15, 16, 23});
    float[] grad = new float[params.length];
    net.lossAndGradient(params, x, labels, 0, n, grad, ctx);
    boolean[] state = net.stateMask();
    for (int i = 0; i < params.length; i++) {
      GradientCheck.assertAgreesAtSomeStep(grad[i], params, i,
          p -> net.lossAndGradient(p, x, labels, 0, n, new float[p.length], ctx).lossSum(), 1e-2, 1e-3, "param " + i);
      if (state[i]) assertEquals(0f, grad[i], "running averages get no gradient");
    }
  }

  private static boolean allSurvive(Network net, long step) {
    StepContext ctx = new StepContext(11, step, new long[5]);
    for (Layer l : net.layers()) {
      if (l instanceof ResidualBlock b) {
        b.setContext(ctx);
        if (!b.survives()) return false;
      }
    }
    return true;
  }

  @Test
  void specsGiveShapesAndParameterCounts() {
    ModelSpec cnn = ModelSpec.parse(new Shape(1, 28, 28), "conv(32, 3), batchnorm, relu, maxpool(2), conv(64, 3), "
        + "batchnorm, relu, maxpool(2), flatten, dense(128), relu, dropout(0.5), dense(10)", 10, Init.HE, 1);
    assertEquals(new Shape(64, 7, 7), cnn.shapes().get(8));
    assertEquals(Shape.flat(3136), cnn.shapes().get(9));
    // conv 32·9+32, bn 4·32, conv 64·32·9+64, bn 4·64, fc 3136·128+128, fc 128·10+10
    assertEquals(320 + 128 + 18496 + 256 + 401536 + 1290, cnn.paramCount());
    assertEquals(new Shape(1, 19, 19), new LayerSpec.FractionalMaxPool(Math.sqrt(2), false).outShape(new Shape(1, 28, 28)));
    assertEquals(new Shape(8, 14, 14), new LayerSpec.Residual(8, 2).outShape(new Shape(4, 28, 28)));
    assertEquals("conv(32, 3), conv(8, 5, 2, 0), maxpool(2), avgpool(3, 1), fmp(1.5, overlap), gap, flatten, batchnorm, "
            + "batchnorm(0.01), res(16, 2), dropconnect(4, 0.5)",
        LayerSpec.format(LayerSpec.parseList("conv(32,3), conv(8, 5, 2, 0), maxpool(2), avgpool(3, 1), "
            + "fmp(1.5, overlap), gap, flatten, bn, batchnorm(0.01), res(16, 2), dropconnect(4, 0.5)", "model.layers")));
    String flat = assertThrows(UserError.class,
        () -> ModelSpec.parse(784, "conv(8, 3), flatten, dense(10)", 10, Init.HE)).getMessage();
    assertTrue(flat.contains("data.shape"), flat);
    assertTrue(assertThrows(UserError.class, () -> LayerSpec.parseList("fmp(2.5)", "model.layers")).getMessage()
        .contains("(1, 2]"));
    assertTrue(assertThrows(UserError.class, () -> LayerSpec.parseList("conv(8)", "model.layers")).getMessage()
        .contains("2 to 4 arguments"));
  }
}
