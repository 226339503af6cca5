package dev.sparktrain.tensor;

import java.util.Arrays;

/**
 * 2-D average pooling: x is (N,C,H,W), y is (N,C,P,Q), see {@link Pool2dShape}. Each output is the mean of its
 * window of window² inputs, so backward spreads dy/window² over the window (summing where windows overlap).
 * Stateless, and so thread-safe.
 */
public final class AvgPool2d {
  private final Pool2dShape shape;

  public AvgPool2d(Pool2dShape shape) {
    this.shape = shape;
  }

  public Pool2dShape shape() {
    return shape;
  }

  /** y[yOff, yOff + N·C·P·Q) = window means of the n examples at x[xOff, ...). */
  public void forward(float[] x, int xOff, float[] y, int yOff, int n) {
    int h = shape.h(), w = shape.w(), p = shape.p(), q = shape.q(), win = shape.window(), stride = shape.stride();
    double scale = 1.0 / (win * win);
    int o = yOff;
    for (int plane = 0; plane < n * shape.c(); plane++) {
      int base = xOff + plane * h * w;
      for (int pp = 0; pp < p; pp++) {
        for (int qq = 0; qq < q; qq++, o++) {
          double sum = 0;
          for (int i = 0; i < win; i++) {
            int row = base + (pp * stride + i) * w + qq * stride;
            for (int j = 0; j < win; j++) sum += x[row + j];
          }
          y[o] = (float) (sum * scale);
        }
      }
    }
  }

  /** Overwrites dx[dxOff, dxOff + N·C·H·W) with ∂L/∂x given dy = ∂L/∂y. */
  public void backward(float[] dy, int dyOff, float[] dx, int dxOff, int n) {
    int h = shape.h(), w = shape.w(), p = shape.p(), q = shape.q(), win = shape.window(), stride = shape.stride();
    float scale = 1f / (win * win);
    Arrays.fill(dx, dxOff, dxOff + n * shape.inSize(), 0f);
    int o = dyOff;
    for (int plane = 0; plane < n * shape.c(); plane++) {
      int base = dxOff + plane * h * w;
      for (int pp = 0; pp < p; pp++) {
        for (int qq = 0; qq < q; qq++, o++) {
          float g = dy[o] * scale;
          for (int i = 0; i < win; i++) {
            int row = base + (pp * stride + i) * w + qq * stride;
            for (int j = 0; j < win; j++) dx[row + j] += g;
          }
        }
      }
    }
  }
}
