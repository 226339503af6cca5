package dev.sparktrain.tensor;

import java.util.Arrays;

/**
 * 2-D convolution (cross-correlation, as in every deep-learning framework) by im2col and one GEMM per example.
 *
 * <p>Shapes: x is (N,C,H,W), w is (K,C,R,S) stored row-major as K×(C·R·S), b is (K), y is (N,K,P,Q); see
 * {@link Conv2dShape}. Per example n, the column matrix col_n is (C·R·S)×(P·Q): row (c,i,j) holds the input
 * pixels that kernel tap (c,i,j) meets at each of the P·Q output positions (zero where it meets padding), so
 * <pre>
 *   forward:   y_n  = W·col_n + b                    (K×PQ = K×CRS · CRS×PQ)
 *   backward:  dW   = Σ_n dY_n·col_nᵀ                (K×CRS = K×PQ · PQ×CRS)
 *              db   = Σ_n Σ_pq dY_n
 *              dcol = Wᵀ·dY_n, then dX_n = col2im(dcol)  (the scatter-add inverse of im2col)
 * </pre>
 * The column buffer is sized once from the shape and reused; backward recomputes col_n rather than keeping N of
 * them. An instance is therefore not thread-safe: use one per layer per task. {@link NaiveConv2d} is the twin.
 */
public final class Conv2d {
  private final Conv2dShape shape;
  private final Gemm gemm;
  /** (C·R·S)×(P·Q): col_n in forward and in backward's dW step, then reused for dcol. */
  private final float[] col;
  /** A 1×1 kernel with stride 1 and no padding: the input plane already is its own column matrix. */
  private final boolean identityColumns;
  /** Scratch: four planes' pair sums. */
  private final float[] pairs = new float[8];

  public Conv2d(Conv2dShape shape, Gemm gemm) {
    this.shape = shape;
    this.gemm = gemm;
    this.identityColumns = shape.r() == 1 && shape.s() == 1 && shape.stride() == 1 && shape.pad() == 0;
    this.col = identityColumns ? new float[0] : new float[shape.c() * shape.r() * shape.s() * shape.p() * shape.q()];
  }

  public Conv2dShape shape() {
    return shape;
  }

  /** y[yOff, yOff + N·K·P·Q) = conv(x, w) + b for the n examples at x[xOff, ...). */
  public void forward(float[] x, int xOff, float[] w, int wOff, float[] b, int bOff, float[] y, int yOff, int n) {
    int k = shape.k(), pq = shape.p() * shape.q(), crs = shape.c() * shape.r() * shape.s();
    for (int e = 0; e < n; e++) {
      int yn = yOff + e * k * pq;
      for (int kk = 0; kk < k; kk++) Arrays.fill(y, yn + kk * pq, yn + (kk + 1) * pq, b[bOff + kk]);
      float[] cols = columns(x, xOff + e * shape.inSize());
      int colOff = identityColumns ? xOff + e * shape.inSize() : 0;
      gemm.sgemm(false, false, k, pq, crs, 1f, w, wOff, crs, cols, colOff, pq, 1f, y, yn, pq);
    }
  }

  /**
   * Given dy = ∂L/∂y for the n examples of the last forward's x, overwrites dw (K·C·R·S floats at dwOff) and db
   * (K at dbOff) with ∂L/∂w and ∂L/∂b summed over the examples and, unless dx is null (a first layer needs no
   * input gradient), dx (N·C·H·W at dxOff) with ∂L/∂x.
   */
  public void backward(float[] x, int xOff, float[] w, int wOff, float[] dy, int dyOff,
                       float[] dw, int dwOff, float[] db, int dbOff, float[] dx, int dxOff, int n) {
    int k = shape.k(), pq = shape.p() * shape.q(), crs = shape.c() * shape.r() * shape.s(), in = shape.inSize();
    Arrays.fill(dw, dwOff, dwOff + k * crs, 0f);
    biasGradient(dy, dyOff, db, dbOff, n);
    for (int e = 0; e < n; e++) {
      int dyn = dyOff + e * k * pq;
      float[] cols = columns(x, xOff + e * in);
      int colOff = identityColumns ? xOff + e * in : 0;
      gemm.sgemm(false, true, k, crs, pq, 1f, dy, dyn, pq, cols, colOff, pq, 1f, dw, dwOff, crs);
      if (dx == null) continue;
      if (identityColumns) {
        gemm.sgemm(true, false, crs, pq, k, 1f, w, wOff, crs, dy, dyn, pq, 0f, dx, dxOff + e * in, pq);
      } else {
        gemm.sgemm(true, false, crs, pq, k, 1f, w, wOff, crs, dy, dyn, pq, 0f, col, 0, pq);
        Arrays.fill(dx, dxOff + e * in, dxOff + (e + 1) * in, 0f);
        col2im(col, dx, dxOff + e * in);
      }
    }
  }

  /** The column matrix of the example at x[xn, ...): x itself for a 1×1 kernel, else im2col into the buffer. */
  private float[] columns(float[] x, int xn) {
    if (identityColumns) return x;
    im2col(x, xn, col);
    return col;
  }

