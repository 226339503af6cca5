package dev.sparktrain.bench;

/** One implementation bound to one set of operands: the unit of work the benchmark times. */
public interface GemmCall extends AutoCloseable {
  /** C = op(A)·op(B) + beta·C on the bound operands, with the shape's transposes and beta. */
  void run();

  /** The current C, offset included, as a heap array (a copy when C lives off-heap). */
  float[] result();

  /** Frees what {@link #run} needed beyond the operands; nothing for heap-only implementations. */
  @Override
  default void close() {}

  /** A call through the trainer's {@link dev.sparktrain.tensor.Gemm} interface on heap arrays. */
  static GemmCall of(dev.sparktrain.tensor.Gemm gemm, GemmOperands ops) {
    GemmShape s = ops.shape;
    int off = ops.offset;
    return new GemmCall() {
      @Override
      public void run() {
        gemm.sgemm(s.transA(), s.transB(), s.m(), s.n(), s.k(), 1f,
            ops.a, off, s.lda(), ops.b, off, s.ldb(), s.beta(), ops.c, off, s.ldc());
      }

      @Override
      public float[] result() {
        return ops.c;
      }
    };
  }
}
