package dev.sparktrain.data;

import dev.sparktrain.tensor.Rng;
import java.io.Serializable;

/**
 * A dense float32 block of examples, the unit that executors cache: n rows of dim features in one row-major
 * array, their labels, and the source row number of each (for seeded splits and error messages).
 */
public record DataBlock(int n, int dim, float[] x, int[] y, long[] rows) implements Serializable {
  public DataBlock {
    if ((long) n * dim != x.length || y.length != n || rows.length != n) {
      throw new IllegalArgumentException("block arrays do not match n=" + n + ", dim=" + dim);
    }
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
    int count = 0;
    boolean[] keep = new boolean[n];
    for (int i = 0; i < n; i++) {
      keep[i] = isValidation(seed, rows[i], fraction) == validation;
      if (keep[i]) count++;
    }
    float[] nx = new float[count * dim];
    int[] ny = new int[count];
    long[] nr = new long[count];
    for (int i = 0, j = 0; i < n; i++) {
      if (!keep[i]) continue;
      System.arraycopy(x, i * dim, nx, j * dim, dim);
      ny[j] = y[i];
      nr[j] = rows[i];
      j++;
    }
    return new DataBlock(count, dim, nx, ny, nr);
  }

  /** A new block with every feature standardized: (x − mean) / std. */
  public DataBlock standardized(FeatureStats.Standardizer s) {
    float[] nx = x.clone();
    s.apply(nx, n);
    return new DataBlock(n, dim, nx, y, rows);
  }
}
