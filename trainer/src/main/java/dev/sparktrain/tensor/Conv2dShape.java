package dev.sparktrain.tensor;

/**
 * The geometry of a 2-D convolution, shared by {@link Conv2d} and its twin {@link NaiveConv2d}: x is (N,C,H,W),
 * w is (K,C,R,S), b is (K), y is (N,K,P,Q) with P = (H + 2·pad − R)/stride + 1 and Q = (W + 2·pad − S)/stride + 1.
 *
 * <p>Padding is zeros, pad on each side, the same in both spatial dimensions; stride too is the same in both.
 */
public record Conv2dShape(int c, int h, int w, int k, int r, int s, int stride, int pad) {
  public Conv2dShape {
    if (c < 1 || h < 1 || w < 1) throw new IllegalArgumentException("input C,H,W must be positive: " + c + "," + h + "," + w);
    if (k < 1) throw new IllegalArgumentException("output channels K must be positive: " + k);
    if (r < 1 || s < 1) throw new IllegalArgumentException("kernel R,S must be positive: " + r + "," + s);
    if (stride < 1) throw new IllegalArgumentException("stride must be positive: " + stride);
    if (pad < 0) throw new IllegalArgumentException("pad must be non-negative: " + pad);
    if (h + 2 * pad < r || w + 2 * pad < s) {
      throw new IllegalArgumentException("kernel " + r + "×" + s + " larger than padded input "
          + (h + 2 * pad) + "×" + (w + 2 * pad));
    }
  }

  /** Output height P. */
  public int p() {
    return (h + 2 * pad - r) / stride + 1;
  }

  /** Output width Q. */
  public int q() {
    return (w + 2 * pad - s) / stride + 1;
  }

  /** Floats in one input example, C·H·W. */
  public int inSize() {
    return c * h * w;
  }

  /** Floats in one output example, K·P·Q. */
  public int outSize() {
    return k * p() * q();
  }

  /** Floats in the weight, K·C·R·S (the bias adds K more). */
  public int weightSize() {
    return k * c * r * s;
  }
}
