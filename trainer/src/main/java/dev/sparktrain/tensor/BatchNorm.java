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
  /** Scratch: four planes' pair sums. */
  private final float[] pairs = new float[16];
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
    double m = (double) n * hw;
    moments(x, xOff, n, m);
    for (int e = 0; e < n; e++) {
      for (int ch = 0; ch < c; ch++) {
        int base = (e * c + ch) * hw, xb = xOff + base, yb = yOff + base;
        float mu = (float) mean[ch], r = (float) rstd[ch], g = gamma[gOff + ch], b = beta[bOff + ch];
        for (int s = 0; s < hw; s++) {
          float xh = (x[xb + s] - mu) * r;
          xHat[base + s] = xh;
          y[yb + s] = g * xh + b;
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
    int planes = n * c, pl = 0;
    if (VectorKernels.PLANE_SUMS != null) {
      for (; pl + 4 <= planes; pl += 4) {
        int b = pl * hw;
        VectorKernels.PLANE_SUMS.sumAndDot(dy, dyOff + b, dyOff + b + hw, dyOff + b + 2 * hw, dyOff + b + 3 * hw,
            xHat, b, b + hw, b + 2 * hw, b + 3 * hw, hw, pairs);
        for (int i = 0; i < 4; i++) addPairSums(pl + i, 4 * i, dBeta, dGamma);
      }
    }
    for (; pl < planes; pl++) {
      sumAndDotPairSums(dy, dyOff + pl * hw, xHat, pl * hw, hw, pairs, 0);
      addPairSums(pl, 0, dBeta, dGamma);
    }
    for (int ch = 0; ch < c; ch++) {
      dbeta[dbOff + ch] = (float) dBeta[ch];
      dgamma[dgOff + ch] = (float) dGamma[ch];
    }
    if (dx == null) return;
    double m = (double) n * hw;
    for (int e = 0; e < n; e++) {
      for (int ch = 0; ch < c; ch++) {
        int base = (e * c + ch) * hw, dyb = dyOff + base, dxb = dxOff + base;
        // dx = k·(M·dy − dβ − x̂·dγ) = a·dy + b + c·x̂, with the per-channel factors folded in double
        double k = gamma[gOff + ch] * rstd[ch] / m;
        float a = (float) (k * m), b = (float) (-k * dBeta[ch]), cx = (float) (-k * dGamma[ch]);
        for (int s = 0; s < hw; s++) dx[dxb + s] = a * dy[dyb + s] + b + cx * xHat[base + s];
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

  /**
   * One pass over the batch for μ, σ² (and Σx, Σx²): each channel's values are shifted by its first value K before
   * they are summed, Σ(x − K) and Σ(x − K)² in double, so a channel with a large mean keeps its precision as the
   * centred two-pass form would.
   */
  private void moments(float[] x, int xOff, int n, double m) {
    double[] s1 = sum, s2 = sumSq;  // the shifted sums first; Σx and Σx² are derived from them below
    Arrays.fill(s1, 0);
    Arrays.fill(s2, 0);
    int planes = n * c, pl = 0;
    if (VectorKernels.PLANE_SUMS != null) {
      for (; pl + 4 <= planes; pl += 4) {
        int b = xOff + pl * hw;
        VectorKernels.PLANE_SUMS.shifted(x, b, b + hw, b + 2 * hw, b + 3 * hw, shift(x, xOff, pl),
            shift(x, xOff, pl + 1), shift(x, xOff, pl + 2), shift(x, xOff, pl + 3), hw, pairs);
        for (int i = 0; i < 4; i++) addPairSums(pl + i, 4 * i, s1, s2);
      }
    }
    for (; pl < planes; pl++) {
      shiftedPairSums(x, xOff + pl * hw, shift(x, xOff, pl), hw, pairs, 0);
      addPairSums(pl, 0, s1, s2);
    }
    for (int ch = 0; ch < c; ch++) {
      double k = x[xOff + ch * hw], a = s1[ch], b = s2[ch];
      mean[ch] = k + a / m;
      variance[ch] = Math.max(0, (b - a * a / m) / m);
      rstd[ch] = 1 / Math.sqrt(variance[ch] + eps);
      sum[ch] = a + m * k;
      sumSq[ch] = b + 2 * k * a + m * k * k;
    }
  }

  // The plane reductions keep four independent float accumulators (a plane has H·W values, at most a few
  // thousand), so that the adds pipeline instead of waiting on one another, and add each plane's total into a
  // double; each is a fixed function of the plane, so results stay reproducible. PlaneSums runs the same
  // accumulators as 4-lane vectors, four planes at once, with the same bits.

  /** The shift of plane pl's sums: the first value of its channel in the first example. */
  private float shift(float[] x, int xOff, int pl) {
    return x[xOff + (pl % c) * hw];
  }

  /** Adds plane pl's pair sums pairs[at..at+3] into first[ch] and second[ch] (ch = pl mod C), in double. */
  private void addPairSums(int pl, int at, double[] first, double[] second) {
    int ch = pl % c;
    first[ch] += (double) pairs[at] + pairs[at + 1];
    second[ch] += (double) pairs[at + 2] + pairs[at + 3];
  }

  /**
   * Over the plane of hw values at x[off]: out[at..at+3] = the pair sums (a0 + a1, a2 + a3) of Σ(x − k), then
   * those of Σ(x − k)², in four float accumulators.
   */
  static void shiftedPairSums(float[] x, int off, float kf, int hw, float[] out, int at) {
    float a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
    int s = 0;
    for (; s + 3 < hw; s += 4) {
      float d0 = x[off + s] - kf, d1 = x[off + s + 1] - kf, d2 = x[off + s + 2] - kf, d3 = x[off + s + 3] - kf;
      a0 += d0;
      a1 += d1;
      a2 += d2;
      a3 += d3;
      b0 += d0 * d0;
      b1 += d1 * d1;
      b2 += d2 * d2;
      b3 += d3 * d3;
    }
    for (; s < hw; s++) {
      float d = x[off + s] - kf;
      a0 += d;
      b0 += d * d;
    }
    out[at] = a0 + a1;
    out[at + 1] = a2 + a3;
    out[at + 2] = b0 + b1;
    out[at + 3] = b2 + b3;
  }

  /** Over hw values from aOff and bOff: out[at..at+3] = the pair sums of Σa, then those of Σa·b. */
  static void sumAndDotPairSums(float[] a, int aOff, float[] b, int bOff, int hw, float[] out, int at) {
    float a0 = 0, a1 = 0, a2 = 0, a3 = 0, p0 = 0, p1 = 0, p2 = 0, p3 = 0;
    int s = 0;
    for (; s + 3 < hw; s += 4) {
      float v0 = a[aOff + s], v1 = a[aOff + s + 1], v2 = a[aOff + s + 2], v3 = a[aOff + s + 3];
      a0 += v0;
      a1 += v1;
      a2 += v2;
      a3 += v3;
      p0 += v0 * b[bOff + s];
      p1 += v1 * b[bOff + s + 1];
      p2 += v2 * b[bOff + s + 2];
      p3 += v3 * b[bOff + s + 3];
    }
    for (; s < hw; s++) {
      a0 += a[aOff + s];
      p0 += a[aOff + s] * b[bOff + s];
    }
    out[at] = a0 + a1;
    out[at + 1] = a2 + a3;
    out[at + 2] = p0 + p1;
    out[at + 3] = p2 + p3;
  }
}
