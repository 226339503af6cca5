package dev.sparktrain.testing;

import dev.sparktrain.nn.Layer;
import dev.sparktrain.tensor.Rng;
import java.util.function.ToDoubleFunction;

/**
 * Numerical gradient checks by central differences. A layer is checked through the scalar L = Σ out ⊙ R for a
 * fixed random R, so that ∂L/∂out = R exercises every output.
 */
public final class GradientCheck {
  private GradientCheck() {}

  /** Central difference (f(x+h) − f(x−h)) / 2h of f at coordinate i of x; x is restored afterwards. */
  public static double numerical(float[] x, int i, float h, ToDoubleFunction<float[]> f) {
    float saved = x[i];
    x[i] = saved + h;
    double plus = f.applyAsDouble(x);
    x[i] = saved - h;
    double minus = f.applyAsDouble(x);
    x[i] = saved;
    return (plus - minus) / ((double) (saved + h) - (double) (saved - h));
  }

  /**
   * For functions with kinks inside (ReLU and max deep in a network, where no input margin can keep every unit
   * away from its kink): the analytic value must agree with the central difference at one of the steps 1e-2,
   * 3e-3 or 1e-3. A difference that straddles a kink is wrong at one step size, a wrong gradient at all of them.
   */
  public static void assertAgreesAtSomeStep(double analytic, float[] x, int i, ToDoubleFunction<float[]> f,
                                            double rel, double abs, String what) {
    double best = Double.NaN;
    for (float h : new float[] {1e-2f, 3e-3f, 1e-3f}) {
      double num = numerical(x, i, h, f);
      double tol = rel * Math.max(Math.abs(analytic), Math.abs(num)) + abs;
      if (Math.abs(analytic - num) <= tol) return;
      if (Double.isNaN(best) || Math.abs(analytic - num) < Math.abs(analytic - best)) best = num;
    }
    throw new AssertionError(String.format("%s: analytic %.6g vs numerical %.6g at the closest of three steps",
        what, analytic, best));
  }

  /** Asserts that the analytic and numerical gradients agree: |a − n| ≤ rel·max(|a|,|n|) + abs. */
  public static void assertAgrees(double analytic, double numeric, double rel, double abs, String what) {
    double tol = rel * Math.max(Math.abs(analytic), Math.abs(numeric)) + abs;
    if (!(Math.abs(analytic - numeric) <= tol)) {
      throw new AssertionError(String.format("%s: analytic %.6g vs numerical %.6g", what, analytic, numeric));
    }
  }

  /**
   * Checks a layer's parameter and input gradients on a batch of n, with inputs kept at least margin away from
   * zero (so that kinks such as ReLU's are not straddled by the difference step).
   */
  public static void checkLayer(Layer layer, int n, long seed, float margin) {
    checkLayer(layer, n, seed, margin, false);
  }

  /**
   * As above; with distinctInputs the inputs are a shuffled ladder of values 0.05 apart, so that a max over a
   * window never changes its winner within the difference step (max pooling's kink).
   */
  public static void checkLayer(Layer layer, int n, long seed, float margin, boolean distinctInputs) {
    checkLayer(layer, n, seed, margin, distinctInputs, false);
  }

  /** As above; with kinksInside each value may agree at any of three steps (see assertAgreesAtSomeStep). */
  public static void checkLayer(Layer layer, int n, long seed, float margin, boolean distinctInputs,
                                boolean kinksInside) {
    checkLayer(layer, n, seed, margin, distinctInputs, kinksInside, p -> {});
  }

  /** As above; adjust may move parameters after initialization (e.g. a BN shift that keeps a ReLU away from 0). */
  public static void checkLayer(Layer layer, int n, long seed, float margin, boolean distinctInputs,
                                boolean kinksInside, java.util.function.Consumer<float[]> adjust) {
    Rng rng = new Rng(seed);
    float[] params = new float[layer.paramCount()];
    layer.init(params, 0, rng);
    for (int i = 0; i < params.length; i++) params[i] += (float) (0.1 * rng.nextGaussian());
    adjust.accept(params);
    float[] x = new float[n * layer.inSize()];
    if (distinctInputs) {
      int[] order = rng.permutation(x.length);
      for (int i = 0; i < x.length; i++) x[i] = 0.05f * (order[i] - x.length / 2);
    } else {
      for (int i = 0; i < x.length; i++) {
        float v = (float) rng.nextGaussian();
        x[i] = Math.copySign(Math.abs(v) + margin, v);
      }
    }
    float[] r = new float[n * layer.outSize()];
    for (int i = 0; i < r.length; i++) r[i] = (float) rng.nextGaussian();

    ToDoubleFunction<float[]> lossOfParams = p -> dot(layer.forward(p, 0, x, n, true), r);
    ToDoubleFunction<float[]> lossOfInput = xi -> dot(layer.forward(params, 0, xi, n, true), r);
    float[] grad = new float[params.length];
    layer.forward(params, 0, x, n, true);
    float[] gradIn = layer.backward(params, 0, grad, 0, x, r, n, true).clone();
    float h = 1e-2f;
    for (int i = 0; i < params.length; i++) {
      if (kinksInside) assertAgreesAtSomeStep(grad[i], params, i, lossOfParams, 1e-3, 1e-3, "param " + i);
      else assertAgrees(grad[i], numerical(params, i, h, lossOfParams), 1e-3, 1e-3, "param " + i);
    }
    for (int i = 0; i < x.length; i++) {
      if (kinksInside) assertAgreesAtSomeStep(gradIn[i], x, i, lossOfInput, 1e-3, 1e-3, "input " + i);
      else assertAgrees(gradIn[i], numerical(x, i, margin > 0 ? Math.min(h, margin / 2) : h, lossOfInput), 1e-3, 1e-3, "input " + i);
    }
  }

  private static double dot(float[] out, float[] r) {
    double s = 0;
    for (int i = 0; i < r.length; i++) s += (double) out[i] * r[i];
    return s;
  }
}
