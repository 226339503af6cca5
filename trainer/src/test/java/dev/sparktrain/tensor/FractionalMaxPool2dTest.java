package dev.sparktrain.tensor;

import static dev.sparktrain.tensor.KernelTestData.assertGradient;
import static dev.sparktrain.tensor.KernelTestData.distinct;
import static dev.sparktrain.tensor.KernelTestData.dot;
import static dev.sparktrain.tensor.KernelTestData.gaussian;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Fractional max pooling: its regions tile the input as the paper describes for every length, ratio and offset;
 * its gradient matches central differences; each example gets its own regions; and random regions average to
 * the fixed test-time ones on a smooth input.
 */
class FractionalMaxPool2dTest {
  private static final double SQRT2 = Math.sqrt(2);

  @Test
  void outputIsTheInputOverTheRatioRoundedDown() {
    assertEquals(19, FractionalMaxPool2d.outputLength(28, SQRT2));
    assertEquals(13, FractionalMaxPool2d.outputLength(19, SQRT2));
    FractionalMaxPool2d pool = new FractionalMaxPool2d(3, 28, 19, SQRT2, false);
    assertEquals(19, pool.p());
    assertEquals(13, pool.q());
    assertEquals(3 * 19 * 13, pool.outSize());
    assertEquals(14, new FractionalMaxPool2d(1, 28, 28, 2, true).p());
  }

  @Test
  void rejectsRatiosOutsideOneToTwoAndInputsTooSmall() {
    for (double ratio : new double[] {1, 0.5, Math.nextUp(2.0), 3, Double.NaN, -SQRT2}) {
      assertThrows(IllegalArgumentException.class, () -> new FractionalMaxPool2d(1, 8, 8, ratio, false), "ratio " + ratio);
    }
    assertThrows(IllegalArgumentException.class, () -> new FractionalMaxPool2d(1, 1, 8, SQRT2, false));
    assertThrows(IllegalArgumentException.class, () -> FractionalMaxPool2d.boundaries(8, 5, 1.0));
    assertThrows(IllegalArgumentException.class, () -> FractionalMaxPool2d.boundaries(8, 5, -0.1));
  }

  @Test
  void regionsTileTheInput() {
    Rng rng = new Rng(3);
    for (int in = 2; in <= 80; in++) {
      for (double ratio : new double[] {1.05, SQRT2, 1.5, 1.9, 2}) {
        int out = FractionalMaxPool2d.outputLength(in, ratio);
        if (out < 1) continue;
        double alpha = (double) in / out;
        int small = (int) Math.floor(alpha), large = (int) Math.ceil(alpha);
        for (double u : FractionalMaxPool2dParityTest.uValues(rng)) {
          String what = "in " + in + " ratio " + ratio + " u " + u;
          int[] b = FractionalMaxPool2d.boundaries(in, out, u);
          assertEquals(out + 1, b.length, what);
          assertEquals(0, b[0], what);
          assertEquals(in, b[out], what);
          boolean[] covered = new boolean[in];
          for (int i = 0; i < out; i++) {
            int size = b[i + 1] - b[i];
            assertTrue(size == small || size == large, what + ": region " + i + " has " + size);
            if (alpha <= 2) assertTrue(size == 1 || size == 2, what);
            int end = Math.min(b[i + 1], in - 1);  // the overlapping region's last index, inclusive
            assertTrue(end - b[i] + 1 == (i < out - 1 ? size + 1 : size), what + ": overlapping region " + i);
            for (int k = b[i]; k < b[i + 1]; k++) covered[k] = true;
          }
          for (int k = 0; k < in; k++) assertTrue(covered[k], what + ": index " + k + " uncovered");
        }
      }
    }
  }

  @ParameterizedTest(name = "overlapping={0}")
  @ValueSource(booleans = {false, true})
  void gradientMatchesCentralDifferences(boolean overlapping) {
    int n = 3;
    Rng rng = new Rng(overlapping ? 11 : 13);
    FractionalMaxPool2d pool = new FractionalMaxPool2d(2, 9, 7, SQRT2, overlapping);
    float[] x = distinct(rng, n * pool.inSize()), r = gaussian(rng, n * pool.outSize());
    double[] uRows = {0.5, rng.nextDouble(), rng.nextDouble()}, uCols = {0.5, rng.nextDouble(), rng.nextDouble()};
    float[] y = new float[r.length], dx = new float[x.length];
    pool.forward(x, 0, y, 0, n, uRows, uCols);
    pool.backward(r, 0, dx, 0, n);
    assertGradient(dx, x, 1e-2f, xi -> { pool.forward(xi, 0, y, 0, n, uRows, uCols); return dot(y, 0, r); }, "dX");
  }

