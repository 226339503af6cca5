package dev.sparktrain.tensor;

/**
 * Single-precision general matrix multiply over row-major buffers.
 *
 * <p>C(M×N) = alpha·op(A)·op(B) + beta·C, where op(A) is M×K and op(B) is K×N. A is stored M×K with
 * row stride lda, or K×M when transposed; B likewise. Buffers are addressed by offset so that layers
 * work on slices of the flat parameter vector without copying.
 */
public interface Gemm {
  void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
             float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
             float beta, float[] c, int cOff, int ldc);

  /**
   * What runs, one line, for logs, result JSON and benchmarks: e.g. "sparktrain:VectorGemm (Vector API,
   * 256-bit)" or "netlib:JNIBLAS → /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 (OpenBLAS)".
   */
  String name();

  /**
   * The GEMM the trainer uses: native BLAS through netlib when it loads, else {@link VectorGemm}; the system
   * property {@code sparktrain.blas} (auto, java, vector, netlib-java) overrides, see {@link GemmChoice}.
   */
  static Gemm best() {
    return GemmChoice.BEST;
  }
}
