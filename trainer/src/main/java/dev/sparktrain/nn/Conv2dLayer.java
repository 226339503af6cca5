package dev.sparktrain.nn;

import dev.sparktrain.tensor.Conv2d;
import dev.sparktrain.tensor.Conv2dShape;
import dev.sparktrain.tensor.Gemm;
import dev.sparktrain.tensor.Rng;

/** A convolution layer over the {@link Conv2d} kernel; its slice holds the weights (K,C,R,S) then the bias (K). */
public final class Conv2dLayer extends Layer {
  private final Conv2d conv;
  private final Conv2dShape shape;
  private final Init init;

  public Conv2dLayer(Conv2dShape shape, Init init, Gemm gemm) {
    super(shape.inSize(), shape.outSize());
    this.shape = shape;
    this.conv = new Conv2d(shape, gemm);
    this.init = init;
  }

  @Override public int paramCount() { return shape.weightSize() + shape.k(); }

  @Override public void markDecayed(boolean[] mask, int off) {
    java.util.Arrays.fill(mask, off, off + shape.weightSize(), true);
  }

  /** He or Xavier with fan_in = C·R·S and fan_out = K·R·S; zero bias. */
  @Override public void init(float[] params, int off, Rng rng) {
    int taps = shape.r() * shape.s();
    double std = init.std(shape.c() * taps, shape.k() * taps);
    for (int i = 0; i < shape.weightSize(); i++) params[off + i] = (float) (rng.nextGaussian() * std);
    java.util.Arrays.fill(params, off + shape.weightSize(), off + paramCount(), 0f);
  }

  @Override public float[] forward(float[] p, int pOff, float[] x, int n, boolean training) {
    ensure(n);
    conv.forward(x, 0, p, pOff, p, pOff + shape.weightSize(), out, 0, n);
    return out;
  }

  @Override public float[] backward(float[] p, int pOff, float[] grad, int gOff, float[] x, float[] gradOut, int n,
                                    boolean needGradIn) {
    ensure(n);
    conv.backward(x, 0, p, pOff, gradOut, 0, grad, gOff, grad, gOff + shape.weightSize(),
        needGradIn ? gradIn : null, 0, n);
    return gradIn;
  }
}
