package dev.sparktrain.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.ludovic.netlib.blas.JavaBLAS;
import dev.sparktrain.testing.Tolerance;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every GEMM the trainer may use agrees with the naive triple loop, over awkward shapes, strides and offsets. */
class GemmParityTest {
  static Stream<Arguments> cases() {
    int[][] shapes = {{1, 1, 1}, {3, 5, 7}, {17, 1, 33}, {1, 19, 4}, {64, 10, 256}, {33, 65, 129}, {7, 512, 3}, {128, 31, 784}};
    Gemm[] gemms = {BlasGemm.INSTANCE, new BlasGemm(JavaBLAS.getInstance())};
    Stream.Builder<Arguments> b = Stream.builder();
    for (Gemm g : gemms) {
      for (int[] s : shapes) {
        for (int t = 0; t < 4; t++) b.add(Arguments.of(g, s[0], s[1], s[2], (t & 1) != 0, (t & 2) != 0));
      }
    }
    return b.build();
  }

  @ParameterizedTest(name = "{0} m={1} n={2} k={3} transA={4} transB={5}")
  @MethodSource("cases")
  void matchesNaive(Gemm gemm, int m, int n, int k, boolean transA, boolean transB) {
    Rng rng = new Rng(m * 1000003L + n * 1009L + k);
    // padded leading dimensions and non-zero offsets, as layers use on slices of the flat vector
    int lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 2, ldc = n + 1;
    int aOff = 5, bOff = 7, cOff = 3;
    float[] a = random(rng, aOff + (transA ? k : m) * lda);
    float[] b = random(rng, bOff + (transB ? n : k) * ldb);
    float[] c0 = random(rng, cOff + m * ldc);
    for (float beta : new float[] {0f, 1f, 0.5f}) {
      float[] expected = c0.clone(), actual = c0.clone();
      NaiveGemm.INSTANCE.sgemm(transA, transB, m, n, k, 0.75f, a, aOff, lda, b, bOff, ldb, beta, expected, cOff, ldc);
      gemm.sgemm(transA, transB, m, n, k, 0.75f, a, aOff, lda, b, bOff, ldb, beta, actual, cOff, ldc);
      Tolerance.assertClose(expected, actual, 1e-5, 1e-5 * Math.sqrt(k), gemm.name() + " beta=" + beta);
      // padding between rows and the region before the offset stay untouched
      for (int i = 0; i < cOff; i++) assertArrayEquals(new float[] {c0[i]}, new float[] {actual[i]});
      for (int i = 0; i < m; i++) {
        int pad = cOff + i * ldc + n;
        if (pad < actual.length) assertArrayEquals(new float[] {c0[pad]}, new float[] {actual[pad]}, "padding " + i);
      }
    }
  }

  private static float[] random(Rng rng, int n) {
    float[] x = new float[n];
    for (int i = 0; i < n; i++) x[i] = (float) rng.nextGaussian();
    return x;
  }

}
