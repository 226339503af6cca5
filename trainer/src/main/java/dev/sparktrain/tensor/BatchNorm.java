package dev.sparktrain.tensor;

import java.util.Arrays;

/**
 * Batch normalization (Ioffe &amp; Szegedy 2015, "Batch Normalization: Accelerating Deep Network Training by
 * Reducing Internal Covariate Shift"), dense or spatial.
 *
 * <p>Shapes: x and y are (N,C,H·W), γ and β are (C). Dense inputs are N×C with H·W = 1; images are (N,C,H,W) and
 * each channel's statistics run over its M = N·H·W values. Per channel c:
 * <pre>
 *   training:   μ = (1/M) Σ x,   σ² = (1/M) Σ (x − μ)²  (biased),   rstd = 1/√(σ² + ε)
 *               x̂ = (x − μ)·rstd,   y = γ·x̂ + β
 *   inference:  y = γ·(x − runningMean)/√(runningVar + ε) + β
 *   backward:   dβ = Σ dy,   dγ = Σ dy·x̂,   dx = (γ·rstd/M)·(M·dy − dβ − x̂·dγ)
 * </pre>
 * Sums are accumulated in double. The variance is the centred second pass, not Σx²/M − μ², so a channel with a
 * large mean keeps its precision. {@link #batchMoments} hands out Σx and Σx² of the last batch (and
 * {@link #batchCount} its M) for the caller to sum across partitions into running averages; that is where the
 * one-pass form is needed, and the caller owns its convention (biased or unbiased running variance, momentum).
 *
 * <p>Forward keeps μ, rstd and x̂ for backward; the x̂ buffer only grows. An instance is not thread-safe, and
 * backward refers to the latest {@link #forwardTrain}. {@link NaiveBatchNorm} is the twin.
 */
public final class BatchNorm {
  private final int c, hw;
  private final float eps;
  /** (C): per-channel Σx and Σx² of the last training batch. */
  private final double[] sum, sumSq;
  /** (C): per-channel batch mean μ, biased variance σ² and 1/√(σ² + ε) of the last training batch. */
  private final double[] mean, variance, rstd;
  /** (N,C,H·W): x̂ of the last training batch. */
  private float[] xHat = new float[0];
  /** Examples in the last training batch; 0 before the first. */
  private int lastN;

  public BatchNorm(int c, int hw, float eps) {
    if (c < 1 || hw < 1) throw new IllegalArgumentException("C and H·W must be positive: " + c + ", " + hw);
    if (!(eps > 0) || Float.isInfinite(eps)) throw new IllegalArgumentException("eps must be positive and finite: " + eps);
    this.c = c;
    this.hw = hw;
    this.eps = eps;
    this.sum = new double[c];
    this.sumSq = new double[c];
    this.mean = new double[c];
    this.variance = new double[c];
    this.rstd = new double[c];
  }

  public int c() {
    return c;
  }

  public int hw() {
    return hw;
  }

  public float eps() {
    return eps;
  }

  /** y[yOff, yOff + N·C·H·W) = γ·x̂ + β with batch statistics of the n examples at x[xOff, ...). */
  public void forwardTrain(float[] x, int xOff, int n, float[] gamma, int gOff, float[] beta, int bOff,
                           float[] y, int yOff) {
    if (n < 1) throw new IllegalArgumentException("n must be positive: " + n);
    int size = n * c * hw;
    if (xHat.length < size) xHat = new float[size];
    moments(x, xOff, n);
    double m = (double) n * hw;
    Arrays.fill(variance, 0);
    for (int ch = 0; ch < c; ch++) mean[ch] = sum[ch] / m;
    for (int e = 0; e < n; e++) {
      for (int ch = 0; ch < c; ch++) {
        int base = (e * c + ch) * hw;
        double mu = mean[ch], centred = 0;
        for (int s = 0; s < hw; s++) {
          double d = x[xOff + base + s] - mu;
          centred += d * d;
        }
        variance[ch] += centred;
      }
    }
    for (int ch = 0; ch < c; ch++) {
      variance[ch] /= m;
      rstd[ch] = 1 / Math.sqrt(variance[ch] + eps);
    }
    for (int e = 0; e < n; e++) {
      for (int ch = 0; ch < c; ch++) {
        int base = (e * c + ch) * hw;
        double mu = mean[ch], r = rstd[ch];
        float g = gamma[gOff + ch], b = beta[bOff + ch];
        for (int s = 0; s < hw; s++) {
          float xh = (float) ((x[xOff + base + s] - mu) * r);
          xHat[base + s] = xh;
          y[yOff + base + s] = g * xh + b;
        }
      }
    }
    lastN = n;
  }

