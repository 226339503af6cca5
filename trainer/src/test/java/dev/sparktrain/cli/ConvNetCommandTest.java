package dev.sparktrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparktrain.io.SavedModel;
import dev.sparktrain.nn.Shape;
import dev.sparktrain.testing.CliRun;
import dev.sparktrain.testing.SyntheticImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A convolutional network with every regularizer, trained, evaluated and applied through the commands:
 * BatchNorm, a residual block under stochastic depth, fractional max pooling, DropConnect, dropout, augmentation
 * on the executors, and test-time augmentation in train, evaluate and predict.
 */
class ConvNetCommandTest {
  private static final int SIDE = 8, CLASSES = 4;
  @TempDir Path dir;

  @Test
  void trainsEvaluatesAndPredictsWithTestTimeAugmentation() throws Exception {
    Path data = Files.createDirectory(dir.resolve("data"));
    SyntheticImages.writeDataset(data, 2000, 400, SIDE, CLASSES);
    Path model = dir.resolve("cnn.stm"), predictions = dir.resolve("predictions");
    Map<String, String> s = SmallJobConf.settings(data, model, predictions);
    s.put("data.shape", "1x8x8");
    s.put("data.standardize", "channel");
    // no crop: SyntheticImages' classes are horizontal bands two pixels high, which a vertical shift confuses
    s.put("data.augment", "flip, jitter(0.1, 0.1)");
    s.put("model.layers", "conv(6, 3), batchnorm, relu, res(6), fmp(1.414, overlap), flatten, "
        + "dropconnect(16, 0.2), relu, dropout(0.2), dense(4)");
    s.put("model.stochastic_depth", "0.8");
    s.put("train.epochs", "4");
    s.put("predict.tta", "flip");
    Path conf = SmallJobConf.write(dir.resolve("cnn.conf"), s);

    JsonNode trained = succeeds("train", conf.toString());
    double accuracy = trained.path("test_accuracy").asDouble(Double.NaN);
    assertTrue(accuracy >= 0.95, "test_accuracy of " + trained);
    assertTrue(trained.path("test_accuracy_tta").isNumber(), "test_accuracy_tta in " + trained);
    assertTrue(trained.path("train_accuracy").asDouble() >= 0.95, "train_accuracy in " + trained);

    SavedModel saved = SavedModel.load(model.toString(), new Configuration());
    assertEquals(new Shape(1, 8, 8), saved.spec().inputShape());
    assertEquals(0.8, saved.spec().finalSurvival());

    // evaluate reproduces both of train's test figures exactly, with and without test-time augmentation
    JsonNode flip = succeeds("evaluate", conf.toString());
    assertEquals(trained.path("test_accuracy_tta").asDouble(), flip.path("test_accuracy").asDouble(), 0, "flip TTA");
    assertEquals("flip", flip.path("tta").asText());
    JsonNode none = succeeds("evaluate", conf.toString(), "predict.tta=none");
    assertEquals(accuracy, none.path("test_accuracy").asDouble(), 0, "no TTA");
    JsonNode crops = succeeds("evaluate", conf.toString(), "predict.tta=crop10", "predict.tta_pad=1");
    // shifted crops blur the bands, but the average over ten views stays far above chance (0.25)
    assertTrue(crops.path("test_accuracy").asDouble() >= 0.6, "crop10 " + crops);

    // predict averages the flip views: its argmax agrees with evaluate's accuracy
    succeeds("predict", conf.toString());
    long right = 0, rows = 0;
    try (Stream<Path> parts = Files.list(predictions)) {
      for (Path part : parts.filter(p -> p.getFileName().toString().startsWith("part-")).toList()) {
        for (String line : Files.readAllLines(part)) {
          if (line.startsWith("row")) continue;
          String[] c = line.split(",");
          rows++;
          if (c[1].equals(c[2])) right++;
          double sum = 0;
          for (int j = 3; j < c.length; j++) sum += Double.parseDouble(c[j]);
          assertEquals(1.0, sum, 1e-4, "probabilities sum to 1 in " + line);
        }
      }
    }
    assertEquals(400, rows);
    assertEquals(flip.path("test_accuracy").asDouble(), (double) right / rows, 1e-12);
  }

  @Test
  void imageSettingsThatDoNotFitAreOneLineErrors() throws Exception {
    Path data = Files.createDirectory(dir.resolve("data"));
    SyntheticImages.writeDataset(data, 200, 50, SIDE, CLASSES);
    Map<String, String> s = SmallJobConf.settings(data, dir.resolve("m.stm"), dir.resolve("p"));
    s.put("model.layers", "conv(4, 3), relu, flatten, dense(4)");
    Path conf = SmallJobConf.write(dir.resolve("bad.conf"), s);
    for (var c : List.of(
        new String[] {"", "data.shape"},
        new String[] {"data.shape=1x9x9", "data.shape = 1x9x9 holds 81 values"},
        new String[] {"data.shape=1x8x8 data.augment=lighting(0.1)", "lighting"},
        new String[] {"data.shape=1x8x8 data.augment=crop(-1)", "data.augment"},
        new String[] {"data.shape=1x8x8 predict.tta=crop5", "predict.tta"},
        new String[] {"data.shape=1x8x8 model.stochastic_depth=0", "model.stochastic_depth"},
        new String[] {"data.shape=1x8x8 data.standardize=pixel", "data.standardize"})) {
      List<String> args = new java.util.ArrayList<>(List.of("train", conf.toString()));
      if (!c[0].isEmpty()) args.addAll(List.of(c[0].split(" ")));
      CliRun.Result r = CliRun.inProcess(args.toArray(String[]::new));
      assertEquals(2, r.exitCode(), c[0] + "\n" + r);
      assertEquals(1, r.errorLines().size(), c[0] + "\n" + r);
      assertTrue(r.errorLines().get(0).contains(c[1]), c[0] + ": " + r.errorLines().get(0));
      assertTrue(!Files.exists(dir.resolve("m.stm")), "no model is written");
    }
  }

  private static JsonNode succeeds(String... args) {
    CliRun.Result r = CliRun.inProcess(args);
    assertEquals(0, r.exitCode(), String.join(" ", args) + "\n" + r);
    assertTrue(r.errorLines().isEmpty(), "no error line\n" + r);
    return r.json();
  }
}
