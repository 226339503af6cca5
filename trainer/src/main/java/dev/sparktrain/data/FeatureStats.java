package dev.sparktrain.data;

import java.io.Serializable;

/**
 * Per-feature count, mean and sum of squared deviations (M2), mergeable by Chan et al.'s parallel update, so that
 * partitions compute their own and the driver merges them in partition order.
 */
public final class FeatureStats implements Serializable {
  private static final long serialVersionUID = 1L;
  /** Features whose standard deviation is below this are centred but not scaled (constant border pixels). */
  public static final double MIN_STD = 1e-6;

  private long count;
  private final double[] mean;
  private final double[] m2;

  public FeatureStats(int dim) {
    mean = new double[dim];
    m2 = new double[dim];
  }

  public static FeatureStats of(DataBlock b) {
    FeatureStats s = new FeatureStats(b.dim());
    if (!b.isPixels()) {
      for (int i = 0; i < b.n(); i++) s.add(b.x(), i * b.dim());
      return s;
    }
    float[] row = new float[b.dim()];  // a uint8 block row by row, never all of it as floats
    for (int i = 0; i < b.n(); i++) {
      b.copyRow(i, row, 0);
      s.add(row, 0);
    }
    return s;
  }

  /** Welford's update with one row x[off, off+dim). */
  public void add(float[] x, int off) {
    count++;
    for (int j = 0; j < mean.length; j++) {
      double d = x[off + j] - mean[j];
      mean[j] += d / count;
      m2[j] += d * (x[off + j] - mean[j]);
    }
  }

  public FeatureStats merge(FeatureStats o) {
    if (o.count == 0) return this;
    long n = count + o.count;
    for (int j = 0; j < mean.length; j++) {
      double d = o.mean[j] - mean[j];
      mean[j] += d * o.count / n;
      m2[j] += o.m2[j] + d * d * count * o.count / n;
    }
    count = n;
    return this;
  }

  public long count() { return count; }

  /**
   * A standardizer that treats the features as `channels` consecutive equal planes (CHW images) and uses one mean
   * and one standard deviation per channel, pooled over the plane: per-pixel statistics would blow up the nearly
   * constant border pixels of an image, and a convolution wants the same transform at every position.
   */
  public Standardizer perChannel(int channels) {
    int d = mean.length, plane = d / channels;
    if (channels < 1 || plane * channels != d) throw new IllegalArgumentException(d + " features are not " + channels + " planes");
    float[] m = new float[d], s = new float[d];
    for (int c = 0; c < channels; c++) {
      double mu = 0, m2c = 0;
      for (int j = c * plane; j < (c + 1) * plane; j++) mu += mean[j];
      mu /= plane;
      for (int j = c * plane; j < (c + 1) * plane; j++) m2c += m2[j] + count * (mean[j] - mu) * (mean[j] - mu);
      double std = count > 0 ? Math.sqrt(m2c / ((double) count * plane)) : 1;
      java.util.Arrays.fill(m, c * plane, (c + 1) * plane, (float) mu);
      java.util.Arrays.fill(s, c * plane, (c + 1) * plane, (float) (std < MIN_STD ? 1 : std));
    }
    return new Standardizer(m, s);
  }

  /** The standardizer for these statistics (population standard deviation). */
  public Standardizer standardizer() {
    float[] m = new float[mean.length], s = new float[mean.length];
    for (int j = 0; j < mean.length; j++) {
      m[j] = (float) mean[j];
      double std = count > 0 ? Math.sqrt(m2[j] / count) : 1;
      s[j] = (float) (std < MIN_STD ? 1 : std);
    }
    return new Standardizer(m, s);
  }

  /** x ← (x − mean) / std per feature; stored in every model so that evaluation applies the same transform. */
  public record Standardizer(float[] mean, float[] std) implements Serializable {
    public static Standardizer identity(int dim) {
      float[] one = new float[dim];
      java.util.Arrays.fill(one, 1f);
      return new Standardizer(new float[dim], one);
    }

    /** 1/std per feature, in float32, as {@link #apply} multiplies by it. */
    public float[] inverse() {
      float[] inv = new float[std.length];
      for (int j = 0; j < inv.length; j++) inv[j] = 1f / std[j];
      return inv;
    }

    public void apply(float[] x, int n) {
      int d = mean.length;
      float[] inv = inverse();
      for (int i = 0; i < n; i++) {
        int row = i * d;
        for (int j = 0; j < d; j++) x[row + j] = (x[row + j] - mean[j]) * inv[j];
      }
    }
  }
}
