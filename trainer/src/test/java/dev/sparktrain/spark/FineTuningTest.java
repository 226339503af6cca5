package dev.sparktrain.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktrain.UserError;
import dev.sparktrain.config.Settings;
import dev.sparktrain.config.TrainConfig;
import dev.sparktrain.nn.LayerMapping;
import dev.sparktrain.nn.Network;
import dev.sparktrain.tensor.BlasGemm;
import dev.sparktrain.testing.SparkFixture;
import dev.sparktrain.testing.SyntheticImages;
import dev.sparktrain.train.PartitionHook;
import dev.sparktrain.train.Progress;
import dev.sparktrain.transport.Frames;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fine-tuning with frozen layers: frozen parameters (BatchNorm running averages included) come out bit-identical
 * under weight decay, each partition's gradient holds only the trainable parameters in every engine, the bytes the
 * driver receives over TCP are exactly those, a warm-started second phase moves what it unfreezes; and the data
 * options it relies on (class subsets, a few examples per class, uint8 pixels, storage levels).
 */
class FineTuningTest {
  private static final String CONV = "conv(4, 3), batchnorm, relu, maxpool(2), flatten, dense(16), relu, dense(4)";
  @TempDir static Path dir;
  private static String pretrained;

  private static TrainConfig config(Map<String, String> extra) {
    Map<String, String> s = new LinkedHashMap<>(Map.of(
        "data.train", dir.resolve("train-images.gz").toString(),
        "data.train_labels", dir.resolve("train-labels.gz").toString(),
        "data.test", dir.resolve("test-images.gz").toString(),
        "data.test_labels", dir.resolve("test-labels.gz").toString(),
        "data.num_classes", "4", "data.partitions", "2", "data.shape", "1x8x8", "data.standardize", "channel",
        "data.augment", "flip", "model.layers", CONV));
    s.put("train.epochs", "1");
    s.put("train.batch_size", "64");
    s.put("optimizer.name", "adamw");
    s.put("optimizer.learning_rate", "0.01");
    s.put("optimizer.weight_decay", "0.05");
    s.put("optimizer.decay_biases", "true");  // decay everything that is not frozen
    s.putAll(extra);
    return TrainConfig.from(Settings.of(s));
  }

  @BeforeAll
  static void pretrain() throws Exception {
    SyntheticImages.writeDataset(dir, 800, 200, 8, 4);
    SparkSession spark = SparkFixture.local2();
    TrainConfig cfg = config(Map.of());
    try (TrainingData data = TrainingData.load(spark, cfg.data(), Progress.quiet())) {
      TrainedModel base = new Trainer(spark).fit(data, FitOptions.from(cfg));
      pretrained = dir.resolve("base.stm").toString();
      base.save(pretrained, new Configuration(), Map.of());
    }
  }

  /** A fine-tune of the pretrained model, its head re-seeded, with these settings. */
  private static FitOptions fineTune(TrainConfig cfg) {
    return FitOptions.from(cfg).withInitial(InitialParams.fromModel(pretrained, LayerMapping.firstLayers(7)));
  }

  /** Fails the task when a partition's gradient is not exactly the trainable length. */
  private static PartitionHook expectLength(int length) {
    return (p, epoch, t, step, node) -> {
      if (node.grad() != null && node.grad().length != length) {
        throw new IllegalStateException("partition " + p + " sent " + node.grad().length + " values, not " + length);
      }
    };
  }

