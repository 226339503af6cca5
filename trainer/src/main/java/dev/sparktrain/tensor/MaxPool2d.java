package dev.sparktrain.tensor;

import java.util.Arrays;

/**
 * 2-D max pooling: x is (N,C,H,W), y is (N,C,P,Q), see {@link Pool2dShape}. Forward records in a buffer, for each
 * output, the index in x of the input that won, and backward routes each output gradient to that input alone.
 *
 * <p>Ties go to the first maximum in row-major window order. Windows that overlap (stride &lt; window) may share
 * a winner, whose gradient is then the sum. A NaN input never wins unless the whole window is NaN. The argmax
 * buffer only grows; an instance is not thread-safe, and backward refers to the latest forward.
 */
public final class MaxPool2d {
  private final Pool2dShape shape;
  /** (N,C,P,Q): the offset, from the start of the forward input's n examples, of each output's maximum. */
  private int[] argmax = new int[0];
  /** Scratch of the 2×2 path: each horizontal pair's winning key and index, at even positions. */
  private int[] pairKey = new int[0], pairIdx = new int[0];
  public MaxPool2d(Pool2dShape shape) {
    this.shape = shape;
  }

  public Pool2dShape shape() {
    return shape;
  }

  /** y[yOff, yOff + N·C·P·Q) = window maxima of the n examples at x[xOff, ...). */
  public void forward(float[] x, int xOff, float[] y, int yOff, int n) {
    if (shape.window() != 2 || shape.stride() != 2) {
      forwardScan(x, xOff, y, yOff, n);
      return;
    }
    if (argmax.length < n * shape.outSize()) argmax = new int[n * shape.outSize()];
    forward2x2(x, xOff, y, yOff, n * shape.c(), shape.h(), shape.w(), shape.p(), shape.q());
  }

  /** {@link #forward} by scanning every window with {@link #argmaxOf}: the twin of the 2×2 fast path. */
  void forwardScan(float[] x, int xOff, float[] y, int yOff, int n) {
    int h = shape.h(), w = shape.w(), p = shape.p(), q = shape.q(), win = shape.window(), stride = shape.stride();
    if (argmax.length < n * shape.outSize()) argmax = new int[n * shape.outSize()];
    int o = 0;
    for (int plane = 0; plane < n * shape.c(); plane++) {
      int base = plane * h * w;
      for (int pp = 0; pp < p; pp++) {
        for (int qq = 0; qq < q; qq++, o++) {
          int r0 = pp * stride, c0 = qq * stride;
          int best = argmaxOf(x, xOff, base, w, r0, r0 + win, c0, c0 + win);
          argmax[o] = best;
          y[yOff + o] = x[xOff + best];
        }
      }
    }
  }

  /**
   * The common 2×2 window with stride 2, without branches: the winners are those of {@link #argmaxOf}, but the
   * comparisons run on integer keys (see {@link #key}) and select with masks, since on real data a float
   * comparison's outcome is random and a branch on it mispredicts about half the time. Each row's pair is decided
   * first (the right wins only if strictly greater), then the bottom pair's winner beats the top's only if
   * strictly greater: that is the first maximum in row-major order, as in the scan. With an even width a plane's
   * pairs are contiguous across its rows, and {@link PairMax} decides them a vector at a time.
   */
  private void forward2x2(float[] x, int xOff, float[] y, int yOff, int planes, int h, int w, int p, int q) {
    if (w % 2 == 0) {
      forward2x2Pairs(x, xOff, y, yOff, planes, h, w, p, q);
      return;
    }
    int o = 0;
    for (int plane = 0; plane < planes; plane++) {
      int base = plane * h * w;
      for (int pp = 0; pp < p; pp++) {
        int top = base + 2 * pp * w;
        for (int qq = 0; qq < q; qq++, o++) {
          int a = top + 2 * qq, b = a + w;
          int k0 = key(x[xOff + a]), k1 = key(x[xOff + a + 1]);
          int k2 = key(x[xOff + b]), k3 = key(x[xOff + b + 1]);
          int mt = greater(k1, k0), mb = greater(k3, k2);
          int kt = k0 ^ ((k0 ^ k1) & mt), kb = k2 ^ ((k2 ^ k3) & mb);
          int it = a + (mt & 1), ib = b + (mb & 1);
          int best = it ^ ((it ^ ib) & greater(kb, kt));
          argmax[o] = best;
          y[yOff + o] = x[xOff + best];
        }
      }
    }
  }

