package dev.sparktrain.train;

import dev.sparktrain.data.DataBlock;
import dev.sparktrain.nn.ModelSpec;
import dev.sparktrain.nn.Network;
import dev.sparktrain.nn.SoftmaxCrossEntropy;
import dev.sparktrain.nn.StepContext;
import dev.sparktrain.tensor.Gemm;

/**
 * What one partition does in one step: gather its share of the global minibatch from its cached block, run
 * forward and backward as batched GEMMs, and return the gradient sum, loss sum and count. It is a pure function
 * of (parameters, block, plan, epoch, iteration), so a retried task computes the same gradient.
 */
public final class GradientTask {
  private GradientTask() {}

  /** One network (and its buffers) per thread and architecture, reused across steps. */
  private static final ThreadLocal<Network> NETWORK = new ThreadLocal<>();
  private static final ThreadLocal<float[][]> BATCH = ThreadLocal.withInitial(() -> new float[1][0]);

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
   * [offset, offset + block.n()).
   */
  public static GradientSum.Node compute(ModelSpec spec, float[] params, DataBlock block, int offset,
                                         MinibatchPlan plan, int epoch, int t) {
    int[] rows = plan.localRows(epoch, t, offset, offset + block.n());
    if (rows.length == 0) return new GradientSum.Node(null, 0, 0, 0);
    int d = block.dim();
    float[][] holder = BATCH.get();
    if (holder[0].length < rows.length * d) holder[0] = new float[rows.length * d];
    float[] x = holder[0];
    int[] y = new int[rows.length];
    for (int i = 0; i < rows.length; i++) {
      System.arraycopy(block.x(), rows[i] * d, x, i * d, d);
      y[i] = block.y()[rows[i]];
    }
    Network net = network(spec);
    float[] grad = new float[net.paramCount()];
    long[] ids = new long[rows.length];
    for (int i = 0; i < rows.length; i++) ids[i] = (long) offset + rows[i];  // global training index
    StepContext context = new StepContext(plan.seed(), (long) epoch * plan.iterationsPerEpoch() + t, ids);
    SoftmaxCrossEntropy.Stats s = net.lossAndGradient(params, x, y, 0, rows.length, grad, context);
    return new GradientSum.Node(grad, s.lossSum(), rows.length, s.correct());
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
    for (int from = 0; from < block.n(); from += chunk) {
      int m = Math.min(chunk, block.n() - from);
      float[] x = java.util.Arrays.copyOfRange(block.x(), from * d, (from + m) * d);
      SoftmaxCrossEntropy.Stats s = net.lossAndGradient(params, x, block.y(), from, m, part);
      for (int i = 0; i < sum.length; i++) sum[i] += part[i];
      loss += s.lossSum();
      correct += s.correct();
    }
    return new GradientSum.Node(block.n() == 0 ? null : sum, loss, block.n(), correct);
  }

  /** Loss sum and correct count of a whole block in inference mode, in fixed chunks so results are reproducible. */
  public static GradientSum.Node evaluate(ModelSpec spec, float[] params, DataBlock block) {
    Network net = network(spec);
    int chunk = 256, d = block.dim(), k = spec.numClasses();
    double loss = 0;
    long correct = 0;
    for (int from = 0; from < block.n(); from += chunk) {
      int m = Math.min(chunk, block.n() - from);
      float[] x = java.util.Arrays.copyOfRange(block.x(), from * d, (from + m) * d);
      float[] logits = net.logits(params, x, m);
      SoftmaxCrossEntropy.Stats s = SoftmaxCrossEntropy.lossAndGradient(logits, block.y(), from, m, k, null);
      loss += s.lossSum();
      correct += s.correct();
    }
    return new GradientSum.Node(null, loss, block.n(), correct);
  }
}
