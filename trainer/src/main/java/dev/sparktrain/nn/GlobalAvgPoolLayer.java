package dev.sparktrain.nn;

import dev.sparktrain.tensor.GlobalAvgPool;

/** Global average pooling over the {@link GlobalAvgPool} kernel: (C,H,W) → C. */
public final class GlobalAvgPoolLayer extends Layer {
  private final GlobalAvgPool pool;

  public GlobalAvgPoolLayer(Shape in) {
    super(in.size(), in.c());
    this.pool = new GlobalAvgPool(in.c(), in.h(), in.w());
  }

  @Override public float[] forward(float[] p, int pOff, float[] x, int n, boolean training) {
    ensure(n);
    pool.forward(x, 0, out, 0, n);
    return out;
  }

  @Override public float[] backward(float[] p, int pOff, float[] grad, int gOff, float[] x, float[] gradOut, int n,
                                    boolean needGradIn) {
    ensure(n);
    if (needGradIn) pool.backward(gradOut, 0, gradIn, 0, n);
    return gradIn;
  }
}
