package dev.sparktrain.augment;

import dev.sparktrain.tensor.Rng;
import java.util.Arrays;

/**
 * One random image augmentation, applied in place to a C×H×W example; the records validate their settings and
 * print themselves as the text {@link AugmentPipeline#parse} reads.
 */
public sealed interface Augmentation extends java.io.Serializable {
  /**
   * Augments img[off, off + C·H·W), a C×H×W example, in place. scratch has at least C·H·W floats and is
   * overwritten (callers reuse one per task). Draws only from rng, the same number of draws whatever it decides.
   */
  void apply(float[] img, int off, int c, int h, int w, Rng rng, float[] scratch);

  /** Random horizontal flip with probability p: column j and column W−1−j swap. One draw. */
  record Flip(double p) implements Augmentation {
    public static final double DEFAULT_P = 0.5;

    public Flip {
      if (!(p >= 0 && p <= 1)) throw new IllegalArgumentException("flip(" + p + "): p must be in [0, 1]");
    }

    @Override public void apply(float[] img, int off, int c, int h, int w, Rng rng, float[] scratch) {
      if (rng.nextDouble() < p) mirror(img, off, c, h, w);
    }

    /** x is (C,H,W) at off: reverses every row in place. */
    public static void mirror(float[] x, int off, int c, int h, int w) {
      for (int row = off, end = off + c * h * w; row < end; row += w) {
        for (int a = row, b = row + w - 1; a < b; a++, b--) {
          float t = x[a];
          x[a] = x[b];
          x[b] = t;
        }
      }
    }

    @Override public String toString() {
      return p == DEFAULT_P ? "flip" : "flip(" + p + ")";
    }
  }

  /**
   * Random translation: the image is padded by pad zeros on each side and an H×W window is taken at offsets
   * dy, dx drawn uniformly from [0, 2·pad] (dy first), so output (i,j) = input(i+dy−pad, j+dx−pad), or 0 outside.
   */
  record Crop(int pad) implements Augmentation {
    public Crop {
      if (pad < 0) throw new IllegalArgumentException("crop(" + pad + "): pad must be ≥ 0");
    }

    @Override public void apply(float[] img, int off, int c, int h, int w, Rng rng, float[] scratch) {
      int dy = rng.nextInt(2 * pad + 1), dx = rng.nextInt(2 * pad + 1);
      System.arraycopy(img, off, scratch, 0, c * h * w);
      window(scratch, 0, c, h, w, pad, dy, dx, img, off);
    }

    /**
     * src and dst are (C,H,W), not overlapping: dst(ch,i,j) = src(ch, i+dy−pad, j+dx−pad), or 0 where that lies
     * outside src, i.e. the H×W window at (dy, dx) of src padded by pad zeros on each side.
     */
    public static void window(float[] src, int srcOff, int c, int h, int w, int pad, int dy, int dx, float[] dst,
        int dstOff) {
      int sy = dy - pad, sx = dx - pad;
      int j0 = Math.max(0, -sx), j1 = Math.min(w, w - sx); // columns whose source lies inside
      for (int ch = 0; ch < c; ch++) {
        for (int i = 0; i < h; i++) {
          int d = dstOff + (ch * h + i) * w, si = i + sy;
          if (si < 0 || si >= h || j0 >= j1) {
            Arrays.fill(dst, d, d + w, 0f);
            continue;
          }
          Arrays.fill(dst, d, d + j0, 0f);
          System.arraycopy(src, srcOff + (ch * h + si) * w + j0 + sx, dst, d + j0, j1 - j0);
          Arrays.fill(dst, d + j1, d + w, 0f);
        }
      }
    }

    @Override public String toString() {
      return "crop(" + pad + ")";
    }
  }

  /**
   * Random scale crop (a simple Inception-style crop): a scale s uniform in [minScale, 1] (one draw), a crop of
   * round(s·H)×round(s·W) (at least 1×1) at a uniform position (top then left), resized back to H×W by bilinear
   * interpolation (see {@link #resize}). Output values stay within the input's range.
   */
  record ScaleCrop(double minScale) implements Augmentation {
    public ScaleCrop {
      if (!(minScale > 0 && minScale <= 1)) {
        throw new IllegalArgumentException("scale_crop(" + minScale + "): minScale must be in (0, 1]");
      }
    }

