package dev.sparktrain.augment;

/**
 * The eigen-decomposition A = V diag(λ) Vᵀ of a small real symmetric matrix by the cyclic Jacobi method, used on
 * the 3×3 RGB covariance for {@link Augmentation.Lighting}.
 *
 * <p>Each rotation zeroes one off-diagonal entry (Numerical Recipes' choice of the smaller angle); sweeps repeat
 * until the off-diagonal mass is negligible against the whole matrix. Cost O(n³) per sweep, a handful of sweeps.
 *
 * @param values eigenvalues, sorted descending
 * @param vectors vectors[k] is the unit eigenvector for values[k] (rows, not columns)
 */
public record SymmetricEigen(double[] values, double[][] vectors) {
  private static final int MAX_SWEEPS = 64;

  /** Decomposes a, which must be square, finite and symmetric (|a_ij − a_ji| ≤ 1e-9·max|a|); a is not changed. */
  public static SymmetricEigen of(double[][] a) {
    int n = a.length;
    double[][] m = new double[n][];
    double scale = 0;
    for (int i = 0; i < n; i++) {
      if (a[i].length != n) throw new IllegalArgumentException("matrix is not square: row " + i + " has " + a[i].length);
      m[i] = a[i].clone();
      for (double v : m[i]) {
        if (!Double.isFinite(v)) throw new IllegalArgumentException("matrix has a non-finite entry: " + v);
        scale = Math.max(scale, Math.abs(v));
      }
    }
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < i; j++) {
        if (Math.abs(m[i][j] - m[j][i]) > 1e-9 * scale) {
          throw new IllegalArgumentException("matrix is not symmetric at (" + i + "," + j + ")");
        }
      }
    }
    double[][] v = identity(n);
    double tiny = 1e-30 * Math.max(frobenius(m), Double.MIN_NORMAL);
    for (int sweep = 0; sweep < MAX_SWEEPS && offDiagonal(m) > tiny; sweep++) {
      for (int p = 0; p < n; p++) {
        for (int q = p + 1; q < n; q++) {
          if (m[p][q] != 0) rotate(m, v, p, q);
        }
      }
    }
    return sorted(m, v);
  }

  /** A ← Jᵀ A J and V ← V J for the rotation J in plane (p,q) that zeroes a_pq. */
  private static void rotate(double[][] a, double[][] v, int p, int q) {
    double theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
    double t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
    double c = 1 / Math.sqrt(t * t + 1), s = t * c;
    int n = a.length;
    for (int k = 0; k < n; k++) {
      double akp = a[k][p], akq = a[k][q];
      a[k][p] = c * akp - s * akq;
      a[k][q] = s * akp + c * akq;
    }
    for (int k = 0; k < n; k++) {
      double apk = a[p][k], aqk = a[q][k];
      a[p][k] = c * apk - s * aqk;
      a[q][k] = s * apk + c * aqk;
    }
    a[p][q] = a[q][p] = 0;
    for (int k = 0; k < n; k++) {
      double vkp = v[k][p], vkq = v[k][q];
      v[k][p] = c * vkp - s * vkq;
      v[k][q] = s * vkp + c * vkq;
    }
  }

  /** Eigenvalues from the diagonal, eigenvectors from V's columns, in descending order of eigenvalue. */
  private static SymmetricEigen sorted(double[][] a, double[][] v) {
    int n = a.length;
    Integer[] order = new Integer[n];
    for (int i = 0; i < n; i++) order[i] = i;
    java.util.Arrays.sort(order, (x, y) -> Double.compare(a[y][y], a[x][x]));
    double[] values = new double[n];
    double[][] vectors = new double[n][n];
    for (int k = 0; k < n; k++) {
      int col = order[k];
      values[k] = a[col][col];
      for (int r = 0; r < n; r++) vectors[k][r] = v[r][col];
    }
    return new SymmetricEigen(values, vectors);
  }

  private static double offDiagonal(double[][] a) {
    double s = 0;
    for (int i = 0; i < a.length; i++) for (int j = 0; j < a.length; j++) if (i != j) s += a[i][j] * a[i][j];
    return s;
  }

  private static double frobenius(double[][] a) {
    double s = 0;
    for (double[] row : a) for (double x : row) s += x * x;
    return s;
  }

  private static double[][] identity(int n) {
    double[][] id = new double[n][n];
    for (int i = 0; i < n; i++) id[i][i] = 1;
    return id;
  }
}
