package dev.sparktrain.nn;

import dev.sparktrain.tensor.Gemm;
import dev.sparktrain.tensor.Rng;

/**
 * An affine layer y = x·W + b over a batch, as one GEMM each for forward, weight gradient and input gradient.
 *
 * <p>Shapes: x is N×C, W is C×K (row-major, stored first in the slice), b is K, y is N×K.
 */
public final class Dense extends Layer {
  private final Gemm gemm;
  private final Init init;

  public Dense(int in, int out, Init init, Gemm gemm) {
    super(in, out);
    this.init = init;
    this.gemm = gemm;
  }

  @Override
  public int paramCount() {
    return inSize * outSize + outSize;
  }

  @Override
  public void markDecayed(boolean[] mask, int off) {
    java.util.Arrays.fill(mask, off, off + inSize * outSize, true);  // the weights, not the bias
  }

  @Override
  public void init(float[] params, int off, Rng rng) {
    double std = init.std(inSize, outSize);
    for (int i = 0; i < inSize * outSize; i++) params[off + i] = (float) (rng.nextGaussian() * std);
    java.util.Arrays.fill(params, off + inSize * outSize, off + paramCount(), 0f);
  }

  @Override
  public float[] forward(float[] p, int pOff, float[] x, int n, boolean training) {
    ensure(n);
    int bOff = pOff + inSize * outSize;
    for (int i = 0; i < n; i++) System.arraycopy(p, bOff, out, i * outSize, outSize);
    gemm.sgemm(false, false, n, outSize, inSize, 1f, x, 0, inSize, p, pOff, outSize, 1f, out, 0, outSize);
    return out;
  }

  @Override
  public float[] backward(float[] p, int pOff, float[] grad, int gOff,
                          float[] x, float[] gradOut, int n, boolean needGradIn) {
    ensure(n);
    // dW(C×K) = xᵀ(C×N)·dY(N×K)
    gemm.sgemm(true, false, inSize, outSize, n, 1f, x, 0, inSize, gradOut, 0, outSize, 0f, grad, gOff, outSize);
    int bOff = gOff + inSize * outSize;
    java.util.Arrays.fill(grad, bOff, bOff + outSize, 0f);
    for (int i = 0; i < n; i++) {
      int row = i * outSize;
      for (int k = 0; k < outSize; k++) grad[bOff + k] += gradOut[row + k];
    }
    if (needGradIn) {
      // dX(N×C) = dY(N×K)·Wᵀ(K×C)
      gemm.sgemm(false, true, n, inSize, outSize, 1f, gradOut, 0, outSize, p, pOff, outSize, 0f, gradIn, 0, inSize);
    }
    return gradIn;
  }
}
