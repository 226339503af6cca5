package dev.sparktrain.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktrain.config.Settings;
import dev.sparktrain.config.TrainConfig;
import dev.sparktrain.data.DataBlock;
import dev.sparktrain.nn.Init;
import dev.sparktrain.nn.ModelSpec;
import dev.sparktrain.nn.Network;
import dev.sparktrain.nn.SoftmaxCrossEntropy;
import dev.sparktrain.nn.Shape;
import dev.sparktrain.nn.StepContext;
import dev.sparktrain.augment.AugmentPipeline;
import dev.sparktrain.tensor.Rng;
import dev.sparktrain.tensor.BlasGemm;
import dev.sparktrain.testing.SparkFixture;
import dev.sparktrain.testing.SyntheticImages;
import dev.sparktrain.testing.Tolerance;
import dev.sparktrain.train.GradientSum;
import dev.sparktrain.train.PartitionHook;
import dev.sparktrain.train.StepEngine;
import org.apache.spark.api.java.JavaSparkContext;
import dev.sparktrain.train.MinibatchPlan;
import dev.sparktrain.train.Progress;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The gradient aggregated over 2 partitions equals the single-process gradient on the same examples. */
class DistributedGradientTest {
  @TempDir Path dir;

  @Test
  void twoPartitionsMatchOneProcess() throws Exception {
    check("dense(16), relu, dense(4)");
  }

  /** Dropout masks are drawn per example, so they too are the same in one process as over two partitions. */
  @Test
  void twoPartitionsMatchOneProcessWithDropout() throws Exception {
    check("dense(16), relu, dropout(0.3), dense(4)");
  }

  /**
   * A convolutional net with every random regularizer that has a training-time draw, and executor-side
   * augmentation: masks, pooling regions and augmented images all come from (seed, step, example, layer), so the
   * one-process reference, which augments the same examples itself, computes the same gradient.
   */
  @Test
  void twoPartitionsMatchOneProcessForAConvNetWithAugmentation() throws Exception {
    check("conv(4, 3), relu, fmp(1.414), flatten, dropconnect(12, 0.3), relu, dropout(0.2), dense(4)",
        new Shape(1, 8, 8), AugmentPipeline.parse("crop(1), flip, jitter(0.1, 0.1)", "data.augment"));
  }

  private void check(String layers) throws Exception {
    check(layers, Shape.flat(64), AugmentPipeline.NONE);
  }

  private void check(String layers, Shape shape, AugmentPipeline augment) throws Exception {
    SyntheticImages.writeDataset(dir, 700, 10, 8, 4);
    SparkSession spark = SparkFixture.local2();
    TrainConfig cfg = TrainConfig.from(Settings.of(Map.of(
        "data.train", dir.resolve("train-images.gz").toString(),
        "data.train_labels", dir.resolve("train-labels.gz").toString(),
        "data.num_classes", "4", "data.partitions", "2",
        "model.layers", "dense(16), relu, dense(4)", "train.batch_size", "96")));
    TrainingData data = TrainingData.load(spark, cfg.data(), Progress.quiet());
    assertEquals(2, data.offsets().length);
    ModelSpec spec = ModelSpec.parse(shape, layers, 4, Init.HE, 1.0);
    float[] params = new Network(spec, BlasGemm.INSTANCE).initParams(5);
    MinibatchPlan plan = new MinibatchPlan(42, data.trainCount(), 96);
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    PartitionStep partitionStep = new PartitionStep(spec, data.offsets(), plan, augment, PartitionHook.NONE);

    // the same examples, concatenated in global training-index order, in one process
    List<DataBlock> blocks = data.train().collect();
    int n = data.trainCount(), d = 64;
    float[] allX = new float[n * d];
    int[] allY = new int[n];
    for (int p = 0; p < blocks.size(); p++) {
      System.arraycopy(blocks.get(p).x(), 0, allX, data.offsets()[p] * d, blocks.get(p).n() * d);
      System.arraycopy(blocks.get(p).y(), 0, allY, data.offsets()[p], blocks.get(p).n());
    }
    for (int t : new int[] {0, 3, plan.iterationsPerEpoch() - 1}) {
      GradientSum.Node distributed = oneStep(sc, data, partitionStep, params, t);
      int[] rows = plan.localRows(1, t, 0, n);
      float[] x = new float[rows.length * d];
      int[] y = new int[rows.length];
      for (int i = 0; i < rows.length; i++) {
        System.arraycopy(allX, rows[i] * d, x, i * d, d);
        y[i] = allY[rows[i]];
      }
      float[] single = new float[params.length];
      long[] ids = new long[rows.length];
      for (int i = 0; i < rows.length; i++) ids[i] = rows[i];
      long step = (long) plan.iterationsPerEpoch() + t;  // epoch 1, iteration t
      float[] scratch = new float[d];
      for (int i = 0; i < rows.length; i++) {
        augment.apply(x, i * d, 1, 8, 8, Rng.derive(42, Rng.AUGMENT, step, ids[i]), scratch);
      }
      StepContext context = new StepContext(42, step, ids);
      SoftmaxCrossEntropy.Stats s = new Network(spec, BlasGemm.INSTANCE).lossAndGradient(params, x, y, 0, rows.length,
          single, context);
      assertEquals(rows.length, distributed.count());
      assertEquals(s.lossSum(), distributed.lossSum(), 1e-6 * Math.abs(s.lossSum()));
      double rel = Tolerance.maxRelative(single, distributed.grad());
      assertTrue(rel <= 1e-5, "iteration " + t + ": relative difference " + rel);
      // a retried or repeated step computes the same bits, and so does one task reading both cached partitions
      assertArrayEquals(distributed.grad(), oneStep(sc, data, partitionStep, params, t).grad());
      GradientSum.Node oneTask = oneStep(sc, data, partitionStep, params, t, 1);
      assertArrayEquals(distributed.grad(), oneTask.grad(), "one task for two partitions: the same tree, the same bits");
      assertEquals(distributed.lossSum(), oneTask.lossSum(), 0);
    }
    data.close();
  }

  /** One step's gradient sum (epoch 1, iteration t) through the job engine: one Spark job. */
  private static GradientSum.Node oneStep(JavaSparkContext sc, TrainingData data, PartitionStep step, float[] params, int t) {
    return oneStep(sc, data, step, params, t, 0);
  }

  /** tasks: how many tasks read the partitions (0: one per partition). */
  private static GradientSum.Node oneStep(JavaSparkContext sc, TrainingData data, PartitionStep step, float[] params, int t,
                                          int tasks) {
    try (StepEngine e = Engine.JOB.open(sc, data, step, 2, "", null, line -> {}, tasks)) {
      GradientSum.Node n = e.gradient(params, 1, t);
      return new GradientSum.Node(n.grad().clone(), n.lossSum(), n.count(), n.correct(), n.stats());
    }
  }
}
