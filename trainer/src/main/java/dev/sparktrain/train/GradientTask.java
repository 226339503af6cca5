package dev.sparktrain.train;

import dev.sparktrain.data.DataBlock;
import dev.sparktrain.nn.ModelSpec;
import dev.sparktrain.nn.Network;
import dev.sparktrain.nn.SoftmaxCrossEntropy;
import dev.sparktrain.nn.StepContext;
import dev.sparktrain.augment.AugmentPipeline;
import dev.sparktrain.augment.TestTimeAugmentation;
import dev.sparktrain.nn.Shape;
import dev.sparktrain.tensor.Gemm;
import dev.sparktrain.tensor.Rng;

/**
 * What one partition does in one step: gather its share of the global minibatch from its cached block, run
 * forward and backward as batched GEMMs, and return the gradient sum, loss sum and count. It is a pure function
 * of (parameters, block, plan, epoch, iteration), so a retried task computes the same gradient.
 */
public final class GradientTask {
  private GradientTask() {}

  /** One network (and its buffers) per thread and architecture, reused across steps. */
  private static final ThreadLocal<Network> NETWORK = new ThreadLocal<>();
  /** A thread's step buffers, reused by every step it computes (see {@link #compute}). */
  private static final ThreadLocal<Buffers> BUFFERS = ThreadLocal.withInitial(Buffers::new);

  private static final class Buffers {
    float[] x = new float[0], grad = new float[0], scratch = new float[0];
    int[] y = new int[0];
    long[] ids = new long[0];
    double[] stats = new double[0];
  }

  public static Network network(ModelSpec spec) {
    Network n = NETWORK.get();
    if (n == null || !n.spec().equals(spec)) {
      n = new Network(spec, Gemm.best());
      NETWORK.set(n);
    }
    return n;
  }

  /**
   * The totals of this partition's part of iteration t of epoch e. The block holds the global training indices
   * [offset, offset + block.n()). Each drawn example is copied out of the cached block and augmented with the
   * stream (seed, AUGMENT, step, example), so its augmented version does not depend on the partitioning and a
   * retried task reproduces it.
   *
   * <p>No step allocates parameter-sized memory: the gradient and statistics arrays of the returned node are this
   * thread's buffers, overwritten by its next call. Every engine is done with a step's node (summed, scaled,
   * serialized or sent) before the same thread computes another step.
   */
  public static GradientSum.Node compute(ModelSpec spec, float[] params, DataBlock block, int offset,
                                         MinibatchPlan plan, int epoch, int t, AugmentPipeline augment) {
    return compute(spec, params, block, offset, plan, epoch, t, augment, 0);
  }

  /**
   * As above with the first {@code frozen} layers frozen (fine-tuning): the node's gradient covers only the
   * trainable parameters, [network.trainableOffset(frozen), paramCount), which is all that leaves the task.
   */
  public static GradientSum.Node compute(ModelSpec spec, float[] params, DataBlock block, int offset,
                                         MinibatchPlan plan, int epoch, int t, AugmentPipeline augment, int frozen) {
    int[] rows = plan.localRows(epoch, t, offset, offset + block.n());
    if (rows.length == 0) return new GradientSum.Node(null, 0, 0, 0);
    int d = block.dim(), m = rows.length;
    Network net = network(spec);
    Buffers b = BUFFERS.get();
    if (b.x.length < m * d) b.x = new float[m * d];
    if (b.y.length < m) {
      b.y = new int[m];
      b.ids = new long[m];
    }
    int trainable = net.paramCount() - net.trainableOffset(frozen);
    if (b.grad.length != trainable) b.grad = new float[trainable];
    if (b.stats.length != net.statsCount()) b.stats = new double[net.statsCount()];
    float[] x = b.x, grad = b.grad;
    int[] y = b.y;
    long[] ids = b.ids;
    for (int i = 0; i < m; i++) {
      block.copyRow(rows[i], x, i * d);
      y[i] = block.y()[rows[i]];
      ids[i] = (long) offset + rows[i];  // global training index
    }
    long step = (long) epoch * plan.iterationsPerEpoch() + t;
    if (!augment.isEmpty()) {
      Shape shape = spec.inputShape();
      if (b.scratch.length < d) b.scratch = new float[d];
      for (int i = 0; i < m; i++) {
        augment.apply(x, i * d, shape.c(), shape.h(), shape.w(), Rng.derive(plan.seed(), Rng.AUGMENT, step, ids[i]), b.scratch);
      }
    }
    StepContext context = new StepContext(plan.seed(), step, java.util.Arrays.copyOf(ids, m));
    double[] stats = net.statsCount() == 0 ? null : b.stats;
    if (stats != null) java.util.Arrays.fill(stats, 0);  // the layers add into it
    SoftmaxCrossEntropy.Stats s = net.lossAndGradient(params, x, y, 0, m, grad, context, stats, frozen);
    return new GradientSum.Node(grad, s.lossSum(), m, s.correct(), stats);
  }

