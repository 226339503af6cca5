package dev.sparktrain.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktrain.config.Settings;
import dev.sparktrain.config.TrainConfig;
import dev.sparktrain.data.IdxFile;
import dev.sparktrain.nn.LayerMapping;
import dev.sparktrain.nn.Network;
import dev.sparktrain.tensor.BlasGemm;
import dev.sparktrain.testing.SparkFixture;
import dev.sparktrain.testing.SyntheticImages;
import dev.sparktrain.train.Callback;
import dev.sparktrain.train.LoopControl;
import dev.sparktrain.train.Progress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The library API: Trainer.fit over TrainingData from files or from a DataFrame, fine-tuning, separate seeds. */
class TrainerTest {
  private static final String CONV = "conv(4, 3), batchnorm, relu, maxpool(2), flatten, dense(16), relu, dropout(0.2), dense(4)";
  @TempDir Path dir;

  private TrainConfig config(Map<String, String> extra) throws Exception {
    SyntheticImages.writeDataset(dir, 800, 100, 8, 4);  // 800 = 2 × 400: the same partition boundaries either way
    Map<String, String> s = new LinkedHashMap<>(Map.of(
        "data.train", dir.resolve("train-images.gz").toString(),
        "data.train_labels", dir.resolve("train-labels.gz").toString(),
        "data.num_classes", "4", "data.partitions", "2", "data.shape", "1x8x8", "data.standardize", "channel",
        "data.augment", "flip", "model.layers", CONV, "train.epochs", "2", "train.batch_size", "64"));
    s.put("optimizer.name", "adam");
    s.put("optimizer.learning_rate", "0.01");
    s.put("model.path", dir.resolve("m.stm").toString());
    s.putAll(extra);
    return TrainConfig.from(Settings.of(s));
  }

