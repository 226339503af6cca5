package dev.sparktrain.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Metrics files as the metrics callback writes them (the contract in README "Training report"), generated for
 * tests: a Fashion-MNIST-like run of 10 classes whose loss falls like a real run's, with noise, a schedule, a
 * validation split and a test confusion matrix.
 */
public final class MetricsFixtures {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Fashion-MNIST's classes in label order and a plausible test accuracy for each (shirts are the hardest). */
  static final double[] CLASS_ACCURACY = {0.85, 0.97, 0.82, 0.89, 0.83, 0.96, 0.68, 0.95, 0.97, 0.95};

  /** How to shape a run. */
  public record Shape(String name, String optimizer, double lr, boolean cosine, int epochs, int stepsPerEpoch,
      int batch, long seed, boolean withTest) {}

  private MetricsFixtures() {}

  /** A run of 10 epochs of 422 steps (batch 128 over 53,919 examples), as the default mlp config trains. */
  public static Shape fashion(String name, String optimizer, double lr, boolean cosine, long seed) {
    return new Shape(name, optimizer, lr, cosine, 10, 422, 128, seed, true);
  }

  /** The lines of a complete metrics file, start to end. */
  public static List<String> lines(Shape s) {
    Random rng = new Random(s.seed());
    List<String> out = new ArrayList<>();
    Map<String, Object> start = new LinkedHashMap<>();
    start.put("type", "start");
    start.put("time", "2026-12-06T21:0" + (s.seed() % 10) + ":00Z");
    start.put("command", "train");
    start.put("run", s.name());
    Map<String, Object> config = new LinkedHashMap<>();
    config.put("model.layers", "dense(512), relu, dense(256), relu, dense(10)");
    config.put("optimizer.name", s.optimizer());
    config.put("optimizer.learning_rate", Double.toString(s.lr()));
    config.put("schedule.name", s.cosine() ? "cosine" : "constant");
    config.put("train.batch_size", Integer.toString(s.batch()));
    config.put("train.epochs", Integer.toString(s.epochs()));
    config.put("train.seed", Long.toString(s.seed()));
    config.put("spark.master", "local[2]");
    start.put("config", config);
    Map<String, Object> provenance = new LinkedHashMap<>();
    provenance.put("project_version", "0.1.0-SNAPSHOT");
    provenance.put("java", "17.0.13");
    provenance.put("spark", "4.2.0");
    provenance.put("host", "trainer-1");
    provenance.put("master", "local[2]");
    provenance.put("seed", s.seed());
    start.put("provenance", provenance);
    start.put("writer", "fixture"); // an extra field: readers must ignore it
    out.add(json(start));
    double seconds = 0, floor = s.optimizer().equals("sgd") ? 0.30 : 0.16;
    int total = s.epochs() * s.stepsPerEpoch();
    for (int e = 1; e <= s.epochs(); e++) {
      double epochLoss = 0, epochSeconds = 0, lr = s.lr();
      for (int i = 0; i < s.stepsPerEpoch(); i++) {
        long step = (long) (e - 1) * s.stepsPerEpoch() + i + 1;
        lr = s.cosine() ? s.lr() * 0.5 * (1 + Math.cos(Math.PI * (step - 1) / total)) : s.lr();
        double progress = (double) step / s.stepsPerEpoch();
        double loss = floor + 2.0 * Math.exp(-3 * progress) + 0.25 / (1 + progress) + 0.06 * rng.nextGaussian();
        loss = Math.max(0.02, loss);
        double ex = 17_000 + 1_500 * rng.nextGaussian() - (step < 20 ? 9_000 : 0);
        double dt = s.batch() / ex;
        seconds += dt;
        epochSeconds += dt;
        epochLoss += loss;
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("type", "step");
        r.put("step", step);
        r.put("epoch", e);
        r.put("loss", round(loss));
        r.put("lr", lr);
        r.put("grad_norm", step == 3 ? null : round(0.4 + 2.5 * loss + 0.2 * rng.nextGaussian()));
        r.put("examples_per_second", round(ex));
        r.put("seconds", round(seconds));
        out.add(json(r));
      }
      double trainLoss = epochLoss / s.stepsPerEpoch(), valLoss = trainLoss + 0.02 * e + 0.03 * rng.nextGaussian();
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("type", "epoch");
      r.put("epoch", e);
      r.put("train_loss", round(trainLoss));
      r.put("train_accuracy", round(Math.min(0.99, 1.02 - 0.6 * trainLoss)));
      r.put("validation_loss", round(valLoss));
      r.put("validation_accuracy", round(Math.min(0.95, 0.99 - 0.45 * trainLoss - 0.004 * e + 0.004 * rng.nextGaussian())));
      r.put("lr", lr);
      r.put("seconds", round(epochSeconds));
      out.add(json(r));
    }
    Map<String, Object> end = new LinkedHashMap<>();
    end.put("type", "end");
    end.put("seconds", round(seconds + 2.5));
    Map<String, Object> result = new LinkedHashMap<>();
    result.put("epochs", s.epochs());
    result.put("model", "models/" + s.name() + ".stm");
    end.put("result", result);
    if (s.withTest()) {
      long[][] confusion = confusion(rng, s.optimizer().equals("sgd") ? 0.03 : 0.0);
      long correct = 0;
      for (int i = 0; i < 10; i++) correct += confusion[i][i];
      Map<String, Object> test = new LinkedHashMap<>();
      test.put("accuracy", correct / 10_000.0);
      test.put("loss", round(floor + 0.22));
      test.put("classes", List.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
      test.put("confusion", confusion);
      end.put("test", test);
    } else {
      end.put("test", null);
    }
    out.add(json(end));
    return out;
  }

  /** 1,000 test examples per class; the errors go mostly to the classes Fashion-MNIST confuses. */
  static long[][] confusion(Random rng, double worse) {
    int[][] likely = {{6, 3, 2}, {3, 0, 6}, {4, 6, 0}, {0, 6, 4}, {2, 6, 3}, {7, 9, 8}, {0, 2, 4}, {5, 9, 8},
        {6, 0, 2}, {7, 5, 8}};
    long[][] m = new long[10][10];
    for (int i = 0; i < 10; i++) {
      int right = (int) Math.round(1000 * (CLASS_ACCURACY[i] - worse));
      m[i][i] = right;
      int wrong = 1000 - right;
      int[] shares = {wrong * 5 / 10, wrong * 3 / 10, wrong - wrong * 5 / 10 - wrong * 3 / 10};
      for (int k = 0; k < 3; k++) {
        int j = likely[i][k] == i ? (i + 1) % 10 : likely[i][k];
        m[i][j] += shares[k];
      }
    }
    return m;
  }

  /** Writes lines to a file, each ending in a newline. */
  public static Path write(Path file, List<String> lines) {
    try {
      Files.write(file, lines);
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static double round(double v) {
    return Math.round(v * 1e5) / 1e5;
  }

  private static String json(Object o) {
    try {
      return JSON.writeValueAsString(o);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
