package dev.sparktrain.nn;

import dev.sparktrain.tensor.BatchNorm;
import dev.sparktrain.tensor.Rng;

/**
 * Batch normalization (Ioffe &amp; Szegedy 2015) over the {@link BatchNorm} kernel, per feature for flat input and
 * per channel for images. Its slice of the flat vector is γ (C), β (C), then the running mean (C) and running
 * variance (C): the running averages travel with the parameters, so broadcasts, checkpoints and saved models
 * carry them, but they get no gradient and no weight decay.
 *
 * <p>Training normalizes with the statistics of the partition's share of the minibatch, and reports that share's
 * count, sums and sums of squares; the driver adds them up over all partitions, so the running averages are
 * updated once per step from the statistics of the whole global minibatch:
 * <pre>
 *   μ_B = Σx / m,  σ²_B = (Σx² / m − μ_B²) · m/(m−1)          (unbiased, as PyTorch)
 *   running_mean ← (1 − momentum)·running_mean + momentum·μ_B
 *   running_var  ← (1 − momentum)·running_var  + momentum·σ²_B
 * </pre>
 * Test mode normalizes with the running averages. eps = 1e-5.
 */
public final class BatchNormLayer extends Layer {
  static final float EPS = 1e-5f;
  private final int c;
  private final double momentum;
  private final BatchNorm kernel;
  private boolean fresh;
  private int lastN;
  private double[] moments;

  public BatchNormLayer(Shape in, double momentum) {
    super(in.size(), in.size());
    this.c = in.c();
    this.momentum = momentum;
    this.kernel = new BatchNorm(c, in.spatial(), EPS);
    this.moments = new double[2 * c];
  }

  @Override public int paramCount() { return 4 * c; }

  @Override public void markState(boolean[] mask, int off) {
    java.util.Arrays.fill(mask, off + 2 * c, off + 4 * c, true);
  }

  /** γ = 1, β = 0, running mean 0, running variance 1. */
  @Override public void init(float[] params, int off, Rng rng) {
    java.util.Arrays.fill(params, off, off + c, 1f);
    java.util.Arrays.fill(params, off + c, off + 3 * c, 0f);
    java.util.Arrays.fill(params, off + 3 * c, off + 4 * c, 1f);
  }

  @Override public float[] forward(float[] p, int pOff, float[] x, int n, boolean training) {
    ensure(n);
    if (training) {
      kernel.forwardTrain(x, 0, n, p, pOff, p, pOff + c, out, 0);
      fresh = true;
      lastN = n;
    } else {
      kernel.forwardInference(x, 0, n, p, pOff, p, pOff + c, p, pOff + 2 * c, p, pOff + 3 * c, out, 0);
    }
    return out;
  }

  @Override public float[] backward(float[] p, int pOff, float[] grad, int gOff, float[] x, float[] gradOut, int n,
                                    boolean needGradIn) {
    ensure(n);
    kernel.backward(gradOut, 0, n, p, pOff, grad, gOff, grad, gOff + c, needGradIn ? gradIn : null, 0);
    java.util.Arrays.fill(grad, gOff + 2 * c, gOff + 4 * c, 0f);
    return gradIn;
  }

  @Override public int statsCount() { return 1 + 2 * c; }

  /** count, Σx per channel, Σx² per channel of the latest training forward (nothing if it did not run). */
  @Override public void addStats(double[] dst, int off) {
    if (!fresh) return;
    kernel.batchMoments(moments, 0);
    dst[off] += (double) lastN * (inSize / c);
    for (int i = 0; i < 2 * c; i++) dst[off + 1 + i] += moments[i];
    fresh = false;
  }

  @Override public void updateRunning(float[] prev, float[] next, int pOff, double[] stats, int off) {
    double m = stats[off];
    for (int ch = 0; ch < c; ch++) {
      int mean = pOff + 2 * c + ch, var = pOff + 3 * c + ch;
      if (m < 2) {  // no batch statistics this step (e.g. a block dropped by stochastic depth)
        next[mean] = prev[mean];
        next[var] = prev[var];
        continue;
      }
      double mu = stats[off + 1 + ch] / m;
      double biased = Math.max(0, stats[off + 1 + c + ch] / m - mu * mu);
      next[mean] = (float) ((1 - momentum) * prev[mean] + momentum * mu);
      next[var] = (float) ((1 - momentum) * prev[var] + momentum * biased * m / (m - 1));
    }
  }
}
