package dev.sparktrain.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.sparktrain.testing.Tolerance;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.opentest4j.AssertionFailedError;

/**
 * {@link VectorGemm} agrees with the naive triple loop: on sizes around its tile (MR rows, NR columns) and block
 * (KC, MC, NC) edges, every transpose case, padded leading dimensions and offsets, alpha ≠ 1, beta 0, 1 and
 * 0.5; on every GEMM the mlp and the cnn run; and it gives the same bits on every call.
 */
class VectorGemmParityTest {
  private static final Gemm FAST = VectorGemm.INSTANCE;
  private static final int[] ODD = {1, 7, 9, 17, 63, 65};

  /** Every combination of awkward sizes, each transpose case. */
  static Stream<Arguments> oddShapes() {
    Stream.Builder<Arguments> b = Stream.builder();
    for (int m : ODD) for (int n : ODD) for (int k : ODD) for (int t = 0; t < 4; t++) {
      b.add(Arguments.of(m, n, k, (t & 1) != 0, (t & 2) != 0));
    }
    return b.build();
  }

  /** Sizes that cross the blocks: k over KC, m over MC, n over NC, and partial tiles at each end. */
  static Stream<Arguments> blockEdges() {
    int[][] shapes = {
        {VectorGemm.MR, VectorGemm.NR, VectorGemm.KC}, {VectorGemm.MR + 1, VectorGemm.NR + 1, VectorGemm.KC + 1},
        {VectorGemm.MC - 1, 33, 2 * VectorGemm.KC - 1}, {VectorGemm.MC + 5, 40, 300},
        {13, VectorGemm.NC + 3, 20}, {2 * VectorGemm.MC + 1, VectorGemm.NC - 1, VectorGemm.KC + 7}};
    return withTransposes(shapes);
  }

  /**
   * The GEMMs of the mlp (784-512-256-10, batch 64: Dense fwd, dW, dX) and of the cnn (per image: conv1 im2col
   * 32×9·9×784, conv2 64×288·288×196 and their dW and dX; the dense layers 3136→128 and 128→10).
   */
  static Stream<Arguments> trainerShapes() {
    Stream.Builder<Arguments> b = Stream.builder();
    int[] mlp = {784, 512, 256, 10};
    for (int l = 1; l < mlp.length; l++) dense(b, 64, mlp[l - 1], mlp[l]);
    dense(b, 64, 3136, 128);
    dense(b, 64, 128, 10);
    conv(b, 32, 9, 784);
    conv(b, 64, 288, 196);
    return b.build();
  }

  private static void dense(Stream.Builder<Arguments> b, int batch, int in, int out) {
    b.add(Arguments.of(batch, out, in, false, false)); // y = x·W
    b.add(Arguments.of(in, out, batch, true, false)); // dW = xᵀ·dY
    b.add(Arguments.of(batch, in, out, false, true)); // dX = dY·Wᵀ
  }

  private static void conv(Stream.Builder<Arguments> b, int outCh, int crs, int pq) {
    b.add(Arguments.of(outCh, pq, crs, false, false)); // y = W·cols
    b.add(Arguments.of(outCh, crs, pq, false, true)); // dW = dY·colsᵀ
    b.add(Arguments.of(crs, pq, outCh, true, false)); // dcols = Wᵀ·dY
  }

  private static Stream<Arguments> withTransposes(int[][] shapes) {
    Stream.Builder<Arguments> b = Stream.builder();
    for (int[] s : shapes) for (int t = 0; t < 4; t++) b.add(Arguments.of(s[0], s[1], s[2], (t & 1) != 0, (t & 2) != 0));
    return b.build();
  }

  @ParameterizedTest(name = "m={0} n={1} k={2} transA={3} transB={4}")
  @MethodSource({"oddShapes", "blockEdges"})
  void matchesNaiveOnAwkwardShapes(int m, int n, int k, boolean transA, boolean transB) {
    assertMatchesNaive(m, n, k, transA, transB, 0.75f);
  }

  @ParameterizedTest(name = "m={0} n={1} k={2} transA={3} transB={4}")
  @MethodSource("trainerShapes")
  void matchesNaiveOnTrainerShapes(int m, int n, int k, boolean transA, boolean transB) {
    assertMatchesNaive(m, n, k, transA, transB, 1f);
  }

  private static void assertMatchesNaive(int m, int n, int k, boolean transA, boolean transB, float alpha) {
    Operands o = new Operands(m, n, k, transA, transB);
    for (float beta : new float[] {0f, 1f, 0.5f}) {
      float[] expected = o.c.clone(), actual = o.c.clone();
      NaiveGemm.INSTANCE.sgemm(transA, transB, m, n, k, alpha, o.a, o.aOff, o.lda, o.b, o.bOff, o.ldb, beta,
          expected, o.cOff, o.ldc);
      FAST.sgemm(transA, transB, m, n, k, alpha, o.a, o.aOff, o.lda, o.b, o.bOff, o.ldb, beta,
          actual, o.cOff, o.ldc);
      Tolerance.assertClose(expected, actual, 1e-5, 1e-5 * Math.sqrt(k), "beta=" + beta);
      // the region before the offset and the padding after each row stay untouched
      for (int i = 0; i < o.cOff; i++) assertEquals(o.c[i], actual[i], "before offset " + i);
      for (int i = 0; i < m; i++) {
        for (int pad = o.cOff + i * o.ldc + n; pad < o.cOff + (i + 1) * o.ldc && pad < actual.length; pad++) {
          assertEquals(o.c[pad], actual[pad], "padding of row " + i);
        }
      }
    }
  }

