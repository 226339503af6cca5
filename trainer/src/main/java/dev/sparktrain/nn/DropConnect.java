package dev.sparktrain.nn;

import dev.sparktrain.tensor.Gemm;
import dev.sparktrain.tensor.Rng;

/**
 * A Dense layer with DropConnect (Wan et al. 2013): in training each weight is kept with probability 1−p and the
 * kept ones are scaled by 1/(1−p), so that the test-time layer, which uses W itself, is the expectation of the
 * training layer. The bias is never dropped.
 *
 * <p>One mask per optimizer step and layer, drawn from (seed, DROPCONNECT, step, layer): every partition uses the
 * same mask, so the distributed gradient equals the single-process one and a retried task draws it again. (Wan et
 * al. draw a mask per example; one per minibatch keeps the layer a single GEMM, as most implementations do.)
 */
public final class DropConnect extends Layer {
  private final double p;
  private final int layerIndex;
  private final Dense dense;
  private StepContext context = StepContext.NONE;
  private float[] masked = new float[0];
  private float[] mask = new float[0];
  private float[] localGrad = new float[0];

  public DropConnect(int in, int units, double p, int layerIndex, Init init, Gemm gemm) {
    super(in, units);
    if (!(p >= 0 && p < 1)) throw new IllegalArgumentException("drop probability must be in [0, 1): " + p);
    this.p = p;
    this.layerIndex = layerIndex;
    this.dense = new Dense(in, units, init, gemm);
  }

  @Override public void setContext(StepContext context) { this.context = context; }

  @Override public int paramCount() { return dense.paramCount(); }

  @Override public void markDecayed(boolean[] m, int off) { dense.markDecayed(m, off); }

  @Override public void init(float[] params, int off, Rng rng) { dense.init(params, off, rng); }

  /** The mask of the current step, scaled: 0 or 1/(1−p) per weight. */
  float[] mask() {
    int weights = inSize * outSize;
    if (mask.length < weights) mask = new float[weights];
    Rng rng = Rng.derive(context.seed(), Rng.DROPCONNECT, context.step(), layerIndex);
    float keep = (float) (1 / (1 - p));
    for (int i = 0; i < weights; i++) mask[i] = rng.nextDouble() < p ? 0f : keep;
    return mask;
  }

  @Override public float[] forward(float[] params, int pOff, float[] x, int n, boolean training) {
    if (!training || p == 0) return dense.forward(params, pOff, x, n, training);
    int weights = inSize * outSize, total = paramCount();
    if (masked.length < total) masked = new float[total];
    float[] m = mask();
    for (int i = 0; i < weights; i++) masked[i] = params[pOff + i] * m[i];
    System.arraycopy(params, pOff + weights, masked, weights, outSize);
    return dense.forward(masked, 0, x, n, true);
  }

  @Override public float[] backward(float[] params, int pOff, float[] grad, int gOff, float[] x, float[] gradOut,
                                    int n, boolean needGradIn) {
    if (p == 0) return dense.backward(params, pOff, grad, gOff, x, gradOut, n, needGradIn);
    int weights = inSize * outSize, total = paramCount();
    if (localGrad.length < total) localGrad = new float[total];
    float[] gIn = dense.backward(masked, 0, localGrad, 0, x, gradOut, n, needGradIn);
    for (int i = 0; i < weights; i++) grad[gOff + i] = localGrad[i] * mask[i];  // ∂/∂W of (W⊙M)
    System.arraycopy(localGrad, weights, grad, gOff + weights, outSize);
    return gIn;
  }
}
