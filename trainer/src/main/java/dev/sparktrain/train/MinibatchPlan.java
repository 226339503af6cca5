package dev.sparktrain.train;

import dev.sparktrain.tensor.Rng;
import java.io.Serializable;

/**
 * Which training examples make up each global minibatch. Every epoch is one seeded permutation of all n training
 * examples (sampling without replacement); iteration t takes positions [tB, (t+1)B). A partition that holds the
 * global training indices [lo, hi) draws exactly the members of the batch that fall in its range.
 *
 * <p>Because the batch is defined globally, its composition does not depend on how the data are partitioned:
 * only the floating-point summation order does.
 */
public record MinibatchPlan(long seed, int n, int batchSize) implements Serializable {
  public MinibatchPlan {
    if (n <= 0) throw new dev.sparktrain.UserError("the training split is empty (check data.validation_fraction and the data)");
  }

  public int iterationsPerEpoch() {
    return (int) ((n + (long) batchSize - 1) / batchSize);
  }

  /** The examples of iteration t that lie in [lo, hi), as indices relative to lo, in batch order. */
  public int[] localRows(int epoch, int t, int lo, int hi) {
    int[] perm = permutation(epoch);
    int from = t * batchSize, to = Math.min(n, from + batchSize);
    int count = 0;
    for (int i = from; i < to; i++) if (perm[i] >= lo && perm[i] < hi) count++;
    int[] out = new int[count];
    for (int i = from, j = 0; i < to; i++) if (perm[i] >= lo && perm[i] < hi) out[j++] = perm[i] - lo;
    return out;
  }

  /** The permutation of epoch e, from the stream (seed, SHUFFLE, e); memoized for the last epoch asked. */
  public int[] permutation(int epoch) {
    synchronized (MEMO) {
      if (MEMO.perm == null || MEMO.seed != seed || MEMO.n != n || MEMO.epoch != epoch) {
        MEMO.perm = Rng.derive(seed, Rng.SHUFFLE, epoch).permutation(n);
        MEMO.seed = seed;
        MEMO.n = n;
        MEMO.epoch = epoch;
      }
      return MEMO.perm;
    }
  }

  /** A pure memo shared by the tasks of one JVM: recomputing gives the same permutation. */
  private static final class Memo {
    long seed;
    int n;
    int epoch;
    int[] perm;
  }

  private static final Memo MEMO = new Memo();
}