  @Test
  void frozenLayersStayBitIdenticalAndOnlyTheTrainableGradientIsSent() throws Exception {
    SparkSession spark = SparkFixture.local2();
    float[] before = dev.sparktrain.io.SavedModel.load(pretrained, new Configuration()).params();
    Map<String, float[]> byEngine = new LinkedHashMap<>();
    for (String engine : new String[] {"job", "barrier", "threads"}) {
      // freeze_until = -1: every layer but the head (the last dense)
      TrainConfig cfg = config(Map.of("finetune.from", pretrained, "train.epochs", "2", "train.engine", engine,
          "train.transport", "tcp", "train.init_seed", "5"));
      try (TrainingData data = TrainingData.load(spark, cfg.data(), Progress.quiet())) {
        Network net = new Network(Trainer.modelSpec(cfg, data), BlasGemm.INSTANCE);
        int frozenEnd = net.offset(7), trainable = net.paramCount() - frozenEnd;
        TrainedModel m = new Trainer(spark).fit(data, fineTune(cfg).withPartitionHook(expectLength(trainable)));
        float[] after = m.params();
        assertArrayEquals(Arrays.copyOf(before, frozenEnd), Arrays.copyOf(after, frozenEnd),
            engine + ": the frozen layers (BatchNorm running averages too) are bit-identical under weight decay");
        assertFalse(Arrays.equals(Arrays.copyOfRange(before, frozenEnd, after.length),
            Arrays.copyOfRange(after, frozenEnd, after.length)), engine + ": the head trained");
        var traffic = m.traffic();
        assertEquals(trainable, traffic.trainableParameters());
        assertEquals(frozenEnd, traffic.frozenParameters());
        int stats = net.statsCount();
        long frame = Frames.HEADER + Frames.gradBody(trainable, stats) + 4;
        assertEquals(2 * frame, traffic.bytesPerStep(), "two partitions, one GRAD frame each");
        if (engine.equals("barrier")) {
          assertEquals(traffic.bytesPerStep(), traffic.measuredBytesPerStep(),
              "the driver received exactly the trainable gradient's frames over TCP");
          assertTrue(frame < (Frames.HEADER + Frames.gradBody(net.paramCount(), stats) + 4) / 10,
              "frozen: under a tenth of a full gradient's bytes");
        }
        byEngine.put(engine, after);
      }
    }
    assertArrayEquals(byEngine.get("job"), byEngine.get("barrier"), "job and barrier engines: the same bits");
    assertArrayEquals(byEngine.get("job"), byEngine.get("threads"), "job and threads engines: the same bits");
  }

  @Test
  void aWarmStartedSecondPhaseTrainsWhatItUnfreezesAtItsMultipliers() throws Exception {
    SparkSession spark = SparkFixture.local2();
    TrainConfig cfg = config(Map.of("finetune.from", pretrained, "train.init_seed", "5"));
    try (TrainingData data = TrainingData.load(spark, cfg.data(), Progress.quiet())) {
      Trainer trainer = new Trainer(spark);
      TrainedModel phase1 = trainer.fit(data, fineTune(cfg));
      Network net = new Network(phase1.spec(), BlasGemm.INSTANCE);
      // phase 2: nothing frozen, but the first conv (layer 0) at multiplier 0 and layers 5–6 at 0.5
      FitOptions two = fineTune(cfg).withSettings(Map.of("finetune.freeze_until", "0", "finetune.lr_mult", "0:0, 5-6:0.5",
          "optimizer.learning_rate", "0.001"));
      TrainedModel warm = trainer.fit(data, two.withInitial(InitialParams.warm(phase1)));
      TrainedModel cold = trainer.fit(data, two.withInitial(new InitialParams.Warm(phase1.params(), null)));
      float[] p1 = phase1.params(), p2 = warm.params();
      assertEquals(net.paramCount(), warm.traffic().trainableParameters(), "phase 2 sends every gradient");
      int conv = net.offset(1), dense = net.offset(5);
      // the conv's multiplier is 0, but decoupled decay scales with it too: the layer does not move at all
      assertArrayEquals(Arrays.copyOf(p1, conv), Arrays.copyOf(p2, conv), "multiplier 0 keeps layer 0 still");
      assertFalse(Arrays.equals(Arrays.copyOfRange(p1, dense, net.offset(6)), Arrays.copyOfRange(p2, dense, net.offset(6))),
          "the unfrozen dense(16) trained");
      assertFalse(Arrays.equals(p2, cold.params()), "the carried-over optimizer state changes the steps");
    }
  }

