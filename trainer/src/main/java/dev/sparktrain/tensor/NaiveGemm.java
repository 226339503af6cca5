package dev.sparktrain.tensor;

/** The reference GEMM: a plain triple loop with a double accumulator, the twin every fast kernel is checked against. */
public final class NaiveGemm implements Gemm {
  public static final NaiveGemm INSTANCE = new NaiveGemm();

  @Override
  public void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                    float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                    float beta, float[] c, int cOff, int ldc) {
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < n; j++) {
        double s = 0;
        for (int p = 0; p < k; p++) {
          float av = transA ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
          float bv = transB ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j];
          s += (double) av * bv;
        }
        int ci = cOff + i * ldc + j;
        float prev = beta == 0f ? 0f : beta * c[ci];
        c[ci] = (float) (alpha * s + prev);
      }
    }
  }

  @Override
  public String name() {
    return "naive";
  }
}
