package dev.sparktrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktrain.io.SavedModel;
import dev.sparktrain.testing.CliRun;
import dev.sparktrain.testing.SyntheticImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The model barely depends on the number of partitions: the minibatches and every random draw are the same, and
 * only the order of the float32 sums differs. The bound, measured on this job: parameters within 1e-5 of their
 * scale after 2 epochs (≈ 90 steps) with dropout (measured: 1.3e-7 of 1.08), and the same test accuracy.
 */
class PartitionCountTest {
  @TempDir Path dir;

  @Test
  void oneTwoAndFourPartitionsAgreeWithinTheBound() throws Exception {
    Path data = Files.createDirectories(dir.resolve("data"));
    SyntheticImages.writeDataset(data, 1600, 400, 8, 4);
    int[] counts = {1, 2, 4};
    float[][] params = new float[counts.length][];
    double[] accuracy = new double[counts.length];
    for (int i = 0; i < counts.length; i++) {
      Path model = dir.resolve("m" + counts[i] + ".stm");
      Map<String, String> s = SmallJobConf.settings(data, model, dir.resolve("p" + i));
      s.put("model.layers", "dense(32), relu, dropout(0.2), dense(4)");
      s.put("train.epochs", "2");
      s.put("data.partitions", Integer.toString(counts[i]));
      CliRun.Result r = CliRun.inProcess("train", SmallJobConf.write(dir.resolve("c" + i + ".conf"), s).toString());
      assertEquals(0, r.exitCode(), r.toString());
      params[i] = SavedModel.load(model.toString(), new Configuration()).params();
      accuracy[i] = r.json().path("test_accuracy").asDouble();
    }
    double scale = 0;
    for (float v : params[0]) scale = Math.max(scale, Math.abs(v));
    for (int i = 1; i < counts.length; i++) {
      double diff = 0;
      for (int j = 0; j < params[0].length; j++) diff = Math.max(diff, Math.abs(params[i][j] - params[0][j]));
      System.err.printf("partitions %d vs 1: max |Δparam| = %.3g (scale %.3g)%n", counts[i], diff, scale);
      assertTrue(diff <= 1e-5 * scale, counts[i] + " partitions: max |Δparam| " + diff + " > 1e-5 × " + scale);
      assertEquals(accuracy[0], accuracy[i], 0, "test accuracy with " + counts[i] + " partitions");
    }
  }
}