  /**
   * {@link #forward2x2} for an even width, a plane at a time (its scratch then stays in the first-level cache):
   * all the plane's pairs first (by vector if given), then its rows. The pass over the pairs leaves pair t's winner
   * at pairKey[2t] and pairIdx[2t] (see {@link PairMax}).
   */
  private void forward2x2Pairs(float[] x, int xOff, float[] y, int yOff, int planes, int h, int w, int p, int q) {
    PairMax vector = VectorKernels.PAIR_MAX;
    int hw = h * w, pairs = hw / 2;
    if (pairKey.length < hw) {
      pairKey = new int[hw];
      pairIdx = new int[hw];
    }
    int o = 0;
    for (int plane = 0; plane < planes; plane++) {
      int base = plane * hw;
      if (vector != null) {
        vector.pairs(x, xOff + base, pairs, pairKey, pairIdx);
      } else {
        pairsScalar(x, xOff + base, 0, pairs, pairKey, pairIdx);
      }
      for (int pp = 0; pp < p; pp++) {
        int top = 2 * pp * w, bottom = top + w;  // 2·(pair index) of the rows' first pairs
        for (int qq = 0; qq < q; qq++, o++) {
          int t = top + 2 * qq, b = bottom + 2 * qq;
          int it = pairIdx[t], ib = pairIdx[b];
          int best = base + (it ^ ((it ^ ib) & greater(pairKey[b], pairKey[t])));
          argmax[o] = best;
          y[yOff + o] = x[xOff + best];
        }
      }
    }
  }

  /**
   * For the pairs i in [from, to): key[2i] and idx[2i] (relative to xOff: 2i, or 2i + 1 if its key is strictly
   * greater) of the winner of (x[xOff + 2i], x[xOff + 2i + 1]). The twin of {@link PairMax#pairs}, and its tail.
   */
  static void pairsScalar(float[] x, int xOff, int from, int to, int[] key, int[] idx) {
    for (int i = from; i < to; i++) {
      int ke = key(x[xOff + 2 * i]), ko = key(x[xOff + 2 * i + 1]);
      int m = greater(ko, ke);
      key[2 * i] = ke ^ ((ke ^ ko) & m);
      idx[2 * i] = 2 * i + (m & 1);
    }
  }

  /** All ones if u &gt; v, else zero, without a branch (the difference of two keys can overflow an int). */
  static int greater(int u, int v) {
    return (int) (((long) v - u) >> 63);
  }

  /**
   * An int that orders like the float (−0 and +0 equal) and puts NaN below everything, so that a NaN wins only a
   * window of NaNs (at its first position), as in {@link #argmaxOf}.
   */
  static int key(float v) {
    int bits = Float.floatToRawIntBits(v), sign = bits >> 31, magnitude = bits & 0x7FFFFFFF;
    int k = (magnitude ^ sign) - sign;  // ±magnitude
    return magnitude > 0x7F800000 ? Integer.MIN_VALUE : k;
  }

  /** Overwrites dx[dxOff, dxOff + N·C·H·W) with ∂L/∂x given dy = ∂L/∂y, for the examples of the latest forward. */
  public void backward(float[] dy, int dyOff, float[] dx, int dxOff, int n) {
    routeToArgmax(argmax, n * shape.outSize(), dy, dyOff, dx, dxOff, n * shape.inSize());
  }

  /**
   * The offset (from the start of x's examples, plane at base, rows of width w) of the maximum of the window
   * rows [r0, r1) × columns [c0, c1): ties go to the first in row-major order, and NaN wins only if the whole
   * window is NaN, at its first position. Shared with {@link FractionalMaxPool2d}, whose windows vary per example.
   */
  static int argmaxOf(float[] x, int xOff, int base, int w, int r0, int r1, int c0, int c1) {
    int best = base + r0 * w + c0;
    float max = x[xOff + best];
    for (int i = r0; i < r1; i++) {
      int row = base + i * w;
      for (int j = c0; j < c1; j++) {
        float v = x[xOff + row + j];
        if (v > max || (Float.isNaN(max) && !Float.isNaN(v))) {
          max = v;
          best = row + j;
        }
      }
    }
    return best;
  }

  /** dx[dxOff, dxOff + inLen) = 0, then each of the outs gradients dy goes to the input that won its window. */
  static void routeToArgmax(int[] argmax, int outs, float[] dy, int dyOff, float[] dx, int dxOff, int inLen) {
    Arrays.fill(dx, dxOff, dxOff + inLen, 0f);
    for (int o = 0; o < outs; o++) dx[dxOff + argmax[o]] += dy[dyOff + o];
  }
}
