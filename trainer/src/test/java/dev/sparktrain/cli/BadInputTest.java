package dev.sparktrain.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktrain.data.FeatureStats;
import dev.sparktrain.io.SavedModel;
import dev.sparktrain.nn.Init;
import dev.sparktrain.nn.ModelSpec;
import dev.sparktrain.testing.CliRun;
import dev.sparktrain.testing.SyntheticImages;
import dev.sparktrain.train.GradientTask;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad input, run as users run the tool (a child JVM with conf/jvm.options and conf/log4j2.properties): each case
 * must exit with code 2, print one {@code error:} line naming the file, row or setting and no stack trace, end
 * stdout with a JSON {@code {"error": ...}}, and leave no model file and no temporary file behind.
 */
class BadInputTest {
  private static final long TIMEOUT_SECONDS = 120;
  private static final int TRAIN = 200, TEST = 100, SIDE = 8, CLASSES = 4;

  @TempDir Path dir;
  private Path data, models, model;
  private Map<String, String> settings;

  @BeforeEach
  void writeDataAndConf() throws IOException {
    data = Files.createDirectory(dir.resolve("data"));
    SyntheticImages.writeDataset(data, TRAIN, TEST, SIDE, CLASSES);
    models = Files.createDirectory(dir.resolve("models"));
    model = models.resolve("model.stm");
    settings = SmallJobConf.settings(data, model, dir.resolve("predictions"));
  }

  @Test
  void missingTrainingFile() throws Exception {
    Path missing = data.resolve("no-such-images.gz");
    settings.put("data.train", missing.toString());
    train(conf()).assertUserError(missing.getFileName().toString(), "not found");
    assertNoModelWritten();
  }

  @Test
  void wrongMagicNumber() throws Exception {
    byte[] idx = new SyntheticImages(TRAIN, SIDE, CLASSES, 1).imagesIdx();
    idx[2] = 0x09;  // element type 0x09 (signed byte) instead of 0x08 (unsigned byte)
    Path bad = data.resolve("bad-magic-images.gz");
    SyntheticImages.gzip(bad, idx);
    settings.put("data.train", bad.toString());
    train(conf()).assertUserError(bad.getFileName().toString(), "magic", "0x00000903");
    assertNoModelWritten();
  }

  @Test
  void zeroAndHugeDimensionsAreInvalidHeaders() throws Exception {
    Path zero = data.resolve("zero-rows-images.idx");
    Files.write(zero, SyntheticImages.idx(3, new byte[0], TRAIN, 0, SIDE));
    settings.put("data.train", zero.toString());
    train(conf()).assertUserError(zero.getFileName().toString(), "invalid IDX header", "dimension 2 of 3 (rows) is 0");
    Path huge = data.resolve("huge-count-images.idx");
    Files.write(huge, SyntheticImages.idx(3, new byte[0], 0xFFFFFFFF, SIDE, SIDE));
    settings.put("data.train", huge.toString());
    train(conf()).assertUserError(huge.getFileName().toString(), "invalid IDX header",
        "dimension 1 of 3 (record count) is 0xFFFFFFFF");
    assertNoModelWritten();
  }

  @Test
  void idxImagesWithoutTheirLabelsFile() throws Exception {
    settings.put("data.train_labels", "");
    train(conf()).assertUserError("data.train_labels is empty", "train-images.gz");
    assertNoModelWritten();
  }

  @Test
  void truncatedRawImagesFile() throws Exception {
    byte[] idx = new SyntheticImages(TRAIN, SIDE, CLASSES, 1).imagesIdx();
    Path bad = data.resolve("short-images.idx");
    Files.write(bad, Arrays.copyOf(idx, 16 + 150 * SIDE * SIDE + 10));  // 150 whole images and a part
    settings.put("data.train", bad.toString());
    train(conf()).assertUserError(bad.getFileName().toString(), "truncated", "150");
    assertNoModelWritten();
  }

  @Test
  void truncatedGzippedImagesFile() throws Exception {
    Path whole = data.resolve("whole-images.gz");
    SyntheticImages.gzip(whole, new SyntheticImages(TRAIN, SIDE, CLASSES, 1).imagesIdx());
    byte[] gz = Files.readAllBytes(whole);
    Path bad = data.resolve("cut-images.gz");
    Files.write(bad, Arrays.copyOf(gz, gz.length / 2));  // an interrupted download: the gzip stream just ends
    settings.put("data.train", bad.toString());
    train(conf()).assertUserError(bad.getFileName().toString(), "truncated");
    assertNoModelWritten();
  }

