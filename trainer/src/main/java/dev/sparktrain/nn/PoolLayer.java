package dev.sparktrain.nn;

import dev.sparktrain.tensor.AvgPool2d;
import dev.sparktrain.tensor.MaxPool2d;
import dev.sparktrain.tensor.Pool2dShape;

/** Max or average pooling over the {@link MaxPool2d} and {@link AvgPool2d} kernels; no parameters. */
public final class PoolLayer extends Layer {
  private final MaxPool2d max;
  private final AvgPool2d avg;

  public PoolLayer(Pool2dShape shape, boolean isMax) {
    super(shape.inSize(), shape.outSize());
    this.max = isMax ? new MaxPool2d(shape) : null;
    this.avg = isMax ? null : new AvgPool2d(shape);
  }

  @Override public float[] forward(float[] p, int pOff, float[] x, int n, boolean training) {
    ensure(n);
    if (max != null) max.forward(x, 0, out, 0, n);
    else avg.forward(x, 0, out, 0, n);
    return out;
  }

  @Override public float[] backward(float[] p, int pOff, float[] grad, int gOff, float[] x, float[] gradOut, int n,
                                    boolean needGradIn) {
    ensure(n);
    if (!needGradIn) return gradIn;
    if (max != null) max.backward(gradOut, 0, gradIn, 0, n);
    else avg.backward(gradOut, 0, gradIn, 0, n);
    return gradIn;
  }
}