    @Override public void apply(float[] img, int off, int c, int h, int w, Rng rng, float[] scratch) {
      double s = minScale + (1 - minScale) * rng.nextDouble();
      int ch = Math.max(1, Math.min(h, (int) Math.round(s * h)));
      int cw = Math.max(1, Math.min(w, (int) Math.round(s * w)));
      int y0 = rng.nextInt(h - ch + 1), x0 = rng.nextInt(w - cw + 1);
      System.arraycopy(img, off, scratch, 0, c * h * w);
      resize(scratch, 0, c, h, w, y0, x0, ch, cw, img, off);
    }

    /**
     * src and dst are (C,H,W), not overlapping: dst = the cropH×cropW region of src at (y0, x0), resized to H×W
     * bilinearly with the align-corners=false convention (PyTorch's default): output pixel centre i maps to the
     * crop coordinate (i + 0.5)·cropH/H − 0.5, clamped to [0, cropH − 1], and likewise for columns.
     */
    public static void resize(float[] src, int srcOff, int c, int h, int w, int y0, int x0, int cropH, int cropW,
        float[] dst, int dstOff) {
      for (int i = 0; i < h; i++) {
        double sy = Math.min(Math.max((i + 0.5) * cropH / h - 0.5, 0), cropH - 1);
        int ya = (int) sy, yb = Math.min(ya + 1, cropH - 1);
        float fy = (float) (sy - ya);
        for (int j = 0; j < w; j++) {
          double sx = Math.min(Math.max((j + 0.5) * cropW / w - 0.5, 0), cropW - 1);
          int xa = (int) sx, xb = Math.min(xa + 1, cropW - 1);
          float fx = (float) (sx - xa);
          for (int ch = 0; ch < c; ch++) {
            int plane = srcOff + ch * h * w;
            int ra = plane + (y0 + ya) * w + x0, rb = plane + (y0 + yb) * w + x0;
            float top = src[ra + xa] + fx * (src[ra + xb] - src[ra + xa]);
            float bottom = src[rb + xa] + fx * (src[rb + xb] - src[rb + xa]);
            dst[dstOff + (ch * h + i) * w + j] = top + fy * (bottom - top);
          }
        }
      }
    }

    @Override public String toString() {
      return "scale_crop(" + minScale + ")";
    }
  }

  /**
   * Colour jitter, contrast first, then brightness: with a = 1 + U[−contrast, contrast] and
   * b = U[−brightness, brightness] (drawn in that order), every pixel x becomes m + a·(x − m) + b, where m is the
   * mean over all C·H·W values of this image. Contrast keeps the mean; brightness shifts every pixel equally.
   */
  record Jitter(double brightness, double contrast) implements Augmentation {
    public Jitter {
      if (!(brightness >= 0 && Double.isFinite(brightness))) {
        throw new IllegalArgumentException("jitter(" + brightness + ", " + contrast + "): brightness must be ≥ 0");
      }
      if (!(contrast >= 0 && contrast <= 1)) {
        throw new IllegalArgumentException("jitter(" + brightness + ", " + contrast + "): contrast must be in [0, 1]");
      }
    }

    @Override public void apply(float[] img, int off, int c, int h, int w, Rng rng, float[] scratch) {
      float a = (float) (1 + contrast * (2 * rng.nextDouble() - 1));
      float b = (float) (brightness * (2 * rng.nextDouble() - 1));
      int n = c * h * w;
      if (a == 1f) {
        for (int k = off; k < off + n; k++) img[k] += b;
        return;
      }
      double sum = 0;
      for (int k = off; k < off + n; k++) sum += img[k];
      float m = (float) (sum / n);
      for (int k = off; k < off + n; k++) img[k] = m + a * (img[k] - m) + b;
    }

    @Override public String toString() {
      return "jitter(" + brightness + ", " + contrast + ")";
    }
  }

