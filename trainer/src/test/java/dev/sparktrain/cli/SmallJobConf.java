package dev.sparktrain.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A job config for the command-level tests: a small MLP on the four {@code SyntheticImages} files in one directory,
 * local[2] Spark without a UI, model and predictions inside the test's temporary directory.
 */
final class SmallJobConf {
  private SmallJobConf() {}

  /** Every setting of conf/fashion-mlp.conf, with values for a tiny, fast job on the files in dataDir. */
  static Map<String, String> settings(Path dataDir, Path modelPath, Path predictOutput) {
    Map<String, String> s = new LinkedHashMap<>();
    s.put("data.format", "idx");
    s.put("data.dataset", "");
    s.put("data.train", dataDir.resolve("train-images.gz").toString());
    s.put("data.train_labels", dataDir.resolve("train-labels.gz").toString());
    s.put("data.test", dataDir.resolve("test-images.gz").toString());
    s.put("data.test_labels", dataDir.resolve("test-labels.gz").toString());
    s.put("data.features_col", "features");
    s.put("data.label_col", "label");
    s.put("data.num_classes", "4");
    s.put("data.validation_fraction", "0.1");
    s.put("data.standardize", "true");
    s.put("data.partitions", "2");
    s.put("model.layers", "dense(16), relu, dense(4)");
    s.put("model.init", "he");
    s.put("model.path", modelPath.toString());
    s.put("train.epochs", "1");
    s.put("train.batch_size", "32");
    s.put("train.seed", "42");
    s.put("train.tree_depth", "2");
    s.put("optimizer.name", "momentum");
    s.put("optimizer.learning_rate", "0.05");
    s.put("optimizer.momentum", "0.9");
    s.put("predict.output", predictOutput.toString());
    s.put("spark.master", "local[2]");
    s.put("spark.ui.enabled", "false");
    return s;
  }

  /**
   * Runs the job on master: for local-cluster[2,1,1024], two executor JVMs of 768 MB that load this build's
   * classes, with the job waiting for both to register and free to use either whichever holds a cached block.
   */
  static void onMaster(Map<String, String> s, String master) {
    s.put("spark.master", master);
    s.put("spark.executor.memory", "768m");
    s.put("spark.scheduler.minRegisteredResourcesRatio", "1.0");
    s.put("spark.locality.wait", "0s");
    s.put("spark.executor.extraClassPath", Path.of("target/classes").toAbsolutePath() + ":"
        + Path.of("target/test-classes").toAbsolutePath());
  }

  /**
   * A small job in dir: the synthetic data (640 training and 200 test images of 8×8, 4 classes) written once to
   * dir/data, settings for model dir/NAME.stm and predictions dir/NAME-pred, with extra on top, as dir/NAME.conf.
   */
  /** dir/data with synthetic 8×8 images of 4 classes (train training and 200 test), written on the first call. */
  static Path syntheticData(Path dir, int train) throws IOException {
    Path data = dir.resolve("data");
    if (!Files.isDirectory(data)) {
      Files.createDirectories(data);
      dev.sparktrain.testing.SyntheticImages.writeDataset(data, train, 200, 8, 4);
    }
    return data;
  }

  static Path inDir(Path dir, String name, Map<String, String> extra) throws IOException {
    Path data = dir.resolve("data");
    if (!Files.exists(data)) {
      Files.createDirectories(data);
      dev.sparktrain.testing.SyntheticImages.writeDataset(data, 640, 200, 8, 4);
    }
    Map<String, String> s = settings(data, dir.resolve(name + ".stm"), dir.resolve(name + "-pred"));
    s.putAll(extra);
    return write(dir.resolve(name + ".conf"), s);
  }

  /** Writes settings as {@code key = value} lines under a comment line, and returns the file. */
  static Path write(Path file, Map<String, String> settings) throws IOException {
    List<String> lines = new ArrayList<>();
    lines.add("# a small job for the command-level tests");
    settings.forEach((k, v) -> lines.add(k + " = " + v));
    Files.write(file, lines, StandardCharsets.UTF_8);
    return file;
  }

  /** The 1-based line of key in a file written by {@link #write}. */
  static int lineOf(Map<String, String> settings, String key) {
    int line = 2;
    for (String k : settings.keySet()) {
      if (k.equals(key)) return line;
      line++;
    }
    throw new IllegalArgumentException("no setting " + key);
  }
}
