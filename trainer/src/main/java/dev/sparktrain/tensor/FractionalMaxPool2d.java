package dev.sparktrain.tensor;


/**
 * Fractional max pooling (Graham 2014, "Fractional Max-Pooling"): x is (N,C,H,W), y is (N,C,P,Q) with
 * P = ⌊H/ratio⌋ and Q = ⌊W/ratio⌋ for a ratio in (1, 2], so a layer shrinks by, say, √2 instead of 2.
 *
 * <p>The pooling regions come from a pseudo-random increasing sequence. For a length in, out regions,
 * α = in/out and an offset u ∈ [0, 1), see {@link #boundaries}:
 * <pre>
 *   b_i = ⌊α·(i + u)⌋ − ⌊α·u⌋,   i = 0..out      (b_0 = 0, b_out = in, steps ⌊α⌋ or ⌈α⌉)
 *   disjoint:     region i = [b_i, b_{i+1})
 *   overlapping:  region i = [b_i, min(b_{i+1}, in − 1)]   (shares its last row or column with region i + 1)
 * </pre>
 * Rows use (in, out, u) = (H, P, uRows[e]) and columns (W, Q, uCols[e]): one pair per example, shared by its
 * channels. In training the caller draws each pair from a seeded {@link Rng}; at test time it passes u = 0.5
 * for every example, one fixed set of regions. The paper's sequence is ⌈α(i + u)⌉; this floor form with the
 * ⌊α·u⌋ shift is the same family, anchored so it starts at 0 and ends at exactly in.
 *
 * <p>As in {@link MaxPool2d}, forward records each output's winning input (ties to the first in row-major region
 * order, NaN never wins unless the region is all NaN) and backward routes each output gradient there, summing
 * on winners shared by overlapping regions. The buffers only grow; an instance is not thread-safe, and backward
 * refers to the latest forward. {@link NaiveFractionalMaxPool2d} is the twin.
 */
public final class FractionalMaxPool2d {
  private final int c, h, w, p, q;
  private final double ratio;
  private final boolean overlapping;
  /** (N,C,P,Q): the offset, from the start of the forward input's n examples, of each output's maximum. */
  private int[] argmax = new int[0];
  /** One example's P + 1 row and Q + 1 column boundaries. */
  private final int[] rows, cols;

  public FractionalMaxPool2d(int c, int h, int w, double ratio, boolean overlapping) {
    if (c < 1 || h < 1 || w < 1) throw new IllegalArgumentException("input C,H,W must be positive: " + c + "," + h + "," + w);
    if (!(ratio > 1 && ratio <= 2)) throw new IllegalArgumentException("ratio must be in (1, 2]: " + ratio);
    this.c = c;
    this.h = h;
    this.w = w;
    this.ratio = ratio;
    this.overlapping = overlapping;
    this.p = outputLength(h, ratio);
    this.q = outputLength(w, ratio);
    if (p < 1 || q < 1) throw new IllegalArgumentException("input " + h + "×" + w + " too small for ratio " + ratio);
    this.rows = new int[p + 1];
    this.cols = new int[q + 1];
  }

  /** ⌊in/ratio⌋, e.g. 28 → 19 and 19 → 13 for ratio √2. */
  public static int outputLength(int in, double ratio) {
    return (int) Math.floor(in / ratio);
  }

  /**
   * The out + 1 region boundaries b_i = ⌊α·(i + u)⌋ − ⌊α·u⌋ with α = in/out, computed exactly: with
   * in·u = k + f (k an integer, 0 ≤ f &lt; 1), ⌊(in·i + k + f)/out⌋ = ⌊(in·i + k)/out⌋ because in·i + k is an
   * integer and f &lt; 1, so only the integer k = ⌊in·u⌋ matters and no rounding can push a boundary across an
   * integer (which a double α·(i + u) does at, e.g., in = 28, out = 19, u = 0.5, i = 9, exactly 14). So there
   * are at most in distinct sequences per (in, out); fewer when in/out reduces (α = 3/2 has two).
   */
  public static int[] boundaries(int in, int out, double u) {
    int[] b = new int[out + 1];
    boundaries(in, out, u, b);
    return b;
  }

  private static void boundaries(int in, int out, double u, int[] b) {
    if (out < 1 || out > in) throw new IllegalArgumentException("need 1 ≤ out ≤ in: in " + in + ", out " + out);
    if (!(u >= 0 && u < 1)) throw new IllegalArgumentException("u must be in [0, 1): " + u);
    long k = (long) Math.floor(in * u);
    if (Math.fma(in, u, -k) < 0) k--;  // in·u rounded up onto an integer, e.g. 3 · 0.333…3 = 1.0 in double
    long shift = Math.floorDiv(k, out);
    for (int i = 0; i <= out; i++) b[i] = (int) (Math.floorDiv((long) in * i + k, out) - shift);
  }

  public int c() {
    return c;
  }

  public int h() {
    return h;
  }

  public int w() {
    return w;
  }

  /** Output height P. */
  public int p() {
    return p;
  }

  /** Output width Q. */
  public int q() {
    return q;
  }

  public double ratio() {
    return ratio;
  }

  public boolean overlapping() {
    return overlapping;
  }

  /** Floats in one input example, C·H·W. */
  public int inSize() {
    return c * h * w;
  }

  /** Floats in one output example, C·P·Q. */
  public int outSize() {
    return c * p * q;
  }

  /**
   * y[yOff, yOff + N·C·P·Q) = region maxima of the n examples at x[xOff, ...), example e's regions drawn from
   * (uRows[e], uCols[e]).
   */
  public void forward(float[] x, int xOff, float[] y, int yOff, int n, double[] uRows, double[] uCols) {
    if (uRows.length < n || uCols.length < n) throw new IllegalArgumentException("need one (uRow, uCol) per example: " + n);
    if (argmax.length < n * outSize()) argmax = new int[n * outSize()];
    int last = overlapping ? 1 : 0;  // an overlapping region also takes the next region's first row or column
    int o = 0;
    for (int e = 0; e < n; e++) {
      boundaries(h, p, uRows[e], rows);
      boundaries(w, q, uCols[e], cols);
      for (int ch = 0; ch < c; ch++) {
        int base = (e * c + ch) * h * w;
        for (int pp = 0; pp < p; pp++) {
          int r0 = rows[pp], r1 = Math.min(rows[pp + 1] + last, h);
          for (int qq = 0; qq < q; qq++, o++) {
            int c0 = cols[qq], c1 = Math.min(cols[qq + 1] + last, w);
            int best = MaxPool2d.argmaxOf(x, xOff, base, w, r0, r1, c0, c1);
            argmax[o] = best;
            y[yOff + o] = x[xOff + best];
          }
        }
      }
    }
  }

  /** Overwrites dx[dxOff, dxOff + N·C·H·W) with ∂L/∂x given dy = ∂L/∂y, for the examples and regions of the last forward. */
  public void backward(float[] dy, int dyOff, float[] dx, int dxOff, int n) {
    MaxPool2d.routeToArgmax(argmax, n * outSize(), dy, dyOff, dx, dxOff, n * inSize());
  }
}
