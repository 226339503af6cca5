package dev.sparktrain.tensor;

/**
 * The reference 2-D convolution, written straight from the definition with double accumulators: the twin
 * {@link Conv2d} is checked against. Same shapes and method contract as {@link Conv2d}: x is (N,C,H,W), w is
 * (K,C,R,S), b is (K), y is (N,K,P,Q), and
 * <pre>
 *   y[n,k,p,q] = b[k] + Σ_{c,i,j} w[k,c,i,j] · x[n, c, p·stride − pad + i, q·stride − pad + j]
 * </pre>
 * where x outside H×W is zero. Allocates freely; not for training.
 */
public final class NaiveConv2d {
  private final Conv2dShape shape;

  public NaiveConv2d(Conv2dShape shape) {
    this.shape = shape;
  }

  public Conv2dShape shape() {
    return shape;
  }

  public void forward(float[] x, int xOff, float[] w, int wOff, float[] b, int bOff, float[] y, int yOff, int n) {
    int c = shape.c(), h = shape.h(), wd = shape.w(), k = shape.k(), r = shape.r(), s = shape.s();
    int p = shape.p(), q = shape.q();
    for (int e = 0; e < n; e++) {
      for (int kk = 0; kk < k; kk++) {
        for (int pp = 0; pp < p; pp++) {
          for (int qq = 0; qq < q; qq++) {
            double sum = b[bOff + kk];
            for (int cc = 0; cc < c; cc++) {
              for (int i = 0; i < r; i++) {
                for (int j = 0; j < s; j++) {
                  int hh = pp * shape.stride() - shape.pad() + i, ww = qq * shape.stride() - shape.pad() + j;
                  if (hh < 0 || hh >= h || ww < 0 || ww >= wd) continue;
                  sum += (double) w[wOff + ((kk * c + cc) * r + i) * s + j] * x[xOff + ((e * c + cc) * h + hh) * wd + ww];
                }
              }
            }
            y[yOff + ((e * k + kk) * p + pp) * q + qq] = (float) sum;
          }
        }
      }
    }
  }

  /**
   * Overwrites dw and db with ∂L/∂w and ∂L/∂b, and dx (unless null) with ∂L/∂x, by differentiating the forward
   * sum term by term: each product w[k,c,i,j]·x[n,c,h,w] sends dy[n,k,p,q]·x to dw and dy[n,k,p,q]·w to dx.
   */
  public void backward(float[] x, int xOff, float[] w, int wOff, float[] dy, int dyOff,
                       float[] dw, int dwOff, float[] db, int dbOff, float[] dx, int dxOff, int n) {
    int c = shape.c(), h = shape.h(), wd = shape.w(), k = shape.k(), r = shape.r(), s = shape.s();
    int p = shape.p(), q = shape.q();
    double[] dwSum = new double[shape.weightSize()], dbSum = new double[k], dxSum = new double[n * shape.inSize()];
    for (int e = 0; e < n; e++) {
      for (int kk = 0; kk < k; kk++) {
        for (int pp = 0; pp < p; pp++) {
          for (int qq = 0; qq < q; qq++) {
            double g = dy[dyOff + ((e * k + kk) * p + pp) * q + qq];
            dbSum[kk] += g;
            for (int cc = 0; cc < c; cc++) {
              for (int i = 0; i < r; i++) {
                for (int j = 0; j < s; j++) {
                  int hh = pp * shape.stride() - shape.pad() + i, ww = qq * shape.stride() - shape.pad() + j;
                  if (hh < 0 || hh >= h || ww < 0 || ww >= wd) continue;
                  int wi = ((kk * c + cc) * r + i) * s + j, xi = ((e * c + cc) * h + hh) * wd + ww;
                  dwSum[wi] += g * x[xOff + xi];
                  dxSum[xi] += g * w[wOff + wi];
                }
              }
            }
          }
        }
      }
    }
    copy(dwSum, dw, dwOff);
    copy(dbSum, db, dbOff);
    if (dx != null) copy(dxSum, dx, dxOff);
  }

  private static void copy(double[] from, float[] to, int off) {
    for (int i = 0; i < from.length; i++) to[off + i] = (float) from[i];
  }
}
