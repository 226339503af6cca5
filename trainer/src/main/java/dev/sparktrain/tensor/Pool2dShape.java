package dev.sparktrain.tensor;

/**
 * The geometry of a 2-D pooling, shared by {@link MaxPool2d} and {@link AvgPool2d}: x is (N,C,H,W), the window is
 * R×S with R = S = window, y is (N,C,P,Q) with P = (H − window)/stride + 1 and Q = (W − window)/stride + 1.
 *
 * <p>No padding; rows or columns that do not fill a last window are dropped (floor), as PyTorch does by default.
 */
public record Pool2dShape(int c, int h, int w, int window, int stride) {
  public Pool2dShape {
    if (c < 1 || h < 1 || w < 1) throw new IllegalArgumentException("input C,H,W must be positive: " + c + "," + h + "," + w);
    if (window < 1) throw new IllegalArgumentException("window must be positive: " + window);
    if (stride < 1) throw new IllegalArgumentException("stride must be positive: " + stride);
    if (window > h || window > w) {
      throw new IllegalArgumentException("window " + window + " larger than input " + h + "×" + w);
    }
  }

  /** Output height P. */
  public int p() {
    return (h - window) / stride + 1;
  }

  /** Output width Q. */
  public int q() {
    return (w - window) / stride + 1;
  }

  /** Floats in one input example, C·H·W. */
  public int inSize() {
    return c * h * w;
  }

  /** Floats in one output example, C·P·Q. */
  public int outSize() {
    return c * p() * q();
  }
}
