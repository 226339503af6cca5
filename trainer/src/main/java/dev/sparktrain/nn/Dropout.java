package dev.sparktrain.nn;

import dev.sparktrain.tensor.Rng;

/**
 * Inverted dropout (Srivastava et al. 2014): in training each activation is zeroed with probability p (the DROP
 * probability) and the survivors are scaled by 1/(1−p), so that test time is the identity and the expected
 * activation is the same in both. The mask of example e at step t in layer l comes from the stream
 * (seed, DROPOUT, t, e, l): the same example gets the same mask whichever partition holds it.
 */
public final class Dropout extends Layer {
  private final double p;
  private final int layerIndex;
  private StepContext context = StepContext.NONE;
  private float[] mask = new float[0];

  public Dropout(int size, double p, int layerIndex) {
    super(size, size);
    if (!(p >= 0 && p < 1)) throw new IllegalArgumentException("drop probability must be in [0, 1): " + p);
    this.p = p;
    this.layerIndex = layerIndex;
  }

  /** The step the next training forward belongs to; Network sets it before each training pass. */
  @Override
  public void setContext(StepContext context) {
    this.context = context;
  }

  @Override
  public float[] forward(float[] params, int pOff, float[] x, int n, boolean training) {
    ensure(n);
    int len = n * inSize;
    if (!training || p == 0) {
      System.arraycopy(x, 0, out, 0, len);
      return out;
    }
    if (mask.length < len) mask = new float[len];
    float keep = (float) (1 / (1 - p));
    for (int i = 0; i < n; i++) {
      Rng rng = Rng.derive(context.seed(), Rng.DROPOUT, context.step(), context.exampleId(i), layerIndex);
      int row = i * inSize;
      for (int j = 0; j < inSize; j++) {
        float m = rng.nextDouble() < p ? 0f : keep;
        mask[row + j] = m;
        out[row + j] = x[row + j] * m;
      }
    }
    return out;
  }

  @Override
  public float[] backward(float[] params, int pOff, float[] grad, int gOff, float[] x, float[] gradOut, int n,
                          boolean needGradIn) {
    ensure(n);
    int len = n * inSize;
    if (p == 0) System.arraycopy(gradOut, 0, gradIn, 0, len);
    else for (int i = 0; i < len; i++) gradIn[i] = gradOut[i] * mask[i];
    return gradIn;
  }
}
