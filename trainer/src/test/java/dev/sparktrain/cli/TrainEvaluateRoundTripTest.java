package dev.sparktrain.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparktrain.io.SavedModel;
import dev.sparktrain.testing.CliRun;
import dev.sparktrain.testing.SyntheticImages;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The three commands end to end, in-process through {@link Main#run}: {@code train} learns an easy synthetic data
 * set and saves a model, {@code evaluate} on that model reproduces train's test accuracy exactly, {@code predict}
 * writes CSV predictions that agree with it, and the same seed trains bit-identical parameters.
 */
class TrainEvaluateRoundTripTest {
  private static final int TRAIN = 2000, TEST = 500, SIDE = 8, CLASSES = 4;
  /**
   * The bands of SyntheticImages are separable, and this model reaches 1.0 in three epochs. A trainer that does
   * not learn stays near 0.25; one that learns only some classes stays at or below 0.75.
   */
  private static final double MIN_ACCURACY = 0.95;

  @TempDir Path dir;
  private Path data, models;

  @BeforeEach
  void writeData() throws IOException {
    data = Files.createDirectory(dir.resolve("data"));
    SyntheticImages.writeDataset(data, TRAIN, TEST, SIDE, CLASSES);
    models = Files.createDirectory(dir.resolve("models"));
  }

  @Test
  void trainThenEvaluateThenPredict() throws Exception {
    Path model = models.resolve("model.stm"), predictions = dir.resolve("predictions");
    Path conf = conf(model, predictions, 3);

    JsonNode trained = succeeds("train", conf.toString());
    double accuracy = trained.path("test_accuracy").asDouble(Double.NaN);
    assertTrue(accuracy >= MIN_ACCURACY, "test_accuracy " + accuracy + " of " + trained);
    assertEquals(3, trained.path("epochs").asInt(), "epochs in " + trained);
    assertTrue(trained.path("seconds_per_epoch").isNumber() && trained.path("seconds_per_epoch").asDouble() > 0,
        "seconds_per_epoch in " + trained);
    assertEquals(model.toString(), trained.path("model").asText(), "model in " + trained);
    assertEquals(TEST, trained.path("test_examples").asLong(), "test_examples in " + trained);
    assertTrue(Files.isRegularFile(model), "train writes " + model);
    assertEquals(List.of("model.stm"), filesIn(models), "files in the model directory");

    JsonNode evaluated = succeeds("evaluate", conf.toString());
    assertEquals(accuracy, evaluated.path("test_accuracy").asDouble(Double.NaN),
        "evaluate on the saved model reproduces train's test accuracy exactly");
    // The accuracy saturates at 1.0 on this data; the loss is what shows a lost standardization or parameter.
    assertEquals(trained.path("test_loss").asDouble(), evaluated.path("test_loss").asDouble(), "test_loss");
    assertEquals(TEST, evaluated.path("examples").asLong(), "examples in " + evaluated);

    JsonNode predicted = succeeds("predict", conf.toString());
    assertEquals(TEST, predicted.path("predictions").asLong(), "predictions in " + predicted);
    List<String[]> rows = readPredictions(predictions);
    byte[] labels = new SyntheticImages(TEST, SIDE, CLASSES, 2).labels;  // the test set writeDataset wrote
    assertEquals(TEST, rows.size(), "one CSV line per test example");
    boolean[] seen = new boolean[TEST];
    int correct = 0;
    for (String[] r : rows) {
      // the row column is the 1-based record number
      int row = Integer.parseInt(r[0]) - 1, label = Integer.parseInt(r[1]), prediction = Integer.parseInt(r[2]);
      assertTrue(row >= 0 && row < TEST && !seen[row], "row " + row + " appears once");
      seen[row] = true;
      assertEquals(labels[row], label, "label column of row " + row);
      double sum = 0, best = -1;
      int argmax = -1;
      for (int j = 0; j < CLASSES; j++) {
        double p = Double.parseDouble(r[3 + j]);
        sum += p;
        if (p > best) {
          best = p;
          argmax = j;
        }
      }
      assertEquals(1.0, sum, 1e-5, "probabilities of row " + row + " sum to 1");
      assertEquals(argmax, prediction, "prediction of row " + row + " is its most probable class");
      if (prediction == label) correct++;
    }
    assertEquals(accuracy, (double) correct / TEST, "predict agrees with the labels at evaluate's accuracy");
  }

  @Test
  void sameSeedTrainsBitIdenticalModels() throws Exception {
    Path first = models.resolve("first.stm"), second = models.resolve("second.stm");
    JsonNode a = succeeds("train", conf(first, dir.resolve("p1"), 2).toString());
    JsonNode b = succeeds("train", conf(second, dir.resolve("p2"), 2).toString());
    SavedModel m1 = SavedModel.load(first.toString(), new Configuration());
    SavedModel m2 = SavedModel.load(second.toString(), new Configuration());
    assertArrayEquals(m1.params(), m2.params(), "parameters of two runs with train.seed = 42");
    assertArrayEquals(m1.standardizer().mean(), m2.standardizer().mean(), "feature means");
    assertArrayEquals(m1.standardizer().std(), m2.standardizer().std(), "feature standard deviations");
    assertEquals(a.path("test_accuracy").asDouble(), b.path("test_accuracy").asDouble(), "test accuracy");
    assertEquals(a.path("train_loss").asDouble(), b.path("train_loss").asDouble(), "train loss");
  }

  private Path conf(Path model, Path predictions, int epochs) throws IOException {
    Map<String, String> s = SmallJobConf.settings(data, model, predictions);
    s.put("model.layers", "dense(32), relu, dense(4)");
    s.put("train.epochs", Integer.toString(epochs));
    return SmallJobConf.write(dir.resolve("round-trip-" + model.getFileName() + ".conf"), s);
  }

  private static JsonNode succeeds(String... args) {
    CliRun.Result r = CliRun.inProcess(args);
    assertEquals(0, r.exitCode(), String.join(" ", args) + "\n" + r);
    assertTrue(r.errorLines().isEmpty(), "no error line\n" + r);
    JsonNode json = r.json();
    assertTrue(!json.has("error"), "no error in " + json);
    return json;
  }

  /** The data lines of every part file of predict's output directory, checking the one header. */
  private static List<String[]> readPredictions(Path output) throws IOException {
    List<Path> parts;
    try (Stream<Path> s = Files.list(output)) {
      parts = s.filter(p -> p.getFileName().toString().startsWith("part-")).sorted().toList();
    }
    assertTrue(!parts.isEmpty(), "part files in " + output);
    String header = "row,label,prediction,p0,p1,p2,p3";
    List<String[]> rows = new ArrayList<>();
    int headers = 0;
    for (Path part : parts) {
      for (String line : Files.readAllLines(part)) {
        if (line.equals(header)) {
          assertEquals(0, rows.size(), "the header comes first");
          headers++;
          continue;
        }
        String[] cells = line.split(",");
        assertEquals(3 + CLASSES, cells.length, "cells in '" + line + "' of " + part.getFileName());
        rows.add(cells);
      }
    }
    assertEquals(1, headers, "one header line " + header);
    return rows;
  }

  private static List<String> filesIn(Path d) throws IOException {
    try (Stream<Path> s = Files.list(d)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }
}
