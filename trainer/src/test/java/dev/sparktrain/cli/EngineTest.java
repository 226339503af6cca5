package dev.sparktrain.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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
 * The three engines train the same model bit for bit (a conv net with BatchNorm, dropout and augmentation, whose
 * steps carry batch statistics); auto picks the barrier engine when every partition has a task slot and the job
 * engine otherwise; an explicit barrier engine that cannot fit is a one-line error.
 */
class EngineTest {
  @TempDir Path dir;

  private Map<String, String> conf(Path data, String name, String engine) {
    Map<String, String> s = SmallJobConf.settings(data, dir.resolve(name + ".stm"), dir.resolve("p-" + name));
    s.put("data.shape", "1x8x8");
    s.put("data.augment", "crop(1), flip");
    s.put("model.layers", "conv(4, 3), batchnorm, relu, maxpool(2), flatten, dense(8), relu, dropout(0.3), dense(4)");
    s.put("train.epochs", "2");
    s.put("train.engine", engine);
    return s;
  }

  @Test
  void everyEngineTrainsTheSameModel() throws Exception {
    Path data = Files.createDirectories(dir.resolve("data"));
    SyntheticImages.writeDataset(data, 900, 100, 8, 4);
    String[][] runs = {{"job", "auto"}, {"barrier", "auto"}, {"barrier", "tcp"}, {"threads", "auto"}};
    float[][] params = new float[runs.length][];
    for (int i = 0; i < runs.length; i++) {
      String name = runs[i][0] + "-" + runs[i][1];
      Map<String, String> s = conf(data, name, runs[i][0]);
      s.put("train.transport", runs[i][1]);
      CliRun.Result r = CliRun.inProcess("train", SmallJobConf.write(dir.resolve(name + ".conf"), s).toString());
      assertEquals(0, r.exitCode(), r.toString());
      assertEquals(runs[i][0], r.json().path("engine").asText(), r.json().toString());
      params[i] = SavedModel.load(dir.resolve(name + ".stm").toString(), new Configuration()).params();
    }
    for (int i = 1; i < runs.length; i++) {
      assertArrayEquals(params[0], params[i], String.join("/", runs[i]) + " vs the job engine");
    }
  }

  @Test
  void autoFallsBackToTheJobEngineWhenSlotsAreShort() throws Exception {
    Path data = Files.createDirectories(dir.resolve("data"));
    SyntheticImages.writeDataset(data, 400, 100, 8, 4);
    Map<String, String> s = conf(data, "auto4", "auto");
    s.put("data.partitions", "4");  // local[2]: two slots
    CliRun.Result r = CliRun.inProcess("train", SmallJobConf.write(dir.resolve("auto4.conf"), s).toString());
    assertEquals(0, r.exitCode(), r.toString());
    assertEquals("job", r.json().path("engine").asText());
    assertTrue(r.stderr().contains("2 task slots for 4 partitions"), r.stderr());

    s.put("train.engine", "barrier");
    CliRun.Result bad = CliRun.inProcess("train", SmallJobConf.write(dir.resolve("barrier4.conf"), s).toString());
    assertEquals(2, bad.exitCode(), bad.toString());
    assertTrue(bad.stderr().contains("train.engine = barrier") && bad.stderr().contains("data.partitions = 4"), bad.stderr());
  }
}