  @Test
  void eachExampleUsesItsOwnRegions() {
    FractionalMaxPool2d pool = new FractionalMaxPool2d(2, 13, 13, SQRT2, false);
    float[] one = gaussian(new Rng(19), pool.inSize());
    float[] x = new float[2 * one.length];  // the same example twice
    System.arraycopy(one, 0, x, 0, one.length);
    System.arraycopy(one, 0, x, one.length, one.length);
    int out = pool.outSize();
    float[] y = new float[2 * out], dy = new float[2 * out], dx = new float[x.length];
    Arrays.fill(dy, 1f);

    pool.forward(x, 0, y, 0, 2, new double[] {0.3, 0.3}, new double[] {0.6, 0.6});
    assertArrayEquals(Arrays.copyOfRange(y, 0, out), Arrays.copyOfRange(y, out, 2 * out), "same u, same output");
    pool.forward(x, 0, y, 0, 2, new double[] {0.1, 0.45}, new double[] {0.1, 0.45});
    assertFalse(Arrays.equals(Arrays.copyOfRange(y, 0, out), Arrays.copyOfRange(y, out, 2 * out)), "other u, other output");
    pool.backward(dy, 0, dx, 0, 2);
    assertFalse(Arrays.equals(Arrays.copyOfRange(dx, 0, one.length), Arrays.copyOfRange(dx, one.length, x.length)),
        "other u, other winners");

    float[] solo = new float[out];
    pool.forward(one, 0, solo, 0, 1, new double[] {0.45}, new double[] {0.45});
    assertArrayEquals(solo, Arrays.copyOfRange(y, out, 2 * out), "example 1 pooled alone with its own u");
  }

  /**
   * Every boundary of a random draw is within one index of the fixed (u = 0.5) one, because b_i = ⌊α·i + θ⌋ with
   * θ = frac(α·u) ∈ [0, 1). So each random region is its fixed region moved by at most a row and a column, and on
   * an input that changes by at most L between diagonal neighbours every draw, and hence their average, is within
   * L of the fixed output. The average is not equal to it: u = 0.5 puts θ at α/2 where the mean θ is lower, so
   * the fixed regions sit about a third of a pixel off the average position; the mean gap stays well under L.
   */
  @ParameterizedTest(name = "overlapping={0}")
  @ValueSource(booleans = {false, true})
  void randomRegionsAverageToTheFixedOnesOnASmoothInput(boolean overlapping) {
    int h = 28, w = 28, draws = 2000;
    FractionalMaxPool2d pool = new FractionalMaxPool2d(1, h, w, SQRT2, overlapping);
    float[] x = new float[h * w];
    for (int i = 0; i < h; i++) for (int j = 0; j < w; j++) x[i * w + j] = (float) (Math.sin(i / 7.0) + Math.cos(j / 9.0));
    double lipschitz = 0;  // the largest change to a row, column or diagonal neighbour
    for (int i = 0; i + 1 < h; i++) {
      for (int j = 0; j + 1 < w; j++) {
        float v = x[i * w + j];
        lipschitz = Math.max(lipschitz, Math.max(Math.abs(x[(i + 1) * w + j] - v), Math.abs(x[i * w + j + 1] - v)));
        lipschitz = Math.max(lipschitz, Math.max(Math.abs(x[(i + 1) * w + j + 1] - v), Math.abs(x[(i + 1) * w + j] - x[i * w + j + 1])));
      }
    }
    int out = pool.outSize();
    float[] fixed = new float[out], y = new float[out];
    pool.forward(x, 0, fixed, 0, 1, new double[] {0.5}, new double[] {0.5});

    Rng rng = new Rng(31);
    double[] mean = new double[out];
    for (int d = 0; d < draws; d++) {
      pool.forward(x, 0, y, 0, 1, new double[] {rng.nextDouble()}, new double[] {rng.nextDouble()});
      for (int o = 0; o < out; o++) {
        assertTrue(Math.abs(y[o] - fixed[o]) <= lipschitz + 1e-6, "draw " + d + " output " + o);
        mean[o] += y[o] / (double) draws;
      }
    }
    double worst = 0, total = 0;
    for (int o = 0; o < out; o++) {
      worst = Math.max(worst, Math.abs(mean[o] - fixed[o]));
      total += Math.abs(mean[o] - fixed[o]);
    }
    assertTrue(worst <= lipschitz, "worst |E[y] − y(u = 0.5)| " + worst + " vs L " + lipschitz);
    assertTrue(total / out < lipschitz / 4, "mean |E[y] − y(u = 0.5)| " + total / out + " vs L " + lipschitz);
  }

  @ParameterizedTest(name = "overlapping={0}")
  @ValueSource(booleans = {false, true})
  void aConstantInputGivesTheConstantForEveryDraw(boolean overlapping) {
    FractionalMaxPool2d pool = new FractionalMaxPool2d(3, 17, 23, 1.6, overlapping);
    float[] x = new float[2 * pool.inSize()], y = new float[2 * pool.outSize()];
    Arrays.fill(x, 0.375f);
    Rng rng = new Rng(37);
    for (int d = 0; d < 100; d++) {
      pool.forward(x, 0, y, 0, 2, new double[] {rng.nextDouble(), rng.nextDouble()},
          new double[] {rng.nextDouble(), rng.nextDouble()});
      for (float v : y) assertEquals(0.375f, v);
    }
  }
}
