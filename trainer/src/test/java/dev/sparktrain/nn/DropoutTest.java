package dev.sparktrain.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.sparktrain.UserError;
import dev.sparktrain.testing.GradientCheck;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Inverted dropout: its statistics, its gradient with the mask fixed, and masks that follow the example. */
class DropoutTest {
  private static long[] ids(long from, int n) {
    long[] ids = new long[n];
    for (int i = 0; i < n; i++) ids[i] = from + i;
    return ids;
  }

  @Test
  void dropsTheStatedFractionAndKeepsTheExpectation() {
    int n = 100, d = 1000;  // 10^5 draws
    double p = 0.3;
    Dropout drop = new Dropout(d, p, 2);
    drop.setContext(new StepContext(42, 7, ids(0, n)));
    float[] x = new float[n * d];
    Arrays.fill(x, 1f);
    float[] train = drop.forward(null, 0, x, n, true).clone();
    float[] test = drop.forward(null, 0, x, n, false);
    long zeros = 0;
    double trainMean = 0, testMean = 0;
    for (int i = 0; i < x.length; i++) {
      if (train[i] == 0f) zeros++;
      trainMean += train[i];
      testMean += test[i];
    }
    assertEquals(p, (double) zeros / x.length, 0.01, "fraction of zeros");
    assertEquals(testMean / x.length, trainMean / x.length, 0.01, "expected activation, train vs test");
    assertEquals(1.0, testMean / x.length, 0, "test mode is the identity");
  }

  @Test
  void gradientWithTheMaskFixed() {
    Dropout drop = new Dropout(9, 0.4, 0);
    drop.setContext(new StepContext(3, 11, ids(100, 4)));
    GradientCheck.checkLayer(drop, 4, 5, 0f);
  }

  @Test
  void theMaskFollowsTheExampleNotItsPositionInTheBatch() {
    int d = 64;
    Dropout a = new Dropout(d, 0.5, 1), b = new Dropout(d, 0.5, 1);
    float[] x = new float[6 * d];
    Arrays.fill(x, 1f);
    a.setContext(new StepContext(9, 4, new long[] {42, 1, 2}));
    b.setContext(new StepContext(9, 4, new long[] {5, 6, 7, 8, 9, 42}));
    float[] ya = a.forward(null, 0, x, 3, true), yb = b.forward(null, 0, x, 6, true);
    assertArrayEquals(Arrays.copyOfRange(ya, 0, d), Arrays.copyOfRange(yb, 5 * d, 6 * d), "example 42");
    b.setContext(new StepContext(9, 5, new long[] {42}));
    assertFalse(Arrays.equals(Arrays.copyOfRange(ya, 0, d), Arrays.copyOfRange(b.forward(null, 0, x, 1, true), 0, d)),
        "another step draws another mask");
  }

  @Test
  void specParsesAndValidates() {
    assertEquals("dense(64), relu, dropout(0.2), dense(10)",
        LayerSpec.format(LayerSpec.parseList("dense(64), relu, dropout(0.2), dense(10)", "model.layers")));
    assertEquals("model.layers: dropout(1.0): p is the drop probability and must be in [0, 1)",
        assertThrows(UserError.class, () -> LayerSpec.parseList("dropout(1)", "model.layers")).getMessage());
    ModelSpec spec = ModelSpec.parse(5, "dense(8), relu, dropout(0.5), dense(3)", 3, Init.HE);
    assertEquals(5 * 8 + 8 + 8 * 3 + 3, spec.paramCount());
  }
}