  /** y[yOff, yOff + N·C·H·W) = γ·(x − runningMean)/√(runningVar + ε) + β; keeps nothing for backward. */
  public void forwardInference(float[] x, int xOff, int n, float[] gamma, int gOff, float[] beta, int bOff,
                               float[] runningMean, int rmOff, float[] runningVar, int rvOff, float[] y, int yOff) {
    for (int ch = 0; ch < c; ch++) {
      // y = scale·x + shift, folded per channel in double
      double scale = gamma[gOff + ch] / Math.sqrt((double) runningVar[rvOff + ch] + eps);
      double shift = beta[bOff + ch] - scale * runningMean[rmOff + ch];
      for (int e = 0; e < n; e++) {
        int base = (e * c + ch) * hw;
        for (int s = 0; s < hw; s++) y[yOff + base + s] = (float) (scale * x[xOff + base + s] + shift);
      }
    }
  }

  /**
   * Given dy = ∂L/∂y for the n examples of the latest forwardTrain, overwrites dgamma and dbeta (C floats each)
   * with ∂L/∂γ and ∂L/∂β and, unless dx is null, dx (N·C·H·W floats) with ∂L/∂x.
   */
  public void backward(float[] dy, int dyOff, int n, float[] gamma, int gOff, float[] dgamma, int dgOff,
                       float[] dbeta, int dbOff, float[] dx, int dxOff) {
    if (lastN == 0) throw new IllegalStateException("backward before forwardTrain");
    if (n != lastN) throw new IllegalArgumentException("backward for " + n + " examples after forwardTrain of " + lastN);
    double[] dBeta = new double[c], dGamma = new double[c];
    for (int e = 0; e < n; e++) {
      for (int ch = 0; ch < c; ch++) {
        int base = (e * c + ch) * hw;
        double db = 0, dg = 0;
        for (int s = 0; s < hw; s++) {
          double g = dy[dyOff + base + s];
          db += g;
          dg += g * xHat[base + s];
        }
        dBeta[ch] += db;
        dGamma[ch] += dg;
      }
    }
    for (int ch = 0; ch < c; ch++) {
      dbeta[dbOff + ch] = (float) dBeta[ch];
      dgamma[dgOff + ch] = (float) dGamma[ch];
    }
    if (dx == null) return;
    double m = (double) n * hw;
    for (int e = 0; e < n; e++) {
      for (int ch = 0; ch < c; ch++) {
        int base = (e * c + ch) * hw;
        double k = gamma[gOff + ch] * rstd[ch] / m, db = dBeta[ch], dg = dGamma[ch];
        for (int s = 0; s < hw; s++) {
          dx[dxOff + base + s] = (float) (k * (m * dy[dyOff + base + s] - db - xHat[base + s] * dg));
        }
      }
    }
  }

  /** Writes [Σx per channel, then Σx² per channel] of the latest forwardTrain: 2·C doubles at dst[off]. */
  public void batchMoments(double[] dst, int off) {
    System.arraycopy(sum, 0, dst, off, c);
    System.arraycopy(sumSq, 0, dst, off + c, c);
  }

  /** Writes [μ per channel, then biased σ² per channel] of the latest forwardTrain: 2·C doubles at dst[off]. */
  public void batchMeanVar(double[] dst, int off) {
    for (int ch = 0; ch < c; ch++) {
      dst[off + ch] = mean[ch];
      dst[off + c + ch] = variance[ch];
    }
  }

  /** M = N·H·W, the values behind each channel's moments in the latest forwardTrain; 0 before the first. */
  public long batchCount() {
    return (long) lastN * hw;
  }

  private void moments(float[] x, int xOff, int n) {
    Arrays.fill(sum, 0);
    Arrays.fill(sumSq, 0);
    for (int e = 0; e < n; e++) {
      for (int ch = 0; ch < c; ch++) {
        int base = xOff + (e * c + ch) * hw;
        double s1 = 0, s2 = 0;
        for (int s = 0; s < hw; s++) {
          double v = x[base + s];
          s1 += v;
          s2 += v * v;
        }
        sum[ch] += s1;
        sumSq[ch] += s2;
      }
    }
  }
}