  @Test
  void imagesAndLabelsOfDifferentCounts() throws Exception {
    SyntheticImages images = new SyntheticImages(TRAIN, SIDE, CLASSES, 1);
    Path labels = data.resolve("fewer-labels.gz");
    SyntheticImages.gzip(labels, SyntheticImages.idx(1, Arrays.copyOf(images.labels, TRAIN - 1), TRAIN - 1));
    settings.put("data.train_labels", labels.toString());
    train(conf()).assertUserError("train-images.gz", "fewer-labels.gz", TRAIN + " images", (TRAIN - 1) + " labels");
    assertNoModelWritten();
  }

  @Test
  void labelOutOfRange() throws Exception {
    byte[] y = new SyntheticImages(TRAIN, SIDE, CLASSES, 1).labels.clone();
    y[37] = 7;
    Path labels = data.resolve("label-7-labels.gz");
    SyntheticImages.gzip(labels, SyntheticImages.idx(1, y, TRAIN));
    settings.put("data.train_labels", labels.toString());
    // Rows are numbered from 1 in every format, as in the row column that predict writes: index 37 is row 38.
    train(conf()).assertUserError("label-7-labels.gz", "row 38", "label 7", "data.num_classes");
    assertNoModelWritten();
  }

  @Test
  void featureDimensionDiffersFromTheModel() throws Exception {
    saveModelFor8x8Images();
    byte[] modelBytes = Files.readAllBytes(model);
    SyntheticImages small = new SyntheticImages(TEST, 6, CLASSES, 3);
    Path images = data.resolve("six-by-six-images.gz"), labels = data.resolve("six-by-six-labels.gz");
    SyntheticImages.gzip(images, small.imagesIdx());
    SyntheticImages.gzip(labels, small.labelsIdx());
    CliRun.Result r = CliRun.subprocess(dir, TIMEOUT_SECONDS, "evaluate", conf().toString(),
        "data.test=" + images, "data.test_labels=" + labels);
    r.assertUserError("six-by-six-images.gz", "36", "64");
    assertArrayEquals(modelBytes, Files.readAllBytes(model), "evaluate must leave the model file as it was");
    assertEquals(List.of("model.stm"), filesIn(models), "files beside the model");
  }

  @Test
  void unknownSettingInConfigFile() throws Exception {
    Map<String, String> typo = new LinkedHashMap<>();
    settings.forEach((k, v) -> typo.put(k.equals("train.epochs") ? "train.epoch" : k, v));
    Path conf = SmallJobConf.write(dir.resolve("typo.conf"), typo);
    int line = SmallJobConf.lineOf(typo, "train.epoch");
    train(conf).assertUserError("typo.conf:" + line, "'train.epoch'", "did you mean 'train.epochs'");
    assertNoModelWritten();
  }

  @Test
  void unknownSettingOnCommandLine() throws Exception {
    train(conf(), "train.epoch=2").assertUserError("command line", "'train.epoch'", "did you mean 'train.epochs'");
    assertNoModelWritten();
  }

  @Test
  void negativeLearningRate() throws Exception {
    train(conf(), "optimizer.learning_rate=-0.1").assertUserError("optimizer.learning_rate", "-0.1", "positive");
    assertNoModelWritten();
  }

  /**
   * Saves an untrained dense(16), relu, dense(4) model for 8×8 inputs at model.path, through the writer train
   * uses; evaluate checks the data's dimension before it uses the parameters, so training would only cost time.
   */
  private void saveModelFor8x8Images() {
    ModelSpec spec = ModelSpec.parse(SIDE * SIDE, settings.get("model.layers"), CLASSES, Init.HE);
    float[] params = GradientTask.network(spec).initParams(42);
    new SavedModel(spec, params, FeatureStats.Standardizer.identity(SIDE * SIDE), settings, Map.of(), Map.of())
        .save(model.toString(), new Configuration());
  }

  private Path conf() throws IOException {
    return SmallJobConf.write(dir.resolve("job.conf"), settings);
  }

  private CliRun.Result train(Path conf, String... overrides) throws Exception {
    List<String> args = new ArrayList<>(List.of("train", conf.toString()));
    args.addAll(List.of(overrides));
    return CliRun.subprocess(dir, TIMEOUT_SECONDS, args.toArray(String[]::new));
  }

  /** Neither the model nor a temporary or checksum file beside it. */
  private void assertNoModelWritten() throws IOException {
    assertTrue(Files.notExists(model), "a failed run must not write " + model);
    assertEquals(List.of(), filesIn(models), "files left in the model directory");
  }

  private static List<String> filesIn(Path d) throws IOException {
    try (Stream<Path> s = Files.list(d)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }
}
