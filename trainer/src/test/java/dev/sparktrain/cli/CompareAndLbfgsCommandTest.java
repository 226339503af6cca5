package dev.sparktrain.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparktrain.testing.CliRun;
import dev.sparktrain.testing.SyntheticImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code compare} runs several optimizers concurrently and writes their curves and a plot; {@code train} with
 * {@code optimizer.name = lbfgs} trains full-batch. Both through the real command, on synthetic data.
 */
class CompareAndLbfgsCommandTest {
  private static final int TRAIN = 1200, TEST = 300, SIDE = 8, CLASSES = 4;
  @TempDir Path dir;

  private Map<String, String> settings() throws Exception {
    Path data = Files.createDirectories(dir.resolve("data"));
    SyntheticImages.writeDataset(data, TRAIN, TEST, SIDE, CLASSES);
    Map<String, String> s = SmallJobConf.settings(data, dir.resolve("model.stm"), dir.resolve("predictions"));
    s.put("model.layers", "dense(16), relu, dense(4)");
    return s;
  }

  private static JsonNode succeeds(String... args) {
    CliRun.Result r = CliRun.inProcess(args);
    assertEquals(0, r.exitCode(), String.join(" ", args) + "\n" + r);
    return r.json();
  }

  @Test
  void compareWritesCurvesAndPlotForEveryRun() throws Exception {
    Map<String, String> s = settings();
    Path out = dir.resolve("compare");
    s.put("train.epochs", "2");
    s.put("compare.runs", "sgd, adam");
    s.put("compare.learning_rates", "0.05, 0.003");
    s.put("compare.output", out.toString());
    Path conf = SmallJobConf.write(dir.resolve("compare.conf"), s);
    JsonNode json = succeeds("compare", conf.toString());

    assertEquals(2, json.path("runs").size(), json.toString());
    for (int i = 0; i < 2; i++) {
      JsonNode run = json.path("runs").get(i);
      assertEquals(List.of("sgd", "adam").get(i), run.path("optimizer").asText());
      assertTrue(run.path("final_val_accuracy").asDouble() > 0.9, run.toString());
      assertTrue(run.path("final_train_loss").asDouble() < 0.5, run.toString());
    }
    List<String> epochs = Files.readAllLines(out.resolve("epochs.csv"));
    assertEquals("run,optimizer,epoch,train_loss,val_loss,val_accuracy,lr,seconds", epochs.get(0));
    assertEquals(1 + 2 * 2, epochs.size(), "a line per run and epoch");
    List<String> iterations = Files.readAllLines(out.resolve("iterations.csv"));
    long sgdSteps = iterations.stream().filter(l -> l.startsWith("sgd,")).count();
    assertEquals(iterations.size() - 1 - sgdSteps, sgdSteps, "both runs log every step");
    assertTrue(sgdSteps >= 2 * (TRAIN * 0.85 / 32), "steps of two epochs: " + sgdSteps);
    byte[] png = Files.readAllBytes(Path.of(json.path("plot").asText()));
    assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, Arrays.copyOf(png, 4));
    assertTrue(Files.readString(out.resolve("curves.svg")).contains("<svg"), "an SVG beside the PNG");
  }

  @Test
  void lbfgsTrainsFullBatch() throws Exception {
    Map<String, String> s = settings();
    s.put("optimizer.name", "lbfgs");
    s.put("model.layers", "dense(4)");
    s.put("lbfgs.max_iterations", "30");
    JsonNode json = succeeds("train", SmallJobConf.write(dir.resolve("lbfgs.conf"), s).toString());
    assertTrue(json.path("test_accuracy").asDouble() > 0.95, json.toString());
    assertTrue(Files.isRegularFile(dir.resolve("model.stm")));
  }
}
