package dev.sparktrain.spark;

import breeze.linalg.DenseVector;
import breeze.linalg.DenseVector$mcD$sp;
import breeze.optimize.FirstOrderMinimizer;
import breeze.optimize.LBFGS;
import dev.sparktrain.UserError;
import dev.sparktrain.data.DataBlock;
import dev.sparktrain.nn.ModelSpec;
import dev.sparktrain.train.GradientSum;
import dev.sparktrain.train.GradientTask;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * Full-batch L-BFGS with Breeze's implementation (the one Spark MLlib uses, with its strong-Wolfe line search).
 * Every function evaluation is one distributed pass over all cached training blocks: broadcast the parameters,
 * sum the gradient of every example, divide by the count.
 *
 * <p>Prefer it to SGD for small models on low-noise problems without dropout (convex ones such as softmax
 * regression, or fine-tuning a small head): it needs no learning rate and converges in tens of passes. Each
 * iteration costs one or more full passes, and it cannot use minibatch noise, dropout or augmentation.
 */
final class FullBatchLbfgs {
  /** What a run reports after each iteration. */
  record Iteration(int iteration, double loss, double gradientNorm, int evaluations) {}

  private final JavaSparkContext sc;
  private final JavaRDD<DataBlock> train;
  private final ModelSpec spec;
  private final int treeDepth;
  private int evaluations;

  FullBatchLbfgs(JavaSparkContext sc, JavaRDD<DataBlock> train, ModelSpec spec, int treeDepth) {
    this.sc = sc;
    this.train = train;
    this.spec = spec;
    this.treeDepth = treeDepth;
  }

  /** Minimizes the mean training loss from init; returns the final parameters. */
  float[] minimize(float[] init, int maxIterations, int memory, double tolerance,
                   java.util.function.Consumer<Iteration> onIteration) {
    if (maxIterations < 1) throw new UserError("lbfgs.max_iterations must be at least 1, got " + maxIterations);
    if (memory < 1) throw new UserError("lbfgs.memory must be at least 1, got " + memory);
    LBFGS<DenseVector<Object>> lbfgs = new LBFGS<>(maxIterations, memory, tolerance, DenseVector.space_Double());
    ArrayDiffFunction f = new ArrayDiffFunction(new Objective());
    var states = lbfgs.iterations(f, new DenseVector$mcD$sp(toDoubles(init)));
    FirstOrderMinimizer.State<DenseVector<Object>, ?, ?> last = null;
    while (states.hasNext()) {
      last = states.next();
      double norm = 0;
      for (double g : (double[]) last.grad().data()) norm += g * g;
      onIteration.accept(new Iteration(last.iter(), last.value(), Math.sqrt(norm), evaluations));
    }
    return toFloats((double[]) last.x().data());
  }

  /** The mean training loss and its gradient at x, as one Spark job. */
  private final class Objective implements ArrayDiffFunction.Evaluator {
    @Override
    public double valueAndGradient(double[] x, double[] g) {
      float[] params = toFloats(x);
      evaluations++;
      sc.setJobDescription("L-BFGS · evaluation " + evaluations);
      ModelSpec s = spec;
      GradientSum.Node total = DistributedSum.run(train, params, treeDepth,
          (p, bcParams, block) -> GradientTask.fullGradient(s, bcParams, block));
      if (total.grad() != null) for (int i = 0; i < g.length; i++) g[i] = (double) total.grad()[i] / total.count();
      double loss = total.lossSum() / total.count();
      if (!Double.isFinite(loss)) throw new UserError("L-BFGS evaluation " + evaluations + ": the loss is not finite");
      return loss;
    }
  }

  private static double[] toDoubles(float[] x) {
    double[] d = new double[x.length];
    for (int i = 0; i < x.length; i++) d[i] = x[i];
    return d;
  }

  private static float[] toFloats(double[] x) {
    float[] f = new float[x.length];
    for (int i = 0; i < x.length; i++) f[i] = (float) x[i];
    return f;
  }

}
