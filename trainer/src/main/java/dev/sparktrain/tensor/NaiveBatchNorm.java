package dev.sparktrain.tensor;

/**
 * The reference batch normalization, written in double straight from Ioffe &amp; Szegedy's Algorithm 1 and its
 * chain rule (section 3): the twin {@link BatchNorm} is checked against. Same shapes and method contract as
 * {@link BatchNorm}: x and y are (N,C,H·W), γ and β are (C), statistics per channel over M = N·H·W. Backward goes
 * through the paper's intermediate gradients,
 * <pre>
 *   ∂L/∂x̂ = dy·γ
 *   ∂L/∂σ² = Σ ∂L/∂x̂ · (x − μ) · (−1/2)(σ² + ε)^(−3/2)
 *   ∂L/∂μ  = Σ ∂L/∂x̂ · (−1/√(σ² + ε)) + ∂L/∂σ² · Σ −2(x − μ) / M
 *   ∂L/∂x  = ∂L/∂x̂ / √(σ² + ε) + ∂L/∂σ² · 2(x − μ)/M + ∂L/∂μ / M
 * </pre>
 * rather than the fast kernel's folded form. Keeps a double copy of x; allocates freely; not for training.
 */
public final class NaiveBatchNorm {
  private final int c, hw;
  private final double eps;
  private double[] x = new double[0];
  private double[] mean, variance;
  private int lastN;

  public NaiveBatchNorm(int c, int hw, float eps) {
    this.c = c;
    this.hw = hw;
    this.eps = eps;
  }

  public void forwardTrain(float[] x, int xOff, int n, float[] gamma, int gOff, float[] beta, int bOff,
                           float[] y, int yOff) {
    this.x = new double[n * c * hw];
    for (int i = 0; i < this.x.length; i++) this.x[i] = x[xOff + i];
    lastN = n;
    mean = new double[c];
    variance = new double[c];
    double m = (double) n * hw;
    for (int ch = 0; ch < c; ch++) {
      for (int e = 0; e < n; e++) for (int s = 0; s < hw; s++) mean[ch] += this.x[at(e, ch, s)];
      mean[ch] /= m;
      for (int e = 0; e < n; e++) for (int s = 0; s < hw; s++) variance[ch] += sq(this.x[at(e, ch, s)] - mean[ch]);
      variance[ch] /= m;
    }
    apply(n, gamma, gOff, beta, bOff, mean, variance, y, yOff);
  }

  public void forwardInference(float[] x, int xOff, int n, float[] gamma, int gOff, float[] beta, int bOff,
                               float[] runningMean, int rmOff, float[] runningVar, int rvOff, float[] y, int yOff) {
    this.x = new double[n * c * hw];
    for (int i = 0; i < this.x.length; i++) this.x[i] = x[xOff + i];
    double[] rm = new double[c], rv = new double[c];
    for (int ch = 0; ch < c; ch++) {
      rm[ch] = runningMean[rmOff + ch];
      rv[ch] = runningVar[rvOff + ch];
    }
    apply(n, gamma, gOff, beta, bOff, rm, rv, y, yOff);
    lastN = 0;  // an inference pass leaves nothing to differentiate
  }

  public void backward(float[] dy, int dyOff, int n, float[] gamma, int gOff, float[] dgamma, int dgOff,
                       float[] dbeta, int dbOff, float[] dx, int dxOff) {
    if (lastN == 0 || n != lastN) throw new IllegalStateException("backward without a matching forwardTrain");
    double m = (double) n * hw;
    for (int ch = 0; ch < c; ch++) {
      double mu = mean[ch], sd = Math.sqrt(variance[ch] + eps), g = gamma[gOff + ch];
      double dBeta = 0, dGamma = 0, dVar = 0, dMean = 0, sumCentred = 0;
      for (int e = 0; e < n; e++) {
        for (int s = 0; s < hw; s++) {
          double d = dy[dyOff + at(e, ch, s)], centred = x[at(e, ch, s)] - mu;
          dBeta += d;
          dGamma += d * centred / sd;
          dVar += d * g * centred * -0.5 * Math.pow(variance[ch] + eps, -1.5);
          dMean += d * g * -1 / sd;
          sumCentred += -2 * centred;
        }
      }
      dMean += dVar * sumCentred / m;
      dbeta[dbOff + ch] = (float) dBeta;
      dgamma[dgOff + ch] = (float) dGamma;
      if (dx == null) continue;
      for (int e = 0; e < n; e++) {
        for (int s = 0; s < hw; s++) {
          int i = at(e, ch, s);
          double dxHat = dy[dyOff + i] * g;
          dx[dxOff + i] = (float) (dxHat / sd + dVar * 2 * (x[i] - mu) / m + dMean / m);
        }
      }
    }
  }

  private void apply(int n, float[] gamma, int gOff, float[] beta, int bOff, double[] mu, double[] v,
                     float[] y, int yOff) {
    for (int e = 0; e < n; e++) {
      for (int ch = 0; ch < c; ch++) {
        for (int s = 0; s < hw; s++) {
          int i = at(e, ch, s);
          double xHat = (x[i] - mu[ch]) / Math.sqrt(v[ch] + eps);
          y[yOff + i] = (float) (gamma[gOff + ch] * xHat + beta[bOff + ch]);
        }
      }
    }
  }

  private int at(int e, int ch, int s) {
    return (e * c + ch) * hw + s;
  }

  private static double sq(double d) {
    return d * d;
  }
}
