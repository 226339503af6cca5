package dev.sparktrain.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.sparktrain.UserError;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Config files parse with line-numbered errors; every bad value names its setting and where it came from. */
class TrainConfigTest {
  @TempDir Path dir;

  private Path conf(String text) throws Exception {
    return Files.writeString(dir.resolve("job.conf"), text);
  }

  private String error(String text, String... overrides) throws Exception {
    Path p = conf(text);
    return assertThrows(UserError.class, () -> TrainConfig.from(Settings.load(p.toString(), List.of(overrides)))).getMessage();
  }

  @Test
  void shippedConfigParsesAndOverridesWin() {
    TrainConfig c = TrainConfig.from(Settings.load("../conf/fashion-mlp.conf", List.of("train.epochs=3", "spark.master=local[2]")));
    assertEquals(3, c.training().epochs());
    assertEquals(128, c.training().batchSize());
    assertEquals("dense(512), relu, dense(256), relu, dense(10)", c.model().layers());
    assertEquals("local[2]", c.spark().get("spark.master"));
    assertEquals("3", c.resolved().get("train.epochs"));
  }

  @Test
  void unknownKeyNamesFileLineAndSuggestion() throws Exception {
    String path = dir.resolve("job.conf").toString();
    assertEquals(path + ":3: unknown setting 'train.epoch' (did you mean 'train.epochs'?)",
        error("data.dataset = fashion-mnist\n# comment\ntrain.epoch = 5\n"));
    assertEquals("command line: unknown setting 'optimiser.name' (did you mean 'optimizer.name'?)",
        error("data.dataset = fashion-mnist\n", "optimiser.name=sgd"));
  }

  @Test
  void badValuesNameTheSetting() throws Exception {
    String path = dir.resolve("job.conf").toString();
    assertEquals("command line: optimizer.learning_rate = -0.1: must be a positive number",
        error("data.dataset = fashion-mnist\n", "optimizer.learning_rate=-0.1"));
    assertEquals(path + ":2: train.batch_size = 0: must be at least 1",
        error("data.dataset = fashion-mnist\ntrain.batch_size = 0\n"));
    assertEquals(path + ":2: optimizer.momentum = 1.5: must be in [0, 1)",
        error("data.dataset = fashion-mnist\noptimizer.momentum = 1.5\n"));
    assertEquals(path + ":2: train.epochs = ten: not an integer",
        error("data.dataset = fashion-mnist\ntrain.epochs = ten\n"));
    assertEquals(path + ":2: optimizer.name = adamax: unknown optimizer (known: sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw)",
        error("data.dataset = fashion-mnist\noptimizer.name = adamax\n"));
    assertEquals(path + ":2: optimizer.beta1 = 1.0: must be in [0, 1)",
        error("data.dataset = fashion-mnist\noptimizer.beta1 = 1.0\n"));
    assertEquals("data.format = hdf5: unknown format (known: idx, libsvm, parquet, csv)",
        error("data.dataset = fashion-mnist\ndata.format = hdf5\n"));
    assertEquals(path + ":1: expected key = value, got 'epochs 10'", error("epochs 10\n"));
  }

  /**
   * A config's text (the spark.ml estimator's config param): one line may separate settings by ';'; a conf file's
   * text is read as a file, so ensemble.overrides keeps its ';'-separated members.
   */
  @Test
  void configTextSplitsAtSemicolonsOnlyOnOneLine() {
    Settings one = Settings.parse("optimizer.name = adam; train.epochs = 3", "cfg");
    assertEquals("adam", one.string("optimizer.name", ""));
    assertEquals("3", one.string("train.epochs", ""));
    Settings file = Settings.parse("ensemble.vary = overrides\nensemble.overrides = train.epochs=2; train.epochs=3\n",
        "cfg");
    assertEquals("train.epochs=2; train.epochs=3", file.string("ensemble.overrides", ""));
    assertEquals("", file.string("train.epochs", ""));
    assertEquals("cfg:2: expected key = value, got 'oops'",
        assertThrows(UserError.class, () -> Settings.parse("a.b = 1\noops\n", "cfg")).getMessage());
  }

  /** Images overriding a named dataset's still need their labels: the dataset fills only what is not given. */
  @Test
  void idxImagesWithoutLabelsNameTheSetting() throws Exception {
    assertEquals("data.train_labels is empty: IDX images (data.train = /d/x.idx) need their labels file as well",
        error("data.dataset = fashion-mnist\n", "data.train=/d/x.idx"));
    assertEquals("data.test_labels is empty: IDX images (data.test = /d/t.idx) need their labels file as well",
        error("data.train = /d/x.idx\ndata.train_labels = /d/y.idx\ndata.test = /d/t.idx\n"));
  }

  @Test
  void missingConfigFile() {
    assertEquals("nope.conf: config file not found",
        assertThrows(UserError.class, () -> Settings.load("nope.conf", List.of())).getMessage());
  }

  /** The shipped config spells out every setting the trainer reads: no default hides in the code. */
  @Test
  void shippedConfigListsEverySetting() throws Exception {
    TrainConfig defaults = TrainConfig.from(Settings.of(Map.of("data.dataset", "fashion-mnist")));
    for (String conf : List.of("fashion-mlp", "fashion-cnn", "fashion-resnet", "fashion-fmp", "fashion-mlp-wide",
        "fashion-cnn-ensemble", "fashion-mlp-snapshot")) {
      java.util.Set<String> inFile = new java.util.TreeSet<>();
      for (String line : Files.readAllLines(Path.of("../conf/" + conf + ".conf"))) {
        String l = line.replaceAll("#.*", "").trim();
        if (!l.isEmpty() && !l.startsWith("spark.")) inFile.add(l.substring(0, l.indexOf('=')).trim());
      }
      assertEquals(new java.util.TreeSet<>(defaults.resolved().keySet()), inFile, conf);
      TrainConfig c = TrainConfig.from(Settings.load("../conf/" + conf + ".conf", List.of()));
      // the layers fit the data: Fashion-MNIST's 784 features, as data.shape says (or flat)
      var shape = c.data().shape() == null ? dev.sparktrain.nn.Shape.flat(784) : c.data().shape();
      assertEquals(784, shape.size(), conf);
      dev.sparktrain.nn.ModelSpec.parse(shape, c.model().layers(), 10, c.model().init(), c.model().stochasticDepth());
    }
  }
}
