package dev.sparktrain.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The project's own single-threaded SGEMM on the JDK Vector API, the trainer's GEMM where no native BLAS loads.
 *
 * <p>C(M×N) = alpha·op(A)(M×K)·op(B)(K×N) + beta·C, row-major, as {@link Gemm}. The classic blocked design
 * (Goto and van de Geijn, "Anatomy of high-performance matrix multiplication", TOMS 2008):
 * <pre>
 *   for each column block jc of NC columns:
 *     for each depth block pc of KC:            pack op(B)[pc, jc] into panels of NR columns (zero-padded)
 *       for each row block ic of MC rows:       pack op(A)[ic, pc] into panels of MR rows (zero-padded)
 *         for each NR panel, each MR panel:     micro-kernel: an MR×NR tile of FMA accumulators over KC,
 *                                               then C = alpha·tile + (pc == 0 ? beta·C : C)
 * </pre>
 * MR = 6 rows and NR = 2 vectors (16 floats with 256-bit AVX2) keep 12 accumulators, two B vectors and one
 * broadcast A value in the 16 vector registers. Packing makes every operand of the micro-kernel contiguous
 * whatever the transposes, offsets and leading dimensions; the pack buffers are per thread and reused. A
 * narrow C (N &lt; NR ≤ M, the output layer) is computed as Cᵀ = op(B)ᵀ·op(A)ᵀ, whose rows fill the tiles.
 *
 * <p>Deterministic: each C element is the same fixed sequence of FMAs (p ascending within a depth block,
 * depth blocks ascending), which depends only on the shape, never on threads or timing. The bits differ from
 * OpenBLAS's and from the naive GEMM's, within rounding. beta = 0 overwrites C without reading it (NaN in C
 * stays out), as BLAS specifies.
 */
public final class VectorGemm implements Gemm {
  public static final VectorGemm INSTANCE = new VectorGemm();

  private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
  private static final int VL = S.length();
  static final int MR = 6;
  static final int NR = 2 * VL;
  static final int KC = 256;
  static final int MC = 16 * MR;
  static final int NC = Math.max(NR, (1024 / NR) * NR);

  /** Per-thread pack buffers, grown to the largest block seen and then reused. */
  private static final class Buffers {
    float[] a = new float[MC * KC];
    float[] b = new float[0];
    final float[] tile = new float[MR * NR];
    /** Cᵀ of a narrow product. */
    float[] t = new float[0];
  }

  private static final ThreadLocal<Buffers> BUFFERS = ThreadLocal.withInitial(Buffers::new);

