package dev.sparktrain.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktrain.data.DataBlock;
import dev.sparktrain.nn.Init;
import dev.sparktrain.nn.ModelSpec;
import dev.sparktrain.nn.Network;
import dev.sparktrain.tensor.BlasGemm;
import dev.sparktrain.tensor.Rng;
import dev.sparktrain.testing.SparkFixture;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.classification.LogisticRegression;
import org.apache.spark.ml.classification.LogisticRegressionModel;
import org.apache.spark.ml.linalg.Matrix;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

/**
 * Full-batch L-BFGS on a convex problem (softmax regression, no regularization) reaches the same loss as Spark
 * MLlib's LogisticRegression on the same data, to 1e-4 relative.
 */
class FullBatchLbfgsTest {
  static final int N = 600, D = 5, K = 3;

  @Test
  void matchesMllibLogisticRegression() {
    SparkSession spark = SparkFixture.local2();
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    // overlapping Gaussian classes: not separable, so the unregularized optimum is finite
    Rng rng = new Rng(11);
    float[] x = new float[N * D];
    int[] y = new int[N];
    for (int i = 0; i < N; i++) {
      y[i] = rng.nextInt(K);
      for (int j = 0; j < D; j++) x[i * D + j] = (float) (rng.nextGaussian() + (j == y[i] ? 1.0 : 0.0) + 0.3 * j);
    }
    List<DataBlock> blocks = new ArrayList<>();
    for (int p = 0; p < 2; p++) {
      int from = p * N / 2, to = (p + 1) * N / 2;
      long[] rows = new long[to - from];
      for (int i = 0; i < rows.length; i++) rows[i] = from + i + 1;
      blocks.add(new DataBlock(to - from, D, java.util.Arrays.copyOfRange(x, from * D, to * D),
          java.util.Arrays.copyOfRange(y, from, to), rows));
    }
    var train = sc.parallelize(blocks, 2).cache();
    ModelSpec spec = ModelSpec.parse(D, "dense(3)", K, Init.XAVIER);
    List<FullBatchLbfgs.Iteration> log = new ArrayList<>();
    float[] ours = new FullBatchLbfgs(sc, train, spec, 2)
        .minimize(new Network(spec, BlasGemm.INSTANCE).initParams(1), 300, 10, 1e-9, log::add);
    double oursLoss = meanLoss(x, y, weights(ours), biases(ours));
    assertTrue(log.size() > 3 && log.get(log.size() - 1).loss() < log.get(0).loss(), "L-BFGS made progress: " + log);

    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < N; i++) {
      double[] v = new double[D];
      for (int j = 0; j < D; j++) v[j] = x[i * D + j];
      rows.add(RowFactory.create(Vectors.dense(v), (double) y[i]));
    }
    StructType schema = new StructType().add("features", new VectorUDT()).add("label", DataTypes.DoubleType);
    LogisticRegressionModel lr = new LogisticRegression().setFamily("multinomial").setRegParam(0)
        .setStandardization(false).setMaxIter(1000).setTol(1e-12).fit(spark.createDataFrame(rows, schema));
    Matrix coef = lr.coefficientMatrix();
    double[][] w = new double[D][K];
    double[] b = new double[K];
    for (int k = 0; k < K; k++) {
      b[k] = lr.interceptVector().apply(k);
      for (int j = 0; j < D; j++) w[j][k] = coef.apply(k, j);
    }
    double mllibLoss = meanLoss(x, y, w, b);
    System.out.printf("L-BFGS %.10f in %d iterations; MLlib %.10f%n", oursLoss, log.size(), mllibLoss);
    assertEquals(mllibLoss, oursLoss, 1e-4 * mllibLoss, "ours " + oursLoss + " vs MLlib " + mllibLoss);
    train.unpersist();
  }

  /** Mean softmax cross-entropy in double precision, the same for both models. */
  static double meanLoss(float[] x, int[] y, double[][] w, double[] b) {
    double total = 0;
    for (int i = 0; i < N; i++) {
      double[] z = b.clone();
      for (int k = 0; k < K; k++) for (int j = 0; j < D; j++) z[k] += x[i * D + j] * w[j][k];
      double max = Math.max(z[0], Math.max(z[1], z[2]));
      double sum = 0;
      for (double v : z) sum += Math.exp(v - max);
      total += Math.log(sum) + max - z[y[i]];
    }
    return total / N;
  }

  static double[][] weights(float[] p) {
    double[][] w = new double[D][K];
    for (int j = 0; j < D; j++) for (int k = 0; k < K; k++) w[j][k] = p[j * K + k];
    return w;
  }

  static double[] biases(float[] p) {
    double[] b = new double[K];
    for (int k = 0; k < K; k++) b[k] = p[D * K + k];
    return b;
  }
}