  /** The training IDX files as a DataFrame of (features: array<double>, label: double), in file order. */
  private Dataset<Row> frame(SparkSession spark) {
    Configuration conf = new Configuration();
    IdxFile images = IdxFile.open(dir.resolve("train-images.gz").toString(), 3, conf);
    IdxFile labels = IdxFile.open(dir.resolve("train-labels.gz").toString(), 1, conf);
    int n = images.count(), d = images.recordSize();
    float[] x = images.readImages(0, n, conf);
    int[] y = labels.readLabels(0, n, 4, conf);
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      double[] f = new double[d];
      for (int j = 0; j < d; j++) f[j] = x[i * d + j];
      rows.add(RowFactory.create(f, (double) y[i]));
    }
    StructType schema = new StructType()
        .add("pixels", DataTypes.createArrayType(DataTypes.DoubleType, false))
        .add("class", DataTypes.DoubleType);
    return spark.createDataFrame(rows, schema);
  }

  @Test
  void aDataFrameTrainsTheSameBitsAsTheIdxFiles() throws Exception {
    SparkSession spark = SparkFixture.local2();
    TrainConfig cfg = config(Map.of());
    Trainer trainer = new Trainer(spark);
    float[] fromFiles, fromFrame;
    int trainCount;
    try (TrainingData data = TrainingData.load(spark, cfg.data(), Progress.quiet())) {
      trainCount = data.trainCount();
      fromFiles = trainer.fit(data, FitOptions.from(cfg)).params();
    }
    try (TrainingData data = TrainingData.from(frame(spark), "pixels", "class", cfg.data().shape(),
        TrainingData.Preparation.of(cfg.data()))) {
      assertEquals(trainCount, data.trainCount(), "the same seeded split");
      fromFrame = trainer.fit(data, FitOptions.from(cfg)).params();
    }
    assertArrayEquals(fromFiles, fromFrame, "Trainer.fit on the DataFrame equals the IDX files' run bit for bit");
    // without a Preparation: the table's defaults, classes from the largest label
    try (TrainingData data = TrainingData.from(frame(spark), "pixels", "class", cfg.data().shape())) {
      assertEquals(4, data.numClasses());
      assertEquals(trainCount, data.trainCount());
    }
  }

  /** Records the parameters each fit starts from. */
  private static final class StartParams implements Callback {
    float[] params;

    @Override public void onTrainStart(TrainStart e, LoopControl loop) {
      params = new float[e.params().limit()];
      e.params().get(0, params);
    }
  }

  @Test
  void fineTuningStartsFromTheSavedModelsMappedLayers() throws Exception {
    SparkSession spark = SparkFixture.local2();
    TrainConfig cfg = config(Map.of("train.epochs", "1"));
    Trainer trainer = new Trainer(spark);
    try (TrainingData data = TrainingData.load(spark, cfg.data(), Progress.quiet())) {
      TrainedModel base = trainer.fit(data, FitOptions.from(cfg));
      String path = dir.resolve("base.stm").toString();
      base.save(path, new Configuration(), Map.of());
      // a new head: the layers before the last dense(4) are taken, the head is a fresh dense(8), relu, dense(4)
      String layers = CONV.replace("dropout(0.2), dense(4)", "dropout(0.2), dense(8), relu, dense(4)");
      TrainConfig tuned = cfg.with(Map.of("model.layers", layers, "train.init_seed", "9"));
      StartParams start = new StartParams();
      trainer.fit(data, FitOptions.from(tuned).withCallbacks(start)
          .withInitial(InitialParams.fromModel(path, LayerMapping.firstLayers(8))));
      Network source = new Network(base.spec(), BlasGemm.INSTANCE);
      Network target = new Network(Trainer.modelSpec(tuned, data), BlasGemm.INSTANCE);
      float[] seeded = target.initParams(9);
      float[] saved = base.params();
      int copied = target.offset(8);
      assertEquals(source.offset(8), copied, "the first 8 layers have the same slices");
      assertArrayEquals(java.util.Arrays.copyOf(saved, copied), java.util.Arrays.copyOf(start.params, copied),
          "mapped layers (BatchNorm running averages included) start from the saved model");
      assertArrayEquals(java.util.Arrays.copyOfRange(seeded, copied, seeded.length),
          java.util.Arrays.copyOfRange(start.params, copied, seeded.length), "the new head is seeded by train.init_seed");
      // a mapping whose layers do not fit is a one-line error naming the file and both layers
      String message = org.junit.jupiter.api.Assertions.assertThrows(dev.sparktrain.UserError.class,
          () -> trainer.fit(data, FitOptions.from(tuned).withInitial(InitialParams.fromModel(path,
              LayerMapping.of(Map.of(9, 8)))))).getMessage();
      assertTrue(message.startsWith(path + ": layer 8 (dense(4)"), message);
    }
  }

  @Test
  void theSeedsAreSeparate() throws Exception {
    SparkSession spark = SparkFixture.local2();
    TrainConfig cfg = config(Map.of("train.epochs", "1", "train.seed", "5"));
    Trainer trainer = new Trainer(spark);
    try (TrainingData data = TrainingData.load(spark, cfg.data(), Progress.quiet())) {
      Network net = new Network(Trainer.modelSpec(cfg, data), BlasGemm.INSTANCE);
      StartParams a = new StartParams(), b = new StartParams();
      float[] all5 = trainer.fit(data, FitOptions.from(cfg).withCallbacks(a)).params();
      assertArrayEquals(net.initParams(5), a.params, "train.seed sets the initialisation when init_seed is not given");
      float[] init6 = trainer.fit(data, FitOptions.from(cfg.with(Map.of("train.init_seed", "6"))).withCallbacks(b)).params();
      assertArrayEquals(net.initParams(6), b.params);
      assertFalse(java.util.Arrays.equals(all5, init6));
      // the same init seed with another order seed starts alike and ends elsewhere
      StartParams c = new StartParams();
      float[] order7 = trainer.fit(data, FitOptions.from(cfg.with(Map.of("train.order_seed", "7"))).withCallbacks(c)).params();
      assertArrayEquals(a.params, c.params);
      assertFalse(java.util.Arrays.equals(all5, order7));
    }
    // the split seed moves the validation split and nothing else
    try (TrainingData d5 = TrainingData.load(spark, cfg.data(), Progress.quiet());
         TrainingData d8 = TrainingData.load(spark, cfg.with(Map.of("data.split_seed", "8")).data(), Progress.quiet())) {
      assertEquals(5, d5.preparation().splitSeed());
      assertEquals(8, d8.preparation().splitSeed());
      List<Long> rows5 = d5.validation().flatMap(x -> java.util.Arrays.stream(x.rows()).boxed().iterator()).collect();
      List<Long> rows8 = d8.validation().flatMap(x -> java.util.Arrays.stream(x.rows()).boxed().iterator()).collect();
      assertFalse(rows5.equals(rows8), "another split seed holds out other rows");
    }
  }

  @Test
  void fitsRunConcurrentlyOverOneTrainingDataGiveTheBitsTheyGiveAlone() throws Exception {
    SparkSession spark = SparkFixture.local2();
    TrainConfig cfg = config(Map.of("train.epochs", "1"));
    Trainer trainer = new Trainer(spark);  // one trainer, no state between calls
    try (TrainingData data = TrainingData.load(spark, cfg.data(), Progress.quiet())) {
      List<FitOptions> members = new ArrayList<>();
      for (int seed = 1; seed <= 3; seed++) {
        members.add(FitOptions.from(cfg.with(Map.of("train.init_seed", Integer.toString(seed)))).withName("m" + seed));
      }
      List<float[]> alone = new ArrayList<>();
      for (FitOptions m : members) alone.add(trainer.fit(data, m).params());
      var pool = java.util.concurrent.Executors.newFixedThreadPool(3);
      try {
        List<java.util.concurrent.Future<TrainedModel>> together = new ArrayList<>();
        for (FitOptions m : members) together.add(pool.submit(() -> trainer.fit(data, m.withConcurrentRuns(3))));
        for (int i = 0; i < members.size(); i++) {
          TrainedModel m = together.get(i).get();
          assertEquals("job", m.summary().engine(), "3 runs of 2 partitions do not fit 2 slots: the job engine");
          assertArrayEquals(alone.get(i), m.params(), "member " + (i + 1) + " beside two others equals itself alone");
        }
      } finally {
        pool.shutdownNow();
      }
      assertFalse(java.util.Arrays.equals(alone.get(0), alone.get(1)), "the members differ by their init seed");
    }
  }

  @Test
  void theEmaIsTheHandComputedAverageOfEveryStepsParametersBatchNormStatisticsIncluded() throws Exception {
    SparkSession spark = SparkFixture.local2();
    TrainConfig cfg = config(Map.of("train.epochs", "1", "ema.decay", "0.9", "ema.start_step", "3"));
    List<float[]> steps = new ArrayList<>();
    Callback record = new Callback() {
      @Override public void onStepEnd(StepEnd e, LoopControl loop) {
        float[] p = new float[e.params().limit()];
        e.params().get(0, p);
        steps.add(p);
      }
    };
    TrainedModel m;
    try (TrainingData data = TrainingData.load(spark, cfg.data(), Progress.quiet())) {
      m = new Trainer(spark).fit(data, FitOptions.from(cfg).withCallbacks(record));
    }
    // by hand: nothing for steps 1..3, a = θ4, then a = 0.9·a + 0.1·θt, in float32
    float[] a = steps.get(3).clone();
    for (int t = 4; t < steps.size(); t++) {
      for (int i = 0; i < a.length; i++) a[i] = 0.9f * a[i] + (1f - 0.9f) * steps.get(t)[i];
    }
    float[] ema = m.averaged().orElseThrow().params();
    assertArrayEquals(a, ema, "the EMA callback's average");
    assertArrayEquals(steps.get(steps.size() - 1), m.params(), "the raw weights are the last step's");
    // the BatchNorm running mean and variance (layer 1, after γ and β of 4 channels) are averaged too
    Network net = new Network(m.spec(), BlasGemm.INSTANCE);
    boolean[] state = net.stateMask();
    int bnRunning = net.offset(1) + 8;
    assertTrue(state[bnRunning] && state[bnRunning + 7], "the running statistics' slots");
    assertTrue(steps.get(3)[bnRunning] != steps.get(steps.size() - 1)[bnRunning], "the running mean moved");
    assertTrue(ema[bnRunning] != m.params()[bnRunning], "and its average differs from the last value");
    // saved beside the raw weights, and loaded back
    String path = dir.resolve("ema.stm").toString();
    m.save(path, new Configuration(), Map.of());
    var loaded = dev.sparktrain.io.SavedModel.load(path, new Configuration());
    assertArrayEquals(ema, loaded.averagedParams());
    assertArrayEquals(m.params(), loaded.params());
  }
}
