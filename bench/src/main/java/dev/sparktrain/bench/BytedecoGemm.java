package dev.sparktrain.bench;

import static org.bytedeco.openblas.global.openblas_nolapack.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_sgemm;

import dev.sparktrain.tensor.Gemm;
import java.nio.FloatBuffer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.openblas.global.openblas_nolapack;

/**
 * GEMM through org.bytedeco's bundled OpenBLAS, {@code cblas_sgemm} in row-major order on heap arrays.
 *
 * <p>JavaCPP copies every heap array argument in, and back out, on each call: the whole array, not just the
 * part the offsets select. That copy is part of what this candidate measures. Offsets other than 0 go through
 * heap {@link FloatBuffer}s positioned at the offset, which JavaCPP copies the same way. Not a sliced buffer:
 * JavaCPP 1.5.11 aborts the JVM ("free(): invalid pointer") on a heap buffer whose array offset is not 0.
 */
public final class BytedecoGemm implements Gemm {
  /** Loads the native library now, so that a missing one fails here rather than on the first call. */
  public BytedecoGemm() {
    Loader.load(openblas_nolapack.class);
  }

  @Override
  public void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                    float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                    float beta, float[] c, int cOff, int ldc) {
    if (m == 0 || n == 0) return;
    int ta = transA ? CblasTrans : CblasNoTrans, tb = transB ? CblasTrans : CblasNoTrans;
    if ((aOff | bOff | cOff) == 0) {
      cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    } else {
      cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, alpha, positioned(a, aOff), lda, positioned(b, bOff), ldb,
          beta, positioned(c, cOff), ldc);
    }
  }

  private static FloatBuffer positioned(float[] x, int off) {
    return FloatBuffer.wrap(x, off, x.length - off);
  }

  @Override
  public String name() {
    return "bytedeco:cblas_sgemm(float[])";
  }
}