  @Override
  public void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                    float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                    float beta, float[] c, int cOff, int ldc) {
    if (m == 0 || n == 0) return;
    if (k == 0 || alpha == 0f) {
      scale(m, n, beta, c, cOff, ldc);
      return;
    }
    Buffers buf = BUFFERS.get();
    if (n < NR && m >= NR) {
      // Narrow C (the 10-class output layer): a tile would leave most of its NR columns empty, so compute
      // Cᵀ(N×M) = op(B)ᵀ·op(A)ᵀ into scratch, whose M-wide rows fill the tiles, and write C from it.
      if (buf.t.length < n * m) buf.t = new float[n * m];
      float[] t = buf.t;
      blocked(!transB, !transA, n, m, k, b, bOff, ldb, a, aOff, lda, 1f, 0f, t, 0, m, buf);
      for (int i = 0; i < m; i++) {
        int row = cOff + i * ldc;
        for (int j = 0; j < n; j++) {
          float x = t[j * m + i];
          c[row + j] = beta == 0f ? alpha * x : Math.fma(alpha, x, beta == 1f ? c[row + j] : beta * c[row + j]);
        }
      }
      return;
    }
    blocked(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, alpha, beta, c, cOff, ldc, buf);
  }

  /** The blocked GEMM proper, for any shape. */
  private static void blocked(boolean transA, boolean transB, int m, int n, int k, float[] a, int aOff, int lda,
                              float[] b, int bOff, int ldb, float alpha, float beta, float[] c, int cOff, int ldc,
                              Buffers buf) {
    for (int jc = 0; jc < n; jc += NC) {
      int nc = Math.min(NC, n - jc);
      int ncPadded = roundUp(nc, NR);
      for (int pc = 0; pc < k; pc += KC) {
        int kc = Math.min(KC, k - pc);
        if (buf.b.length < ncPadded * kc) buf.b = new float[roundUp(nc, NR) * KC];
        packB(transB, b, bOff, ldb, pc, kc, jc, nc, buf.b);
        float betaBlock = pc == 0 ? beta : 1f;
        for (int ic = 0; ic < m; ic += MC) {
          int mc = Math.min(MC, m - ic);
          packA(transA, a, aOff, lda, ic, mc, pc, kc, buf.a);
          for (int jr = 0; jr < nc; jr += NR) {
            int nr = Math.min(NR, nc - jr);
            int bp = jr * kc;
            for (int ir = 0; ir < mc; ir += MR) {
              int mr = Math.min(MR, mc - ir);
              kernel(kc, buf.a, ir * kc, buf.b, bp, c, cOff + (ic + ir) * ldc + jc + jr, ldc,
                  mr, nr, alpha, betaBlock, buf.tile);
            }
          }
        }
      }
    }
  }

  /**
   * Packs op(B)[pc..pc+kc, jc..jc+nc] as consecutive panels of NR columns; panel q holds, for each p, the NR
   * values op(B)[pc+p, jc+q·NR ..], zero beyond column nc.
   */
  private static void packB(boolean transB, float[] b, int bOff, int ldb, int pc, int kc, int jc, int nc,
                            float[] dst) {
    for (int jr = 0; jr < nc; jr += NR) {
      int nr = Math.min(NR, nc - jr);
      int d = jr * kc;
      if (!transB) {
        int src = bOff + pc * ldb + jc + jr;
        if (nr == NR) {
          for (int p = 0; p < kc; p++, src += ldb, d += NR) System.arraycopy(b, src, dst, d, NR);
        } else {
          for (int p = 0; p < kc; p++, src += ldb, d += NR) {
            for (int j = 0; j < nr; j++) dst[d + j] = b[src + j];
            for (int j = nr; j < NR; j++) dst[d + j] = 0f;
          }
        }
      } else {
        // op(B)[p, j] = b[j·ldb + p]: each column of the panel is a contiguous run of B
        for (int j = 0; j < nr; j++) {
          int src = bOff + (jc + jr + j) * ldb + pc;
          for (int p = 0; p < kc; p++) dst[d + p * NR + j] = b[src + p];
        }
        for (int j = nr; j < NR; j++) {
          for (int p = 0; p < kc; p++) dst[d + p * NR + j] = 0f;
        }
      }
    }
  }

  /**
   * Packs op(A)[ic..ic+mc, pc..pc+kc] as consecutive panels of MR rows; panel q holds, for each p, the MR
   * values op(A)[ic+q·MR .., pc+p], zero beyond row mc.
   */
  private static void packA(boolean transA, float[] a, int aOff, int lda, int ic, int mc, int pc, int kc,
                            float[] dst) {
    for (int ir = 0; ir < mc; ir += MR) {
      int mr = Math.min(MR, mc - ir);
      int d = ir * kc;
      if (!transA) {
        // op(A)[i, p] = a[i·lda + p]: each row of the panel is a contiguous run of A
        for (int r = 0; r < mr; r++) {
          int src = aOff + (ic + ir + r) * lda + pc;
          for (int p = 0; p < kc; p++) dst[d + p * MR + r] = a[src + p];
        }
      } else {
        // op(A)[i, p] = a[p·lda + i]: the MR values of one p are contiguous
        int src = aOff + pc * lda + ic + ir;
        for (int p = 0; p < kc; p++, src += lda) {
          for (int r = 0; r < mr; r++) dst[d + p * MR + r] = a[src + r];
        }
      }
      for (int r = mr; r < MR; r++) {
        for (int p = 0; p < kc; p++) dst[d + p * MR + r] = 0f;
      }
    }
  }

  /**
   * One MR×NR tile: acc = Σp A[p, 0..MR)ᵀ·B[p, 0..NR) over the packed panels, then C = alpha·acc + beta·C on
   * the mr×nr corner that exists.
   */
  private static void kernel(int kc, float[] ap, int aOff, float[] bp, int bOff, float[] c, int ci, int ldc,
                             int mr, int nr, float alpha, float beta, float[] tile) {
    FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
    FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
    FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
    FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
    FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
    FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
    for (int p = 0; p < kc; p++) {
      int bi = bOff + p * NR, ai = aOff + p * MR;
      FloatVector b0 = FloatVector.fromArray(S, bp, bi);
      FloatVector b1 = FloatVector.fromArray(S, bp, bi + VL);
      FloatVector av = FloatVector.broadcast(S, ap[ai]);
      c00 = av.fma(b0, c00);
      c01 = av.fma(b1, c01);
      av = FloatVector.broadcast(S, ap[ai + 1]);
      c10 = av.fma(b0, c10);
      c11 = av.fma(b1, c11);
      av = FloatVector.broadcast(S, ap[ai + 2]);
      c20 = av.fma(b0, c20);
      c21 = av.fma(b1, c21);
      av = FloatVector.broadcast(S, ap[ai + 3]);
      c30 = av.fma(b0, c30);
      c31 = av.fma(b1, c31);
      av = FloatVector.broadcast(S, ap[ai + 4]);
      c40 = av.fma(b0, c40);
      c41 = av.fma(b1, c41);
      av = FloatVector.broadcast(S, ap[ai + 5]);
      c50 = av.fma(b0, c50);
      c51 = av.fma(b1, c51);
    }
    // Through the tile buffer rather than passing vectors to a helper: a helper C2 does not inline (the kernel
    // is large) would box every vector it is handed.
    c00.intoArray(tile, 0);
    c01.intoArray(tile, VL);
    c10.intoArray(tile, NR);
    c11.intoArray(tile, NR + VL);
    c20.intoArray(tile, 2 * NR);
    c21.intoArray(tile, 2 * NR + VL);
    c30.intoArray(tile, 3 * NR);
    c31.intoArray(tile, 3 * NR + VL);
    c40.intoArray(tile, 4 * NR);
    c41.intoArray(tile, 4 * NR + VL);
    c50.intoArray(tile, 5 * NR);
    c51.intoArray(tile, 5 * NR + VL);
    writeTile(tile, c, ci, ldc, mr, nr, alpha, beta);
  }

  /**
   * C[r, j] = alpha·tile[r, j] + beta·C[r, j] for the mr×nr corner, rounded once (an FMA), with beta 0 not
   * reading C. Full rows go by vectors; both paths give the same bits.
   */
  private static void writeTile(float[] tile, float[] c, int ci, int ldc, int mr, int nr, float alpha, float beta) {
    for (int r = 0; r < mr; r++) {
      int row = ci + r * ldc, t = r * NR;
      if (nr == NR) {
        for (int j = 0; j < NR; j += VL) {
          FloatVector v = FloatVector.fromArray(S, tile, t + j);
          if (beta == 0f) {
            v.mul(alpha).intoArray(c, row + j);
          } else {
            FloatVector old = FloatVector.fromArray(S, c, row + j);
            v.fma(FloatVector.broadcast(S, alpha), beta == 1f ? old : old.mul(beta)).intoArray(c, row + j);
          }
        }
      } else {
        for (int j = 0; j < nr; j++) {
          float x = tile[t + j];
          c[row + j] = beta == 0f ? alpha * x : Math.fma(alpha, x, beta == 1f ? c[row + j] : beta * c[row + j]);
        }
      }
    }
  }

  /** C = beta·C, with beta 0 writing zeros (no NaN from C survives). */
  private static void scale(int m, int n, float beta, float[] c, int cOff, int ldc) {
    for (int i = 0; i < m; i++) {
      int row = cOff + i * ldc;
      for (int j = 0; j < n; j++) c[row + j] = beta == 0f ? 0f : beta * c[row + j];
    }
  }

  private static int roundUp(int x, int multiple) {
    return (x + multiple - 1) / multiple * multiple;
  }

  /** e.g. "sparktrain:VectorGemm (Vector API, 256-bit)": the vector width decides the bits. */
  @Override
  public String name() {
    return "sparktrain:VectorGemm (Vector API, " + S.vectorBitSize() + "-bit)";
  }
}