  /**
   * db[kk] = Σ over examples and positions of dy for channel kk: each plane is summed in four float accumulators
   * (so the adds pipeline), and the planes in double, in example order. Where the Vector API runs, four examples'
   * planes are summed at once ({@link PlaneSums#sums}), with the same bits.
   */
  private void biasGradient(float[] dy, int dyOff, float[] db, int dbOff, int n) {
    int k = shape.k(), pq = shape.p() * shape.q(), step = k * pq;  // step: from one example's plane to the next
    PlaneSums vector = VectorKernels.PLANE_SUMS;
    for (int kk = 0; kk < k; kk++) {
      double sum = 0;
      int e = 0;
      if (vector != null) {
        for (; e + 4 <= n; e += 4) {
          int b0 = dyOff + (e * k + kk) * pq;
          vector.sums(dy, b0, b0 + step, b0 + 2 * step, b0 + 3 * step, pq, pairs);
          for (int i = 0; i < 4; i++) sum += pairs[2 * i] + pairs[2 * i + 1];
        }
      }
      for (; e < n; e++) {
        planePairSums(dy, dyOff + (e * k + kk) * pq, pq, pairs, 0);
        sum += pairs[0] + pairs[1];
      }
      db[dbOff + kk] = (float) sum;
    }
  }