  /**
   * AlexNet's PCA colour augmentation (Krizhevsky et al. 2012, §4.1), RGB only: draws α_k ~ N(0, σ²) for
   * k = 0, 1, 2 and adds the same RGB vector
   * <pre>
   *   δ = Σ_k α_k λ_k v_k        (the paper's [p1 p2 p3][α1λ1 α2λ2 α3λ3]ᵀ)
   * </pre>
   * to every pixel, where λ_k and unit v_k are the eigenvalues and eigenvectors of the 3×3 covariance of RGB
   * pixel values over the training set. Hence E[δ] = 0 and
   * <pre>
   *   Cov(δ) = V diag(σ²λ²) Vᵀ,  V = [v_0 v_1 v_2] as columns.
   * </pre>
   * As in the paper, λ are eigenvalues (variances), not standard deviations. Text gives only σ ({@code lighting(0.1)});
   * the eigen-decomposition is bound by {@link AugmentPipeline#withPixelStatistics}.
   *
   * @param eigenvalues λ_0..λ_2, or null until bound
   * @param eigenvectors eigenvectors[k] is the unit vector v_k (rows), or null until bound
   */
  record Lighting(double sigma, double[] eigenvalues, double[][] eigenvectors) implements Augmentation {
    public Lighting {
      if (!(sigma >= 0 && Double.isFinite(sigma))) {
        throw new IllegalArgumentException("lighting(" + sigma + "): sigma must be ≥ 0");
      }
      if ((eigenvalues == null) != (eigenvectors == null)) {
        throw new IllegalArgumentException("lighting(" + sigma + "): eigenvalues and eigenvectors go together");
      }
      if (eigenvalues != null) {
        if (eigenvalues.length != 3 || eigenvectors.length != 3) {
          throw new IllegalArgumentException("lighting(" + sigma + "): needs 3 eigenvalues and 3 eigenvectors, got "
              + eigenvalues.length + " and " + eigenvectors.length);
        }
        eigenvalues = eigenvalues.clone();
        double[][] copy = new double[3][];
        for (int k = 0; k < 3; k++) {
          if (eigenvectors[k].length != 3) {
            throw new IllegalArgumentException("lighting(" + sigma + "): eigenvector " + k + " has "
                + eigenvectors[k].length + " components, not 3");
          }
          copy[k] = eigenvectors[k].clone();
        }
        eigenvectors = copy;
      }
    }

    /** Lighting with σ only, to be bound to pixel statistics later. */
    public Lighting(double sigma) {
      this(sigma, null, null);
    }

    public boolean isBound() {
      return eigenvalues != null;
    }

    @Override public double[] eigenvalues() {
      return eigenvalues == null ? null : eigenvalues.clone();
    }

    @Override public double[][] eigenvectors() {
      if (eigenvectors == null) return null;
      double[][] copy = new double[3][];
      for (int k = 0; k < 3; k++) copy[k] = eigenvectors[k].clone();
      return copy;
    }

    @Override public void apply(float[] img, int off, int c, int h, int w, Rng rng, float[] scratch) {
      if (c != 3) throw new IllegalArgumentException("lighting needs 3 (RGB) channels, not " + c);
      if (!isBound()) throw new IllegalStateException("lighting(" + sigma + ") has no pixel statistics bound");
      double r = 0, g = 0, b = 0;
      for (int k = 0; k < 3; k++) {
        double scale = sigma * rng.nextGaussian() * eigenvalues[k];
        r += scale * eigenvectors[k][0];
        g += scale * eigenvectors[k][1];
        b += scale * eigenvectors[k][2];
      }
      int plane = h * w;
      addToPlane(img, off, plane, (float) r);
      addToPlane(img, off + plane, plane, (float) g);
      addToPlane(img, off + 2 * plane, plane, (float) b);
    }

    private static void addToPlane(float[] x, int off, int n, float d) {
      for (int k = off; k < off + n; k++) x[k] += d;
    }

    @Override public boolean equals(Object o) {
      return o instanceof Lighting l && Double.compare(sigma, l.sigma) == 0
          && Arrays.equals(eigenvalues, l.eigenvalues) && Arrays.deepEquals(eigenvectors, l.eigenvectors);
    }

    @Override public int hashCode() {
      return 31 * (31 * Double.hashCode(sigma) + Arrays.hashCode(eigenvalues)) + Arrays.deepHashCode(eigenvectors);
    }

    @Override public String toString() {
      return "lighting(" + sigma + ")";
    }
  }
}
