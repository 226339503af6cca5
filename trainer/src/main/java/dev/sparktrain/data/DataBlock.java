package dev.sparktrain.data;

import dev.sparktrain.tensor.Rng;
import java.io.Serializable;

/**
 * A block of examples, the unit that executors cache: n rows of dim features, their labels, and the source row
 * number of each (for seeded splits and error messages). The features are either float32 ({@code x}, row-major)
 * or, for images cached as bytes (data.pixel_type = uint8), {@code pixels} with the standardization to apply as
 * rows are read ({@code mean}, {@code inv} = 1/std; both null before standardizing): a quarter of the memory.
 *
 * <p>A uint8 row reads as {@code ((p & 0xFF) · (1/255) − mean) · inv} in float32, the very operations the float
 * path performs when it loads ({@link IdxFile#readImages}) and standardizes ({@link FeatureStats.Standardizer#apply}),
 * so both give the same bits. Code that reads rows uses {@link #copyRow}; {@link #x()} materializes a uint8 block.
 */
public record DataBlock(int n, int dim, float[] x, int[] y, long[] rows, byte[] pixels, float[] mean, float[] inv)
    implements Serializable {
  private static final float SCALE = 1f / 255f;

  /** A pixel byte (0–255) as the float it stands for (0–1): the one conversion of IDX files, Parquet bytes and uint8 blocks. */
  public static float pixel(byte b) {
    return (b & 0xFF) * SCALE;
  }

  public DataBlock {
    if ((x == null) == (pixels == null)) throw new IllegalArgumentException("a block holds floats or pixels");
    long size = (long) n * dim;
    if ((x != null ? x.length : pixels.length) != size || y.length != n || rows.length != n) {
      throw new IllegalArgumentException("block arrays do not match n=" + n + ", dim=" + dim);
    }
    if ((mean == null) != (inv == null) || (mean != null && (x != null || mean.length != dim || inv.length != dim))) {
      throw new IllegalArgumentException("a uint8 block's standardization must have dim=" + dim + " entries");
    }
  }

  /** A float32 block. */
  public DataBlock(int n, int dim, float[] x, int[] y, long[] rows) {
    this(n, dim, x, y, rows, null, null, null);
  }

  /** A uint8 block of raw pixels (0–255 standing for 0–1), not standardized. */
  public static DataBlock ofPixels(int n, int dim, byte[] pixels, int[] y, long[] rows) {
    return new DataBlock(n, dim, null, y, rows, pixels, null, null);
  }

  public boolean isPixels() {
    return pixels != null;
  }

  /** The features as float32, row-major: the array itself for a float block, a new one for a uint8 block. */
  @Override
  public float[] x() {
    if (x != null) return x;
    float[] out = new float[Math.multiplyExact(n, dim)];
    for (int r = 0; r < n; r++) copyRow(r, out, r * dim);
    return out;
  }

  /** Copies row r's features, as float32, into dst[off, off + dim). */
  public void copyRow(int r, float[] dst, int off) {
    if (x != null) {
      System.arraycopy(x, r * dim, dst, off, dim);
      return;
    }
    int src = r * dim;
    if (mean == null) {
      for (int j = 0; j < dim; j++) dst[off + j] = pixel(pixels[src + j]);
    } else {
      for (int j = 0; j < dim; j++) dst[off + j] = (pixel(pixels[src + j]) - mean[j]) * inv[j];
    }
  }

  /** Copies rows [from, from + m) into dst from offset 0. */
  public void copyRows(int from, int m, float[] dst) {
    if (x != null) System.arraycopy(x, from * dim, dst, 0, m * dim);
    else for (int i = 0; i < m; i++) copyRow(from + i, dst, i * dim);
  }

  public static DataBlock empty(int dim) {
    return new DataBlock(0, dim, new float[0], new int[0], new long[0]);
  }

  /** Whether source row r belongs to the validation split; a pure function of (seed, row). */
  public static boolean isValidation(long seed, long row, double fraction) {
    return fraction > 0 && Rng.derive(seed, Rng.SPLIT, row).nextDouble() < fraction;
  }

  /** The rows of this block in (validation ? the validation split : the training split). */
  public DataBlock select(long seed, double fraction, boolean validation) {
    boolean[] keep = new boolean[n];
    for (int i = 0; i < n; i++) keep[i] = isValidation(seed, rows[i], fraction) == validation;
    return keep(keep, null);
  }

  /**
   * The rows whose label is one of classes, relabelled by its position there (classes 5, 6, 7 become 0, 1, 2);
   * this block itself when classes is empty.
   */
  public DataBlock withClasses(java.util.List<Integer> classes) {
    if (classes.isEmpty()) return this;
    int max = 0;
    for (int c : classes) max = Math.max(max, c);
    int[] map = new int[max + 1];
    java.util.Arrays.fill(map, -1);
    for (int i = 0; i < classes.size(); i++) map[classes.get(i)] = i;
    boolean[] keep = new boolean[n];
    int[] labels = new int[n];
    for (int i = 0; i < n; i++) {
      int c = y[i] < map.length ? map[y[i]] : -1;
      keep[i] = c >= 0;
      labels[i] = c;
    }
    return keep(keep, labels);
  }

  /** The rows where keep is true, with labels from newLabels when it is non-null. */
  public DataBlock keep(boolean[] keep, int[] newLabels) {
    int count = 0;
    for (boolean k : keep) if (k) count++;
    float[] nx = x == null ? null : new float[count * dim];
    byte[] np = pixels == null ? null : new byte[count * dim];
    int[] ny = new int[count];
    long[] nr = new long[count];
    for (int i = 0, j = 0; i < n; i++) {
      if (!keep[i]) continue;
      if (x != null) System.arraycopy(x, i * dim, nx, j * dim, dim);
      else System.arraycopy(pixels, i * dim, np, j * dim, dim);
      ny[j] = newLabels == null ? y[i] : newLabels[i];
      nr[j] = rows[i];
      j++;
    }
    return new DataBlock(count, dim, nx, ny, nr, np, mean, inv);
  }

  /**
   * A block with every feature standardized, (x − mean) / std: new floats for a float block; for a uint8 block the
   * same bytes, standardized as rows are read.
   */
  public DataBlock standardized(FeatureStats.Standardizer s) {
    if (pixels != null) {
      if (mean != null) throw new IllegalStateException("block standardized twice");
      return new DataBlock(n, dim, null, y, rows, pixels, s.mean().clone(), s.inverse());
    }
    float[] nx = x.clone();
    s.apply(nx, n);
    return new DataBlock(n, dim, nx, y, rows);
  }
}