  @Test
  void badFreezeSettingsAreOneLineErrors() {
    SparkSession spark = SparkFixture.local2();
    TrainConfig cfg = config(Map.of("finetune.from", pretrained, "finetune.freeze_until", "8"));
    try (TrainingData data = TrainingData.load(spark, cfg.data(), Progress.quiet())) {
      String m = assertThrows(UserError.class, () -> new Trainer(spark).fit(data, fineTune(cfg))).getMessage();
      assertTrue(m.startsWith("finetune.freeze_until = 8: the network has 8 layers"), m);
      TrainConfig bad = config(Map.of("finetune.from", pretrained, "finetune.lr_mult", "3-9:0.1"));
      m = assertThrows(UserError.class, () -> new Trainer(spark).fit(data, fineTune(bad))).getMessage();
      assertTrue(m.contains("finetune.lr_mult = 3-9:0.1"), m);
    }
  }

  @Test
  void uint8PixelsAndEveryStorageLevelTrainTheSameBitsAsFloat32() {
    SparkSession spark = SparkFixture.local2();
    float[] reference = null;
    for (String[] v : new String[][] {{"float32", "memory_only"}, {"uint8", "memory_only"},
        {"uint8", "memory_and_disk_ser"}, {"float32", "disk_only"}}) {
      TrainConfig cfg = config(Map.of("data.pixel_type", v[0], "data.storage_level", v[1],
          "data.augment", "crop(1), flip", "train.epochs", "2"));
      try (TrainingData data = TrainingData.load(spark, cfg.data(), Progress.quiet())) {
        TrainedModel m = new Trainer(spark).fit(data, FitOptions.from(cfg));
        float[] p = m.params();
        double acc = m.evaluate(data.test().orElseThrow(), "test").accuracy();
        if (reference == null) reference = p;
        else assertArrayEquals(reference, p, v[0] + " cached " + v[1] + ": the float32 run's bits");
        assertTrue(acc > 0.3, v[0] + ": evaluates: " + acc);
      }
    }
  }

  @Test
  void aClassSubsetWithAFewExamplesPerClassIsASeededDraw() {
    SparkSession spark = SparkFixture.local2();
    TrainConfig cfg = config(Map.of("data.classes", "3, 1", "data.per_class", "7", "data.validation_fraction", "0",
        "model.layers", CONV.replace("dense(4)", "dense(2)")));
    long[] first = null;
    for (int partitions : new int[] {2, 3}) {
      TrainConfig c = cfg.with(Map.of("data.partitions", Integer.toString(partitions)));
      try (TrainingData data = TrainingData.load(spark, c.data(), Progress.quiet())) {
        assertEquals(2, data.numClasses());
        assertEquals(14, data.trainCount(), "7 of each of the 2 classes");
        var blocks = data.train().collect();
        long[] rows = blocks.stream().flatMapToLong(b -> Arrays.stream(b.rows())).sorted().toArray();
        int[] labels = blocks.stream().flatMapToInt(b -> Arrays.stream(b.y())).toArray();
        assertEquals(7, Arrays.stream(labels).filter(y -> y == 0).count(), "class 3 is now 0");
        assertEquals(7, Arrays.stream(labels).filter(y -> y == 1).count(), "class 1 is now 1");
        if (first == null) first = rows;
        else assertArrayEquals(first, rows, "the draw does not depend on the partitioning");
        long test = data.test().orElseThrow().blocks().map(b -> (long) b.n()).reduce(Long::sum);
        assertTrue(test > 60 && test < 140, "the test set keeps only classes 3 and 1: " + test);
      }
    }
    TrainConfig other = cfg.with(Map.of("data.split_seed", "77"));
    try (TrainingData data = TrainingData.load(spark, other.data(), Progress.quiet())) {
      long[] rows = data.train().collect().stream().flatMapToLong(b -> Arrays.stream(b.rows())).sorted().toArray();
      assertNotEquals(Arrays.toString(first), Arrays.toString(rows), "another seed draws other examples");
    }
    TrainConfig tooMany = cfg.with(Map.of("data.per_class", "5000"));
    String m = assertThrows(UserError.class, () -> TrainingData.load(spark, tooMany.data(), Progress.quiet())).getMessage();
    assertTrue(m.startsWith("data.per_class = 5000: class 0 of "), m);
  }
}
