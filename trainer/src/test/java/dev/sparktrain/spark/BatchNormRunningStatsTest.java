package dev.sparktrain.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktrain.config.Settings;
import dev.sparktrain.config.TrainConfig;
import dev.sparktrain.data.DataBlock;
import dev.sparktrain.nn.ModelSpec;
import dev.sparktrain.nn.Network;
import dev.sparktrain.nn.StepContext;
import dev.sparktrain.tensor.BlasGemm;
import dev.sparktrain.testing.SparkFixture;
import dev.sparktrain.testing.SyntheticImages;
import dev.sparktrain.train.MinibatchPlan;
import dev.sparktrain.train.Progress;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * BatchNorm's running averages, aggregated over the partitions every iteration and kept on the driver, equal those
 * of a single process that sees the same batches: after a real training run on 2 partitions, to 1e-4.
 *
 * <p>The reference is written independently of the driver's update: it trains with plain SGD in one process (each
 * partition's share of a minibatch normalized with its own statistics, as the executors do), and computes each
 * step's batch mean and unbiased variance with a two-pass double loop over the BN layer's input for the whole
 * global minibatch, then applies the running-average formula.
 */
class BatchNormRunningStatsTest {
  @TempDir Path dir;

  @Test
  void twoPartitionsMatchOneProcessOnTheSameBatches() throws Exception {
    SyntheticImages.writeDataset(dir, 700, 10, 8, 4);
    SparkSession spark = SparkFixture.local2();
    double lr = 0.1, momentum = 0.2;
    TrainConfig cfg = TrainConfig.from(Settings.of(Map.ofEntries(
        Map.entry("data.train", dir.resolve("train-images.gz").toString()),
        Map.entry("data.train_labels", dir.resolve("train-labels.gz").toString()),
        Map.entry("data.num_classes", "4"), Map.entry("data.partitions", "2"), Map.entry("data.shape", "1x8x8"),
        Map.entry("data.standardize", "channel"),
        Map.entry("model.layers", "conv(3, 3), batchnorm(" + momentum + "), relu, maxpool(2), flatten, dense(4)"),
        Map.entry("model.path", dir.resolve("m.stm").toString()),
        Map.entry("train.batch_size", "96"), Map.entry("train.epochs", "1"),
        Map.entry("optimizer.name", "sgd"), Map.entry("optimizer.learning_rate", Double.toString(lr)))));
    TrainingData data = TrainingData.load(spark, cfg.data(), Progress.quiet());
    ModelSpec spec = Trainer.modelSpec(cfg, data);
    float[] distributed = new Trainer(spark).fit(data, FitOptions.from(cfg)).params();

    // the reference: one process, the same global minibatches, plain SGD
    List<DataBlock> blocks = data.train().collect();
    int[] offsets = data.offsets();
    int n = data.trainCount(), d = 64, c = 3;
    Network net = new Network(spec, BlasGemm.INSTANCE);
    float[] params = net.initParams(42);
    int bn = net.offset(1);
    MinibatchPlan plan = new MinibatchPlan(42, n, 96);
    double[] runMean = new double[c], runVar = new double[c];
    java.util.Arrays.fill(runVar, 1);
    for (int t = 0; t < plan.iterationsPerEpoch(); t++) {
      float[] sum = new float[params.length];
      long count = 0;
      float[] batchX = new float[96 * d];
      int m = 0;
      for (int p = 0; p < blocks.size(); p++) {
        DataBlock b = blocks.get(p);
        int[] rows = plan.localRows(0, t, offsets[p], offsets[p] + b.n());
        float[] x = new float[rows.length * d];
        int[] y = new int[rows.length];
        long[] ids = new long[rows.length];
        for (int i = 0; i < rows.length; i++) {
          System.arraycopy(b.x(), rows[i] * d, x, i * d, d);
          System.arraycopy(b.x(), rows[i] * d, batchX, (m + i) * d, d);
          y[i] = b.y()[rows[i]];
          ids[i] = offsets[p] + rows[i];
        }
        m += rows.length;
        float[] g = new float[params.length];
        net.lossAndGradient(params, x, y, 0, rows.length, g, new StepContext(42, t, ids));
        for (int i = 0; i < g.length; i++) sum[i] += g[i];
        count += rows.length;
      }
      // the BN input of the whole global batch: the convolution's output, in one pass
      float[] conv = net.layers().get(0).forward(params, net.offset(0), batchX, m, false);
      int plane = 64;  // 8×8 with "same" padding
      for (int ch = 0; ch < c; ch++) {
        double mean = 0, var = 0;
        for (int e = 0; e < m; e++) for (int i = 0; i < plane; i++) mean += conv[(e * c + ch) * plane + i];
        mean /= (double) m * plane;
        for (int e = 0; e < m; e++) {
          for (int i = 0; i < plane; i++) var += Math.pow(conv[(e * c + ch) * plane + i] - mean, 2);
        }
        var /= (double) m * plane - 1;
        runMean[ch] = (1 - momentum) * runMean[ch] + momentum * mean;
        runVar[ch] = (1 - momentum) * runVar[ch] + momentum * var;
      }
      for (int i = 0; i < params.length; i++) params[i] -= (float) (lr * sum[i] / count);
    }
    for (int ch = 0; ch < c; ch++) {
      assertEquals(runMean[ch], distributed[bn + 2 * c + ch], 1e-4 * (1 + Math.abs(runMean[ch])), "running mean " + ch);
      assertEquals(runVar[ch], distributed[bn + 3 * c + ch], 1e-4 * (1 + Math.abs(runVar[ch])), "running variance " + ch);
    }
    assertTrue(Math.abs(runVar[0] - 1) > 1e-2, "the running variance moved away from its initial value");
    // the trained parameters agree too (the running averages were compared above)
    boolean[] state = net.stateMask();
    for (int i = 0; i < params.length; i++) {
      if (state[i]) continue;
      assertEquals(params[i], distributed[i], 1e-4 * (1 + Math.abs(params[i])), "parameter " + i);
    }
    data.close();
  }
}
