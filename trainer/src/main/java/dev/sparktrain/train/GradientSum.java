package dev.sparktrain.train;

import java.io.Serializable;
import java.util.TreeMap;

/**
 * The gradient sum, loss sum and example count of a step, combined over partitions along a fixed binary tree of
 * partition indices. Whatever order Spark merges partial results in, every tree node is computed as
 * left + right from the same operands, so the float32 result is bit-identical from run to run.
 *
 * <p>Partition p is leaf (0, p); node (l, i) covers partitions [i·2^l, (i+1)·2^l). A node whose sibling covers
 * no partition moves up unchanged. The empty sum is tiny, which keeps treeAggregate's zero value cheap to ship.
 */
public final class GradientSum implements Serializable {
  private static final long serialVersionUID = 1L;

  /**
   * One node's totals; grad is null when no example contributed (a zero gradient). stats holds the layers' batch
   * statistics (BatchNorm sums), or null when the network has none.
   */
  public record Node(float[] grad, double lossSum, long count, long correct, double[] stats) implements Serializable {
    public Node(float[] grad, double lossSum, long count, long correct) {
      this(grad, lossSum, count, correct, null);
    }

    /** The mean gradient (the sum × 1/count in float32) as a new array of length; zeros when grad is null. */
    public float[] mean(int length) {
      return mean(length, 0);
    }

    /**
     * As above for a sum that covers [offset, length) of the parameters (the trainable ones when the first layers
     * are frozen): the mean there, zeros before.
     */
    public float[] mean(int length, int offset) {
      float[] g = new float[length];
      float[] sum = grad;
      float factor = 1f / count;
      if (sum != null) {
        if (sum.length != length - offset) {
          throw new IllegalStateException("a gradient of " + sum.length + " values for parameters [" + offset + ", " + length + ")");
        }
        dev.sparktrain.optim.Elementwise.forEach(sum.length, (from, to) -> {
          for (int i = from; i < to; i++) g[offset + i] = sum[i] * factor;
        });
      }
      return g;
    }

    /** A copy that shares no array with this node (a node computed into a thread's reused buffers). */
    public Node copy() {
      return new Node(grad == null ? null : grad.clone(), lossSum, count, correct, stats == null ? null : stats.clone());
    }

    /**
     * This node + right, the combination of two sibling nodes of the tree (this one on the left): sums into this
     * node's arrays, which the caller owns and must not use again, and may return right's arrays when this node
     * has none. The tree among barrier tasks ({@code transport.TreeReduce}) combines with it too.
     */
    public Node plus(Node right) {
      float[] g;
      if (grad == null) g = right.grad;
      else if (right.grad == null) g = grad;
      else {
        g = grad;  // owned: a node's array is never shared with another live node
        float[] r = right.grad;
        for (int i = 0; i < g.length; i++) g[i] += r[i];
      }
      double[] st;
      if (stats == null) st = right.stats;
      else if (right.stats == null) st = stats;
      else {
        st = stats;
        for (int i = 0; i < st.length; i++) st[i] += right.stats[i];
      }
      return new Node(g, lossSum + right.lossSum, count + right.count, correct + right.correct, st);
    }
  }

  private final int partitions;
  private final int top;
  private final TreeMap<Long, Node> pending = new TreeMap<>();

  private GradientSum(int partitions) {
    if (partitions <= 0) throw new IllegalArgumentException("partitions: " + partitions);
    this.partitions = partitions;
    this.top = 32 - Integer.numberOfLeadingZeros(Math.max(1, partitions - 1));
  }

  public static GradientSum empty(int partitions) {
    return new GradientSum(partitions);
  }

  public static GradientSum leaf(int partitions, int partition, Node node) {
    GradientSum s = new GradientSum(partitions);
    s.insert(0, partition, node);
    return s;
  }

  /** Adds all of other's nodes into this sum and returns this. */
  public GradientSum merge(GradientSum other) {
    if (other.partitions != partitions) throw new IllegalArgumentException("partition counts differ");
    other.pending.forEach((key, node) -> insert((int) (key >>> 32), (int) (long) key, node));
    return this;
  }

  private void insert(int level, int index, Node node) {
    while (level < top) {
      int sibling = index ^ 1;
      if (((long) sibling << level) >= partitions) {
        // the sibling covers no partition: move up unchanged
      } else {
        Node other = pending.remove(key(level, sibling));
        if (other == null) break;
        node = (index & 1) == 0 ? node.plus(other) : other.plus(node);
      }
      level++;
      index >>= 1;
    }
    if (pending.put(key(level, index), node) != null) {
      throw new IllegalStateException("partition merged twice at node (" + level + ", " + index + ")");
    }
  }

  private static long key(int level, int index) {
    return ((long) level << 32) | (index & 0xFFFFFFFFL);
  }

  /** The total over all partitions; fails if some partition has not been merged in. */
  public Node total() {
    Node root = pending.get(key(top, 0));
    if (root == null || pending.size() != 1) {
      throw new IllegalStateException("incomplete gradient sum: " + pending.size() + " pending nodes");
    }
    return root;
  }
}
