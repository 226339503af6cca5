package dev.sparktrain.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.sparktrain.io.SavedModel;
import dev.sparktrain.testing.CliRun;
import dev.sparktrain.testing.SyntheticImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import dev.sparktrain.testing.SparkFixture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The same config trained in local[2] (one JVM) and in local-cluster[2,1,1024] (two executor JVMs that Spark
 * forks from target/spark-home, made of the project's own jars) gives a bit-identical model.
 */
class LocalClusterDeterminismTest {
  @TempDir Path dir;

  @Test
  void separateExecutorJvmsTrainTheSameBits() throws Exception {
    Path data = Files.createDirectories(dir.resolve("data"));
    SyntheticImages.writeDataset(data, 900, 100, 8, 4);
    String[] masters = {"local[2]", "local-cluster[2,1,1024]"};
    float[][] params = new float[2][];
    for (int run = 0; run < 2; run++) {
      SparkFixture.stopAll();
      Path model = dir.resolve("model-" + run + ".stm");
      Map<String, String> s = SmallJobConf.settings(data, model, dir.resolve("p" + run));
      s.put("model.layers", "dense(16), relu, dense(4)");
      s.put("train.epochs", "2");
      SmallJobConf.onMaster(s, masters[run]);
      CliRun.Result r = CliRun.inProcess("train", SmallJobConf.write(dir.resolve("run" + run + ".conf"), s).toString());
      assertEquals(0, r.exitCode(), masters[run] + "\n" + r);
      params[run] = SavedModel.load(model.toString(), new Configuration()).params();
    }
    SparkFixture.stopAll();
    assertArrayEquals(params[0], params[1], "local-cluster vs local[2]");
  }
}
