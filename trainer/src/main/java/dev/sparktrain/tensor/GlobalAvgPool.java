package dev.sparktrain.tensor;

import java.util.Arrays;

/**
 * Global average pooling, the usual bridge from convolutions to a dense classifier: x is (N,C,H,W), y is (N,C),
 * y[n,c] = mean over H×W of x[n,c]; backward gives every pixel of plane (n,c) the gradient dy[n,c]/(H·W).
 * Stateless, and so thread-safe.
 */
public final class GlobalAvgPool {
  private final int c;
  private final int h;
  private final int w;

  public GlobalAvgPool(int c, int h, int w) {
    if (c < 1 || h < 1 || w < 1) throw new IllegalArgumentException("input C,H,W must be positive: " + c + "," + h + "," + w);
    this.c = c;
    this.h = h;
    this.w = w;
  }

  /** Floats in one input example, C·H·W. */
  public int inSize() {
    return c * h * w;
  }

  /** Floats in one output example, C. */
  public int outSize() {
    return c;
  }

  /** y[yOff, yOff + N·C) = plane means of the n examples at x[xOff, ...). */
  public void forward(float[] x, int xOff, float[] y, int yOff, int n) {
    int hw = h * w;
    for (int plane = 0; plane < n * c; plane++) {
      double sum = 0;
      int base = xOff + plane * hw;
      for (int i = 0; i < hw; i++) sum += x[base + i];
      y[yOff + plane] = (float) (sum / hw);
    }
  }

  /** Overwrites dx[dxOff, dxOff + N·C·H·W) with ∂L/∂x given dy = ∂L/∂y (N,C). */
  public void backward(float[] dy, int dyOff, float[] dx, int dxOff, int n) {
    int hw = h * w;
    for (int plane = 0; plane < n * c; plane++) {
      float g = dy[dyOff + plane] / hw;
      Arrays.fill(dx, dxOff + plane * hw, dxOff + (plane + 1) * hw, g);
    }
  }
}
