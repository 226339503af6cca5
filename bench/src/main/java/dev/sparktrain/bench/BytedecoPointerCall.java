package dev.sparktrain.bench;

import static org.bytedeco.openblas.global.openblas_nolapack.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_sgemm;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.openblas.global.openblas_nolapack;

/**
 * {@code cblas_sgemm} of org.bytedeco's OpenBLAS on operands that live off-heap in {@link FloatPointer}s.
 *
 * <p>The operands are copied off-heap once, when bound; {@link #run} then copies nothing. This is the cost a
 * trainer would pay if it kept its parameters and activations off-heap, which is why it is not a
 * {@link dev.sparktrain.tensor.Gemm}: that interface takes heap arrays.
 */
final class BytedecoPointerCall implements GemmCall {
  private final GemmShape shape;
  private final FloatPointer a, b, c;
  private final int length;

  BytedecoPointerCall(GemmOperands ops) {
    Loader.load(openblas_nolapack.class);
    this.shape = ops.shape;
    this.length = ops.c.length;
    this.a = new FloatPointer(ops.a);
    this.b = new FloatPointer(ops.b);
    this.c = new FloatPointer(ops.c);
    a.position(ops.offset);
    b.position(ops.offset);
    c.position(ops.offset);
  }

  @Override
  public void run() {
    GemmShape s = shape;
    cblas_sgemm(CblasRowMajor, s.transA() ? CblasTrans : CblasNoTrans, s.transB() ? CblasTrans : CblasNoTrans,
        s.m(), s.n(), s.k(), 1f, a, s.lda(), b, s.ldb(), s.beta(), c, s.ldc());
  }

  @Override
  public float[] result() {
    float[] out = new float[length];
    long position = c.position();
    c.position(0).get(out);
    c.position(position);
    return out;
  }

  @Override
  public void close() {
    a.close();
    b.close();
    c.close();
  }
}
