package dev.sparktrain.augment;

import java.util.Arrays;

/**
 * Mergeable first and second moments of C-channel pixel vectors (count, Σx, Σxxᵀ in double), gathered over the
 * training images to give the RGB covariance that {@link Augmentation.Lighting} decomposes.
 *
 * <p>{@link #add} and {@link #merge} accumulate into this object and return it, so it serves directly as the
 * zero value and combiner of a Spark aggregate. Not thread-safe.
 */
public final class PixelMoments implements java.io.Serializable {
  private static final long serialVersionUID = 1L;

  private final int channels;
  private long count;
  private final double[] sum;
  /** (C,C) row-major: Σ over pixels of x xᵀ. */
  private final double[] outer;

  public PixelMoments(int channels) {
    if (channels <= 0) throw new IllegalArgumentException("channels must be positive: " + channels);
    this.channels = channels;
    this.sum = new double[channels];
    this.outer = new double[channels * channels];
  }

  public int channels() {
    return channels;
  }

  /** The number of pixels (C-vectors) added. */
  public long count() {
    return count;
  }

  /** Adds every pixel of img[off, off + C·H·W), a (C,H,W) image; returns this. */
  public PixelMoments add(float[] img, int off, int c, int h, int w) {
    if (c != channels) throw new IllegalArgumentException("image has " + c + " channels, moments have " + channels);
    int plane = h * w;
    double[] x = new double[c];
    for (int p = 0; p < plane; p++) {
      for (int a = 0; a < c; a++) x[a] = img[off + a * plane + p];
      for (int a = 0; a < c; a++) {
        sum[a] += x[a];
        for (int b = a; b < c; b++) outer[a * c + b] += x[a] * x[b];
      }
    }
    count += plane;
    return this;
  }

  /** Adds other's pixels to this; returns this. */
  public PixelMoments merge(PixelMoments other) {
    if (other.channels != channels) {
      throw new IllegalArgumentException("cannot merge " + other.channels + "-channel moments into " + channels);
    }
    count += other.count;
    for (int a = 0; a < channels; a++) sum[a] += other.sum[a];
    for (int k = 0; k < outer.length; k++) outer[k] += other.outer[k];
    return this;
  }

  /** The mean pixel vector. */
  public double[] mean() {
    requirePixels();
    double[] m = new double[channels];
    for (int a = 0; a < channels; a++) m[a] = sum[a] / count;
    return m;
  }

  /** The population covariance (divided by the count), C×C and exactly symmetric. */
  public double[][] covariance() {
    double[] m = mean();
    double[][] cov = new double[channels][channels];
    for (int a = 0; a < channels; a++) {
      for (int b = a; b < channels; b++) {
        cov[a][b] = cov[b][a] = outer[a * channels + b] / count - m[a] * m[b];
      }
    }
    return cov;
  }

  private void requirePixels() {
    if (count == 0) throw new IllegalStateException("no pixels added");
  }

  @Override public String toString() {
    return "PixelMoments(count=" + count + ", sum=" + Arrays.toString(sum) + ")";
  }
}