  /**
   * The gradient sum over every example of the block (a full-batch pass, as L-BFGS needs), in fixed chunks so
   * that the result does not depend on anything but the block and the parameters.
   */
  public static GradientSum.Node fullGradient(ModelSpec spec, float[] params, DataBlock block) {
    Network net = network(spec);
    int chunk = 512, d = block.dim();
    float[] sum = new float[net.paramCount()], part = new float[net.paramCount()];
    double loss = 0;
    long correct = 0;
    float[] x = new float[Math.min(chunk, Math.max(1, block.n())) * d];  // rows [0, m) of it hold each chunk
    for (int from = 0; from < block.n(); from += chunk) {
      int m = Math.min(chunk, block.n() - from);
      block.copyRows(from, m, x);
      SoftmaxCrossEntropy.Stats s = net.lossAndGradient(params, x, block.y(), from, m, part);
      for (int i = 0; i < sum.length; i++) sum[i] += part[i];
      loss += s.lossSum();
      correct += s.correct();
    }
    return new GradientSum.Node(block.n() == 0 ? null : sum, loss, block.n(), correct);
  }

  /** Loss sum and correct count of a whole block in inference mode, in fixed chunks so results are reproducible. */
  public static GradientSum.Node evaluate(ModelSpec spec, float[] params, DataBlock block) {
    return evaluate(spec, params, block, TestTimeAugmentation.NONE, 0);
  }

  /**
   * As above with test-time augmentation: the loss is −log of the label's probability averaged over the views,
   * and the prediction is the argmax of that average.
   */
  public static GradientSum.Node evaluate(ModelSpec spec, float[] params, DataBlock block, TestTimeAugmentation tta,
                                          int pad) {
    return evaluate(spec, params, block, tta, pad, null);
  }

  /** As above, also counting each (label, prediction) pair into confusion (K×K, row = label), when not null. */
  public static GradientSum.Node evaluate(ModelSpec spec, float[] params, DataBlock block, TestTimeAugmentation tta,
                                          int pad, long[][] confusion) {
    int k = spec.numClasses();
    float[] probs = probabilities(spec, params, block, tta, pad);
    double loss = 0;
    long correct = 0;
    for (int i = 0; i < block.n(); i++) {
      int row = i * k, label = block.y()[i], best = 0;
      for (int j = 1; j < k; j++) if (probs[row + j] > probs[row + best]) best = j;
      if (best == label) correct++;
      if (confusion != null) confusion[label][best]++;
      loss -= Math.log(Math.max(probs[row + label], Float.MIN_NORMAL));
    }
    return new GradientSum.Node(null, loss, block.n(), correct);
  }

  /**
   * Class probabilities (N×K) of every example of the block in inference mode, averaged over the views of the
   * test-time augmentation; computed in fixed chunks, so memory stays bounded and results reproducible.
   */
  public static float[] probabilities(ModelSpec spec, float[] params, DataBlock block, TestTimeAugmentation tta,
                                      int pad) {
    Network net = network(spec);
    Shape shape = spec.inputShape();
    int chunk = 256, d = block.dim(), k = spec.numClasses(), views = tta.views();
    float[] probs = new float[block.n() * k];
    float[] x = new float[Math.min(chunk, Math.max(1, block.n())) * d];
    float[] src = tta == TestTimeAugmentation.NONE ? null : new float[Math.min(chunk, Math.max(1, block.n())) * d];
    float[] p = new float[Math.min(chunk, Math.max(1, block.n())) * k];
    for (int from = 0; from < block.n(); from += chunk) {
      int m = Math.min(chunk, block.n() - from);
      if (src != null) block.copyRows(from, m, src);
      for (int v = 0; v < views; v++) {
        if (src == null) block.copyRows(from, m, x);
        else for (int i = 0; i < m; i++) tta.view(v, src, i * d, shape.c(), shape.h(), shape.w(), pad, x, i * d);
        SoftmaxCrossEntropy.softmax(net.logits(params, x, m), m, k, p);
        for (int i = 0; i < m * k; i++) probs[from * k + i] += p[i] / views;
      }
    }
    return probs;
  }
}
