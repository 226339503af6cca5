package dev.sparktrain.bench;

import dev.sparktrain.data.IdxFile;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.ml.classification.MultilayerPerceptronClassificationModel;
import org.apache.spark.ml.classification.MultilayerPerceptronClassifier;
import org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The Spark MLlib baseline of scripts/bench: {@code MultilayerPerceptronClassifier} with the {@code mlp}
 * workload's layers (784-512-256-10) and its L-BFGS solver on Fashion-MNIST, pixels scaled to [0, 1], in the
 * given master. It reports the wall time of {@code fit} (the DataFrame cached and counted before the clock
 * starts) and the test accuracy.
 *
 * <p>Usage: {@code MllibMlp DATA_DIR MASTER MAX_ITER PARTITIONS}. The last stdout line is one JSON object.
 */
public final class MllibMlp {
  private MllibMlp() {}

  public static void main(String[] args) {
    String dir = args[0], master = args[1];
    int maxIter = Integer.parseInt(args[2]), partitions = Integer.parseInt(args[3]);
    SparkSession spark = SparkSession.builder().master(master).appName("sparktrain bench · MLlib MLP")
        .config("spark.ui.enabled", "false").getOrCreate();
    try {
      Dataset<Row> train = frame(spark, dir, "train", partitions).cache();
      Dataset<Row> test = frame(spark, dir, "t10k", partitions).cache();
      long n = train.count() + test.count();
      MultilayerPerceptronClassifier mlp = new MultilayerPerceptronClassifier()
          .setLayers(new int[] {784, 512, 256, 10}).setSolver("l-bfgs").setMaxIter(maxIter).setBlockSize(128)
          .setSeed(42L).setTol(1e-6);
      long start = System.nanoTime();
      MultilayerPerceptronClassificationModel model = mlp.fit(train);
      double seconds = (System.nanoTime() - start) / 1e9;
      double accuracy = new MulticlassClassificationEvaluator().setMetricName("accuracy").evaluate(model.transform(test));
      int iterations = model.summary().totalIterations();
      System.err.printf(Locale.ROOT, "MLlib MLP: %d L-BFGS iterations in %.1f s, test accuracy %.4f (%d examples)%n",
          iterations, seconds, accuracy, n);
      System.out.printf(Locale.ROOT, "{\"fit_seconds\":%.3f,\"iterations\":%d,\"max_iter\":%d,\"test_accuracy\":%.6f,"
          + "\"seconds_per_iteration\":%.4f,\"peak_rss_mib\":%s}%n", seconds, iterations, maxIter, accuracy,
          seconds / Math.max(1, iterations), BenchHarness.peakRssMib());
    } finally {
      spark.stop();
    }
  }

  /** images and labels of one Fashion-MNIST split as a DataFrame (label double, features vector). */
  private static Dataset<Row> frame(SparkSession spark, String dir, String split, int partitions) {
    Configuration conf = new Configuration();
    IdxFile images = IdxFile.open(dir + "/" + split + "-images-idx3-ubyte.gz", 3, conf);
    IdxFile labels = IdxFile.open(dir + "/" + split + "-labels-idx1-ubyte.gz", 1, conf);
    float[] x = images.readImages(0, images.count(), conf);
    int[] y = labels.readLabels(0, labels.count(), 10, conf);
    int d = images.recordSize();
    List<Row> rows = new ArrayList<>(images.count());
    for (int i = 0; i < images.count(); i++) {
      double[] v = new double[d];
      for (int j = 0; j < d; j++) v[j] = x[i * d + j];
      rows.add(RowFactory.create((double) y[i], Vectors.dense(v)));
    }
    StructType schema = new StructType().add("label", DataTypes.DoubleType).add("features", SQLDataTypes.VectorType());
    return spark.createDataFrame(rows, schema).repartition(partitions);
  }
}
