package dev.sparktrain.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Minibatches sample without replacement within an epoch, and do not depend on the partitioning. */
class MinibatchPlanTest {
  @Test
  void everyExampleOncePerEpochWhateverThePartitioning() {
    MinibatchPlan plan = new MinibatchPlan(7, 1000, 128);
    assertEquals(8, plan.iterationsPerEpoch());
    for (int[] bounds : new int[][] {{0, 1000}, {0, 500, 1000}, {0, 1, 333, 999, 1000}}) {
      int[] seen = new int[1000];
      for (int t = 0; t < plan.iterationsPerEpoch(); t++) {
        int size = 0;
        for (int p = 0; p + 1 < bounds.length; p++) {
          for (int r : plan.localRows(3, t, bounds[p], bounds[p + 1])) seen[bounds[p] + r]++;
          size += plan.localRows(3, t, bounds[p], bounds[p + 1]).length;
        }
        assertEquals(t < 7 ? 128 : 1000 - 7 * 128, size);
      }
      int[] ones = new int[1000];
      Arrays.fill(ones, 1);
      assertArrayEquals(ones, seen, "partitioning " + Arrays.toString(bounds));
    }
  }

  @Test
  void epochsAndSeedsDiffer() {
    MinibatchPlan a = new MinibatchPlan(7, 1000, 128);
    assertFalse(Arrays.equals(a.localRows(0, 0, 0, 1000), a.localRows(1, 0, 0, 1000)));
    assertFalse(Arrays.equals(a.localRows(0, 0, 0, 1000), new MinibatchPlan(8, 1000, 128).localRows(0, 0, 0, 1000)));
    assertArrayEquals(a.localRows(2, 5, 100, 700), new MinibatchPlan(7, 1000, 128).localRows(2, 5, 100, 700));
  }
}
