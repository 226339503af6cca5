package dev.sparktrain.bench;

import dev.sparktrain.tensor.Rng;

/**
 * The A, B and C buffers of one GEMM, filled from a seed with uniform values in [-1, 1).
 *
 * <p>Each buffer starts with {@code offset} floats of padding, so a kernel that ignores its offset argument
 * fails the parity check. The benchmark uses offset 0: buffers exactly the size of their matrix.
 */
public final class GemmOperands {
  public final GemmShape shape;
  public final int offset;
  public final float[] a, b, c;

  public GemmOperands(GemmShape shape, int offset, long seed) {
    if (offset < 0) throw new IllegalArgumentException("offset must be >= 0: " + offset);
    this.shape = shape;
    this.offset = offset;
    Rng rng = Rng.derive(seed, Rng.INIT, shape.m(), shape.n(), shape.k());
    this.a = filled(offset, shape.m() * shape.k(), rng);
    this.b = filled(offset, shape.k() * shape.n(), rng);
    this.c = filled(offset, shape.m() * shape.n(), rng);
  }

  private static float[] filled(int offset, int size, Rng rng) {
    float[] x = new float[offset + size];
    for (int i = 0; i < x.length; i++) x[i] = 2f * rng.nextFloat() - 1f;
    return x;
  }
}
