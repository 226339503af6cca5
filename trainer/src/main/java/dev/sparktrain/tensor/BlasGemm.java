package dev.sparktrain.tensor;

import dev.ludovic.netlib.blas.BLAS;
import dev.ludovic.netlib.blas.JavaBLAS;

/**
 * GEMM through netlib's BLAS, the one Spark MLlib uses: native {@code libblas.so.3} (Debian's OpenBLAS) when
 * it loads, else netlib's Vector API kernel, else pure Java. Row-major calls map onto column-major BLAS by
 * computing Cᵀ = op(B)ᵀ·op(A)ᵀ, which needs no copy.
 */
public final class BlasGemm implements Gemm {
  /**
   * The process-wide instance. The system property {@code sparktrain.blas=java} skips the native library (to
   * compare, or where a broken libblas is installed); the default {@code auto} takes the best that loads.
   */
  public static final BlasGemm INSTANCE = new BlasGemm(
      "java".equals(System.getProperty("sparktrain.blas", "auto")) ? JavaBLAS.getInstance() : BLAS.getInstance());

  private final BLAS blas;

  public BlasGemm(BLAS blas) {
    this.blas = blas;
  }

  @Override
  public void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                    float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                    float beta, float[] c, int cOff, int ldc) {
    if (m == 0 || n == 0) return;
    if (k == 0) {
      for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) c[cOff + i * ldc + j] *= beta;
      return;
    }
    blas.sgemm(transB ? "T" : "N", transA ? "T" : "N", n, m, k, alpha,
        b, bOff, ldb, a, aOff, lda, beta, c, cOff, ldc);
  }

  /** e.g. "netlib:JNIBLAS (OPENBLAS_CORETYPE=SkylakeX)": the kernel choice decides both speed and bits. */
  @Override
  public String name() {
    String core = System.getenv("OPENBLAS_CORETYPE");
    boolean nativeBlas = blas instanceof dev.ludovic.netlib.blas.NativeBLAS;
    return "netlib:" + blas.getClass().getSimpleName() + (nativeBlas && core != null ? " (OPENBLAS_CORETYPE=" + core + ")" : "");
  }
}
