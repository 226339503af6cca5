package dev.sparktrain.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparktrain.augment.PixelMoments;
import dev.sparktrain.cli.Main;
import dev.sparktrain.data.DataBlock;
import dev.sparktrain.nn.Shape;
import dev.sparktrain.tensor.Rng;
import dev.sparktrain.testing.SparkFixture;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PCA lighting on generated RGB images: the colour covariance is summed over the partitions on the executors and
 * equals the one-process covariance, and a training job with lighting runs end to end on RGB input.
 */
class PcaLightingTest {
  private static final int SIDE = 6, CLASSES = 3;
  @TempDir Path dir;

  /** RGB images whose pixels mix three independent Gaussians, so the colour channels are correlated. */
  private static float[] images(int n, long seed) {
    Rng rng = new Rng(seed);
    int plane = SIDE * SIDE;
    float[] x = new float[n * 3 * plane];
    for (int e = 0; e < n; e++) {
      for (int i = 0; i < plane; i++) {
        double a = rng.nextGaussian(), b = rng.nextGaussian(), c = rng.nextGaussian();
        x[(e * 3) * plane + i] = (float) (a + 0.5 * b);
        x[(e * 3 + 1) * plane + i] = (float) (0.8 * a + 0.3 * c);
        x[(e * 3 + 2) * plane + i] = (float) (0.2 * b - 0.6 * c);
      }
    }
    return x;
  }

  @Test
  void colourCovarianceOverPartitionsEqualsOneProcess() {
    SparkSession spark = SparkFixture.local2();
    int n = 300, d = 3 * SIDE * SIDE;
    float[] x = images(n, 1);
    List<DataBlock> blocks = new ArrayList<>();
    for (int p = 0; p < 3; p++) {
      int from = p * 100;
      long[] rows = new long[100];
      for (int i = 0; i < 100; i++) rows[i] = from + i + 1;
      blocks.add(new DataBlock(100, d, java.util.Arrays.copyOfRange(x, from * d, (from + 100) * d), new int[100], rows));
    }
    var rdd = JavaSparkContext.fromSparkContext(spark.sparkContext()).parallelize(blocks, 3);
    Shape shape = new Shape(3, SIDE, SIDE);
    PixelMoments distributed = TrainingData.pixelMoments(rdd, shape);
    PixelMoments local = new PixelMoments(3);
    for (int e = 0; e < n; e++) local.add(x, e * d, 3, SIDE, SIDE);
    assertEquals(local.count(), distributed.count());
    double[][] a = local.covariance(), b = distributed.covariance();
    for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) assertEquals(a[i][j], b[i][j], 1e-9, "cov " + i + "," + j);
    assertEquals(1.25, a[0][0], 0.05, "var(R) = 1 + 0.25");
    assertEquals(0.8, a[0][1], 0.05, "cov(R, G) = 0.8");
  }

  @Test
  void trainsOnRgbImagesWithLighting() throws Exception {
    // LIBSVM rows of 3×6×6 features; the class sets the mean colour
    Rng rng = new Rng(2);
    List<String> train = new ArrayList<>(), test = new ArrayList<>();
    int d = 3 * SIDE * SIDE;
    for (int e = 0; e < 400; e++) {
      int label = e % CLASSES;
      float[] x = images(1, 10 + e);
      StringBuilder line = new StringBuilder().append(label);
      for (int j = 0; j < d; j++) {
        float v = x[j] + (j / (SIDE * SIDE) == label ? 2f : 0f) + (float) (0.1 * rng.nextGaussian());
        line.append(' ').append(j + 1).append(':').append(String.format(Locale.ROOT, "%.4f", v));
      }
      (e < 320 ? train : test).add(line.toString());
    }
    Files.write(dir.resolve("train.libsvm"), train);
    Files.write(dir.resolve("test.libsvm"), test);
    ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
    Path conf = Files.write(dir.resolve("rgb.conf"), List.of("data.format = libsvm"));
    int code = Main.run(new String[] {"train", conf.toString(),
        "data.train=" + dir.resolve("train.libsvm"), "data.test=" + dir.resolve("test.libsvm"),
        "data.num_classes=3", "data.shape=3x6x6", "data.standardize=channel", "data.augment=lighting(0.1), flip",
        "model.layers=conv(4, 3), batchnorm, relu, gap, dense(3)", "model.path=" + dir.resolve("rgb.stm"),
        "train.epochs=3", "train.batch_size=32", "optimizer.name=momentum", "optimizer.learning_rate=0.05",
        "spark.master=local[2]", "spark.ui.enabled=false"},
        new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    String stderr = err.toString(StandardCharsets.UTF_8);
    assertEquals(0, code, stderr);
    assertTrue(stderr.contains("PCA lighting: colour covariance of"), stderr);
    String[] lines = out.toString(StandardCharsets.UTF_8).strip().split("\n");
    double accuracy = new ObjectMapper().readTree(lines[lines.length - 1]).path("test_accuracy").asDouble();
    assertTrue(accuracy >= 0.9, "test accuracy " + accuracy);
  }
}