  /** Over the hw values at a[off]: out[at] = s0 + s1 and out[at + 1] = s2 + s3, of four float accumulators. */
  static void planePairSums(float[] a, int off, int hw, float[] out, int at) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int i = 0;
    for (; i + 3 < hw; i += 4) {
      s0 += a[off + i];
      s1 += a[off + i + 1];
      s2 += a[off + i + 2];
      s3 += a[off + i + 3];
    }
    for (; i < hw; i++) s0 += a[off + i];
    out[at] = s0 + s1;
    out[at + 1] = s2 + s3;
  }

  /** One example's x (C,H,W) at xn → cols (C·R·S)×(P·Q), zeros where a tap meets padding. */
  void im2col(float[] x, int xn, float[] cols) {
    if (shape.stride() == 1 && shape.q() == shape.w()) {
      im2colSameWidth(x, xn, cols);
    } else {
      im2colRows(x, xn, cols);
    }
  }

  /** {@link #im2col} one output row at a time: any stride and padding, and the twin of the same-width path. */
  void im2colRows(float[] x, int xn, float[] cols) {
    int c = shape.c(), h = shape.h(), w = shape.w(), r = shape.r(), s = shape.s();
    int p = shape.p(), q = shape.q(), stride = shape.stride(), pad = shape.pad();
    int row = 0;
    for (int cc = 0; cc < c; cc++) {
      int plane = xn + cc * h * w;
      for (int i = 0; i < r; i++) {
        for (int j = 0; j < s; j++, row++) {
          int qlo = firstInside(j, stride, pad), qhi = endInside(j, stride, pad, w, q);
          int out = row * p * q;
          for (int pp = 0; pp < p; pp++, out += q) {
            int hh = pp * stride - pad + i;
            if (hh < 0 || hh >= h || qlo >= qhi) {
              Arrays.fill(cols, out, out + q, 0f);
              continue;
            }
            Arrays.fill(cols, out, out + qlo, 0f);
            Arrays.fill(cols, out + qhi, out + q, 0f);
            int src = plane + hh * w - pad + j;  // + qq·stride
            if (stride == 1) {
              System.arraycopy(x, src + qlo, cols, out + qlo, qhi - qlo);
            } else {
              for (int qq = qlo; qq < qhi; qq++) cols[out + qq] = x[src + qq * stride];
            }
          }
        }
      }
    }
  }

  /**
   * {@link #im2col} for stride 1 and an output as wide as the input (a "same" convolution, 2·pad = S − 1, as in
   * the cnn). Then within one tap's row of cols, entry (pp, qq) reads x at a constant offset from its own index,
   * so the rows that meet the image are one copy, after which the few entries that read across a row's edge are
   * set to the padding's zero. The same values as the row-by-row copy, in far fewer calls.
   */
  void im2colSameWidth(float[] x, int xn, float[] cols) {
    int c = shape.c(), h = shape.h(), w = shape.w(), r = shape.r(), s = shape.s(), p = shape.p(), q = shape.q();
    int pad = shape.pad(), pq = p * q, row = 0;
    for (int cc = 0; cc < c; cc++) {
      int plane = xn + cc * h * w;
      for (int i = 0; i < r; i++) {
        int ppLo = Math.max(0, pad - i), ppHi = Math.min(p, h + pad - i);  // output rows whose input row exists
        for (int j = 0; j < s; j++, row++) {
          int qlo = firstInside(j, 1, pad), qhi = endInside(j, 1, pad, w, q), out = row * pq;
          if (ppLo >= ppHi || qlo >= qhi) {
            Arrays.fill(cols, out, out + pq, 0f);
            continue;
          }
          Arrays.fill(cols, out, out + ppLo * q + qlo, 0f);
          Arrays.fill(cols, out + (ppHi - 1) * q + qhi, out + pq, 0f);
          int from = ppLo * q + qlo, to = (ppHi - 1) * q + qhi;  // cols index (pp, qq) reads x[plane + delta + it]
          int delta = (i - pad) * w + j - pad;
          System.arraycopy(x, plane + delta + from, cols, out + from, to - from);
          setAcrossEdges(cols, out, q, ppLo, ppHi, qlo, qhi, 0f);
        }
      }
    }
  }

  /**
   * The adjoint of im2col: adds each entry of cols (C·R·S)×(P·Q) into the pixel of dx (C,H,W) at dxn it came from.
   * The same-width path may overwrite entries of cols that meet padding (see {@link #col2imSameWidth}).
   */
  void col2im(float[] cols, float[] dx, int dxn) {
    if (shape.stride() == 1 && shape.q() == shape.w()) {
      col2imSameWidth(cols, dx, dxn);
    } else {
      col2imRows(cols, dx, dxn);
    }
  }

  /**
   * {@link #col2im} for stride 1 and Q = W, as {@link #im2colSameWidth}: a tap's rows that meet the image are one
   * run of adds at a constant offset. The entries of that run that read across a row's edge belong to padding, so
   * they are first set to −0, which leaves any float it is added to unchanged (x + (−0) = x, for ±0 too). Every
   * pixel gets the same adds in the same order as row by row, so the same bits.
   */
  void col2imSameWidth(float[] cols, float[] dx, int dxn) {
    int c = shape.c(), h = shape.h(), w = shape.w(), r = shape.r(), s = shape.s(), p = shape.p(), q = shape.q();
    int pad = shape.pad(), pq = p * q, row = 0;
    for (int cc = 0; cc < c; cc++) {
      int plane = dxn + cc * h * w;
      for (int i = 0; i < r; i++) {
        int ppLo = Math.max(0, pad - i), ppHi = Math.min(p, h + pad - i);
        for (int j = 0; j < s; j++, row++) {
          int qlo = firstInside(j, 1, pad), qhi = endInside(j, 1, pad, w, q), in = row * pq;
          if (ppLo >= ppHi || qlo >= qhi) continue;
          setAcrossEdges(cols, in, q, ppLo, ppHi, qlo, qhi, -0f);
          int from = ppLo * q + qlo, to = (ppHi - 1) * q + qhi, dst = plane + (i - pad) * w + j - pad;
          for (int k = from; k < to; k++) dx[dst + k] += cols[in + k];
        }
      }
    }
  }

  /**
   * In one tap's row of cols at out, over the output rows [ppLo, ppHi) that meet the image: sets to v the entries
   * that a same-width run reads across a row's edge (columns below qlo after the first row, from qhi before the
   * last). They are padding: 0 for im2col, −0 (which leaves any float it is added to unchanged) for col2im.
   */
  private static void setAcrossEdges(float[] cols, int out, int q, int ppLo, int ppHi, int qlo, int qhi, float v) {
    for (int pp = ppLo; pp < ppHi; pp++) {
      int rowStart = out + pp * q;
      if (pp > ppLo) for (int qq = 0; qq < qlo; qq++) cols[rowStart + qq] = v;  // a pad's width: a loop, not a fill
      if (pp < ppHi - 1) for (int qq = qhi; qq < q; qq++) cols[rowStart + qq] = v;
    }
  }

  /** {@link #col2im} one output row at a time: any stride and padding, and the twin of the same-width path. */
  void col2imRows(float[] cols, float[] dx, int dxn) {
    int c = shape.c(), h = shape.h(), w = shape.w(), r = shape.r(), s = shape.s();
    int p = shape.p(), q = shape.q(), stride = shape.stride(), pad = shape.pad();
    int row = 0;
    for (int cc = 0; cc < c; cc++) {
      int plane = dxn + cc * h * w;
      for (int i = 0; i < r; i++) {
        for (int j = 0; j < s; j++, row++) {
          int qlo = firstInside(j, stride, pad), qhi = endInside(j, stride, pad, w, q);
          int in = row * p * q;
          for (int pp = 0; pp < p; pp++, in += q) {
            int hh = pp * stride - pad + i;
            if (hh < 0 || hh >= h) continue;
            int dst = plane + hh * w - pad + j;  // + qq·stride
            if (stride == 1) {
              for (int qq = qlo; qq < qhi; qq++) dx[dst + qq] += cols[in + qq];
            } else {
              for (int qq = qlo; qq < qhi; qq++) dx[dst + qq * stride] += cols[in + qq];
            }
          }
        }
      }
    }
  }

  /** The first output column qq whose tap j lands inside the row: qq·stride − pad + j ≥ 0. */
  private static int firstInside(int j, int stride, int pad) {
    int need = pad - j;
    return need <= 0 ? 0 : (need + stride - 1) / stride;
  }

  /** One past the last output column whose tap j lands inside a row of width w: qq·stride − pad + j ≤ w − 1. */
  private static int endInside(int j, int stride, int pad, int w, int q) {
    int room = w - 1 + pad - j;
    return room < 0 ? 0 : Math.min(q, room / stride + 1);
  }
}