  /** The comparison above can fail: a 1% error in alpha is far outside its tolerance. */
  @Test
  void comparisonDetectsAWrongResult() {
    Operands o = new Operands(17, 33, 65, false, false);
    float[] expected = o.c.clone(), actual = o.c.clone();
    NaiveGemm.INSTANCE.sgemm(false, false, 17, 33, 65, 1f, o.a, o.aOff, o.lda, o.b, o.bOff, o.ldb, 0f,
        expected, o.cOff, o.ldc);
    FAST.sgemm(false, false, 17, 33, 65, 1.01f, o.a, o.aOff, o.lda, o.b, o.bOff, o.ldb, 0f,
        actual, o.cOff, o.ldc);
    assertThrows(AssertionFailedError.class,
        () -> Tolerance.assertClose(expected, actual, 1e-5, 1e-5 * Math.sqrt(65), "wrong alpha"));
  }

  /** beta = 0 overwrites C: NaN and infinity already there do not reach the result. */
  @ParameterizedTest(name = "m={0} n={1} k={2} transA={3} transB={4}")
  @MethodSource("blockEdges")
  void betaZeroIgnoresGarbageInC(int m, int n, int k, boolean transA, boolean transB) {
    Operands o = new Operands(m, n, k, transA, transB);
    float[] expected = new float[o.c.length], actual = new float[o.c.length];
    for (int i = 0; i < actual.length; i++) actual[i] = i % 2 == 0 ? Float.NaN : Float.POSITIVE_INFINITY;
    NaiveGemm.INSTANCE.sgemm(transA, transB, m, n, k, 0.75f, o.a, o.aOff, o.lda, o.b, o.bOff, o.ldb, 0f,
        expected, o.cOff, o.ldc);
    FAST.sgemm(transA, transB, m, n, k, 0.75f, o.a, o.aOff, o.lda, o.b, o.bOff, o.ldb, 0f,
        actual, o.cOff, o.ldc);
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < n; j++) {
        int at = o.cOff + i * o.ldc + j;
        assertFalse(Float.isNaN(actual[at]) || Float.isInfinite(actual[at]), "C[" + i + "," + j + "] = " + actual[at]);
        assertEquals(expected[at], actual[at], 1e-5 * Math.sqrt(k) + 1e-5 * Math.abs(expected[at]));
      }
    }
  }

  /** k = 0: C = beta·C, and beta 0 clears NaN. */
  @Test
  void emptyDepthScalesC() {
    float[] c = {Float.NaN, 2f, 3f, 4f};
    FAST.sgemm(false, false, 2, 2, 0, 1f, new float[0], 0, 1, new float[0], 0, 2, 0f, c, 0, 2);
    assertArrayEquals(new float[] {0f, 0f, 0f, 0f}, c);
    float[] d = {1f, 2f, 3f, 4f};
    FAST.sgemm(false, false, 2, 2, 0, 1f, new float[0], 0, 1, new float[0], 0, 2, 0.5f, d, 0, 2);
    assertArrayEquals(new float[] {0.5f, 1f, 1.5f, 2f}, d);
  }

  /**
   * The same inputs give the same bits: twice on this thread (whose pack buffers hold another shape's data in
   * between) and once on a fresh thread with new buffers.
   */
  @ParameterizedTest(name = "m={0} n={1} k={2} transA={3} transB={4}")
  @MethodSource("trainerShapes")
  void deterministic(int m, int n, int k, boolean transA, boolean transB) throws InterruptedException {
    Operands o = new Operands(m, n, k, transA, transB);
    float[] first = run(o, m, n, k, transA, transB);
    Operands other = new Operands(m + 3, n + 5, k + 7, !transA, transB);
    run(other, m + 3, n + 5, k + 7, !transA, transB);
    float[] second = run(o, m, n, k, transA, transB);
    AtomicReference<float[]> third = new AtomicReference<>();
    Thread t = new Thread(() -> third.set(run(o, m, n, k, transA, transB)));
    t.start();
    t.join();
    assertArrayEquals(first, second);
    assertArrayEquals(first, third.get());
  }

  private static float[] run(Operands o, int m, int n, int k, boolean transA, boolean transB) {
    float[] c = o.c.clone();
    FAST.sgemm(transA, transB, m, n, k, 1f, o.a, o.aOff, o.lda, o.b, o.bOff, o.ldb, 1f, c, o.cOff, o.ldc);
    return c;
  }

  /** Random operands with leading dimensions wider than the rows and non-zero offsets, as layers use on slices. */
  private static final class Operands {
    final int lda, ldb, ldc, aOff = 5, bOff = 7, cOff = 3;
    final float[] a, b, c;

    Operands(int m, int n, int k, boolean transA, boolean transB) {
      Rng rng = new Rng(m * 1000003L + n * 1009L + k + (transA ? 17 : 0) + (transB ? 31 : 0));
      lda = (transA ? m : k) + 3;
      ldb = (transB ? k : n) + 2;
      ldc = n + 1;
      a = random(rng, aOff + (transA ? k : m) * lda);
      b = random(rng, bOff + (transB ? n : k) * ldb);
      c = random(rng, cOff + m * ldc);
    }

    private static float[] random(Rng rng, int n) {
      float[] x = new float[n];
      for (int i = 0; i < n; i++) x[i] = (float) rng.nextGaussian();
      return x;
    }
  }
}
