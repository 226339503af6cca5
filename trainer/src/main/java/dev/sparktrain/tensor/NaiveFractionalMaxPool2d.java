package dev.sparktrain.tensor;

import java.math.BigDecimal;
import java.math.RoundingMode;

/**
 * The reference fractional max pooling, the twin {@link FractionalMaxPool2d} is checked against. Same shapes and
 * regions: x is (N,C,H,W), y is (N,C,P,Q), and example e's regions come from (uRows[e], uCols[e]). Here each
 * boundary b_i = ⌊α·(i + u)⌋ − ⌊α·u⌋ is evaluated in exact decimal arithmetic from the definition (α·(i + u) as
 * in·(i + u)/out, floored), each output is the maximum found by scanning its region, and backward, which keeps no
 * argmax, sends each output's gradient to the first input of its region (row-major) equal to that maximum.
 * Allocates freely; not for training.
 */
public final class NaiveFractionalMaxPool2d {
  private final int c, h, w, p, q;
  private final boolean overlapping;

  public NaiveFractionalMaxPool2d(int c, int h, int w, double ratio, boolean overlapping) {
    this.c = c;
    this.h = h;
    this.w = w;
    this.p = (int) Math.floor(h / ratio);
    this.q = (int) Math.floor(w / ratio);
    this.overlapping = overlapping;
  }

  /** b_0..b_out from the definition, exactly. */
  public static int[] boundaries(int in, int out, double u) {
    BigDecimal uu = new BigDecimal(u), bigIn = BigDecimal.valueOf(in), bigOut = BigDecimal.valueOf(out);
    int shift = floorOf(bigIn.multiply(uu), bigOut);
    int[] b = new int[out + 1];
    for (int i = 0; i <= out; i++) b[i] = floorOf(bigIn.multiply(uu.add(BigDecimal.valueOf(i))), bigOut) - shift;
    return b;
  }

  /** ⌊a/b⌋. */
  private static int floorOf(BigDecimal a, BigDecimal b) {
    return a.divide(b, 0, RoundingMode.FLOOR).intValueExact();
  }

  public void forward(float[] x, int xOff, float[] y, int yOff, int n, double[] uRows, double[] uCols) {
    for (int e = 0; e < n; e++) {
      int[] rows = boundaries(h, p, uRows[e]), cols = boundaries(w, q, uCols[e]);
      for (int ch = 0; ch < c; ch++) {
        for (int pp = 0; pp < p; pp++) {
          for (int qq = 0; qq < q; qq++) {
            y[yOff + ((e * c + ch) * p + pp) * q + qq] = regionMax(x, xOff, e, ch, rows, pp, cols, qq);
          }
        }
      }
    }
  }

  public void backward(float[] x, int xOff, float[] dy, int dyOff, float[] dx, int dxOff, int n,
                       double[] uRows, double[] uCols) {
    for (int i = 0; i < n * c * h * w; i++) dx[dxOff + i] = 0f;
    for (int e = 0; e < n; e++) {
      int[] rows = boundaries(h, p, uRows[e]), cols = boundaries(w, q, uCols[e]);
      for (int ch = 0; ch < c; ch++) {
        for (int pp = 0; pp < p; pp++) {
          for (int qq = 0; qq < q; qq++) {
            float max = regionMax(x, xOff, e, ch, rows, pp, cols, qq);
            int winner = firstEqual(x, xOff, e, ch, rows, pp, cols, qq, max);
            dx[dxOff + winner] += dy[dyOff + ((e * c + ch) * p + pp) * q + qq];
          }
        }
      }
    }
  }

  private float regionMax(float[] x, int xOff, int e, int ch, int[] rows, int pp, int[] cols, int qq) {
    float max = Float.NEGATIVE_INFINITY;
    boolean allNaN = true;
    for (int i = rows[pp]; i <= end(rows, pp, h); i++) {
      for (int j = cols[qq]; j <= end(cols, qq, w); j++) {
        float v = x[xOff + at(e, ch, i, j)];
        if (!Float.isNaN(v)) {
          max = Math.max(max, v);
          allNaN = false;
        }
      }
    }
    return allNaN ? Float.NaN : max;
  }

  private int firstEqual(float[] x, int xOff, int e, int ch, int[] rows, int pp, int[] cols, int qq, float max) {
    for (int i = rows[pp]; i <= end(rows, pp, h); i++) {
      for (int j = cols[qq]; j <= end(cols, qq, w); j++) {
        float v = x[xOff + at(e, ch, i, j)];
        if (v == max || (Float.isNaN(max) && Float.isNaN(v))) return at(e, ch, i, j);
      }
    }
    throw new AssertionError("region maximum not found");
  }

  /** The last index (inclusive) of region k. */
  private int end(int[] b, int k, int in) {
    return overlapping ? Math.min(b[k + 1], in - 1) : b[k + 1] - 1;
  }

  private int at(int e, int ch, int i, int j) {
    return ((e * c + ch) * h + i) * w + j;
  }
}
