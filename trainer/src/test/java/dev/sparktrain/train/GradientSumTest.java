package dev.sparktrain.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.sparktrain.tensor.Rng;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The gradient sum is bit-identical whatever order the partial sums are merged in, and equals the plain sum. */
class GradientSumTest {
  private static float[][] grads(int partitions, int size, long seed) {
    Rng rng = new Rng(seed);
    float[][] g = new float[partitions][size];
    for (float[] row : g) for (int i = 0; i < size; i++) row[i] = (float) (rng.nextGaussian() * Math.pow(10, rng.nextInt(6) - 3));
    return g;
  }

  private static GradientSum leaf(int partitions, int p, float[][] g) {
    boolean empty = p % 4 == 3;  // some partitions hold no example of the batch
    return GradientSum.leaf(partitions, p,
        new GradientSum.Node(empty ? null : g[p].clone(), empty ? 0 : p + 0.5, empty ? 0 : p + 1, p % 2));
  }

  @Test
  void mergeOrderDoesNotChangeTheBits() {
    for (int partitions = 1; partitions <= 9; partitions++) {
      float[][] g = grads(partitions, 257, partitions);
      GradientSum.Node reference = null;
      for (int trial = 0; trial < 20; trial++) {
        Rng rng = new Rng(trial * 31L + partitions);
        int[] order = rng.permutation(partitions);
        // merge as Spark might: some leaves pre-combined in random groups, then groups combined in random order
        List<GradientSum> groups = new ArrayList<>();
        for (int p : order) {
          if (!groups.isEmpty() && rng.nextInt(2) == 0) groups.get(rng.nextInt(groups.size())).merge(leaf(partitions, p, g));
          else groups.add(leaf(partitions, p, g));
        }
        GradientSum total = GradientSum.empty(partitions);
        for (int i : rng.permutation(groups.size())) total.merge(groups.get(i));
        GradientSum.Node node = total.total();
        if (reference == null) reference = node;
        assertArrayEquals(reference.grad(), node.grad(), "partitions " + partitions + " trial " + trial);
        assertEquals(reference.lossSum(), node.lossSum(), 0);
        assertEquals(reference.count(), node.count());
      }
      double[] plain = new double[257];
      long count = 0;
      for (int p = 0; p < partitions; p++) {
        if (p % 4 == 3) continue;
        count += p + 1;
        for (int i = 0; i < 257; i++) plain[i] += g[p][i];
      }
      assertEquals(count, reference.count());
      for (int i = 0; i < 257; i++) assertEquals(plain[i], reference.grad()[i], 1e-5 * Math.max(1, Math.abs(plain[i])));
    }
  }

  @Test
  void incompleteOrDuplicatedSumsAreRefused() {
    float[][] g = grads(3, 4, 1);
    GradientSum s = GradientSum.empty(3).merge(leaf(3, 0, g)).merge(leaf(3, 2, g));
    assertThrows(IllegalStateException.class, s::total);
    assertThrows(IllegalStateException.class, () -> GradientSum.empty(3).merge(leaf(3, 0, g)).merge(leaf(3, 0, g)));
  }
}
