package dev.sparktrain.spark;

import dev.sparktrain.UserError;
import dev.sparktrain.config.SettingsTable;
import dev.sparktrain.config.TrainConfig;
import dev.sparktrain.io.SavedModel;
import dev.sparktrain.nn.LayerMapping;
import dev.sparktrain.nn.LayerSpec;
import dev.sparktrain.nn.ModelSpec;
import dev.sparktrain.train.Hooks;
import dev.sparktrain.train.Metrics;
import dev.sparktrain.train.MetricsLog;
import dev.sparktrain.train.Progress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;

/**
 * The {@code finetune} command: a pretrained model (a file, or a zoo reference {@code NAME}, {@code NAME@vN},
 * {@code NAME@latest} under finetune.zoo) with its head replaced by a fresh dense layer for this data's classes,
 * the layers before finetune.freeze_until frozen (no gradient computed or sent, BatchNorm in inference mode, no
 * update, no weight decay), the pretrained standardization applied to the new data; then, optionally, a second
 * phase with fewer layers frozen (finetune.phase2_*), warm-starting the optimizer's state, at its own learning rate
 * and per-layer multipliers (finetune.lr_mult). Saves the model to model.path and reports test accuracy, the
 * trainable and frozen parameter counts and the gradient bytes per step.
 */
public final class FineTuneJob {
  private FineTuneJob() {}

  /** Where the pretrained model comes from: its file, and the zoo version when it came from a zoo. */
  public record Source(String path, String zooVersion) {}

  /**
   * A fine-tuning made ready: the config with the pretrained architecture (its head replaced), the data
   * preparation with the pretrained standardization, where the parameters start (the saved model's layers), the
   * pretrained model's source. What {@code finetune} runs, and what code that fine-tunes many times reuses.
   */
  public record Plan(TrainConfig config, TrainingData.Preparation preparation, InitialParams initial, Source source,
                     ModelSpec pretrained) {}

  /** The fine-tuning cfg asks for (finetune.*), against the pretrained model it names. */
  public static Plan plan(TrainConfig cfg, org.apache.hadoop.conf.Configuration conf) {
    Source src = source(cfg, conf);
    SavedModel pre = SavedModel.load(src.path(), conf);
    ModelSpec preSpec = pre.spec();
    int classes = cfg.data().modelClasses();
    List<LayerSpec> layers = new ArrayList<>(preSpec.layers());
    LayerMapping mapping;
    if (cfg.get(SettingsTable.FINETUNE_REPLACE_HEAD)) {
      if (!(layers.get(layers.size() - 1) instanceof LayerSpec.Dense)) {
        throw new UserError("finetune.replace_head: the last layer of " + src.path() + " is "
            + layers.get(layers.size() - 1) + ", not a dense head to replace");
      }
      layers.set(layers.size() - 1, new LayerSpec.Dense(classes));
      mapping = LayerMapping.firstLayers(layers.size() - 1);
    } else {
      if (preSpec.numClasses() != classes) {
        throw new UserError("finetune.replace_head = false: " + src.path() + " tells " + preSpec.numClasses()
            + " classes apart, these data " + classes + "; replace the head");
      }
      mapping = LayerMapping.all();
    }
    Map<String, String> arch = new LinkedHashMap<>();
    arch.put("model.layers", LayerSpec.format(layers));
    arch.put("model.init", preSpec.init().name().toLowerCase(java.util.Locale.ROOT));
    if (!preSpec.inputShape().isFlat()) arch.put("data.shape", preSpec.inputShape().toString());
    TrainConfig ft = cfg.with(arch);
    return new Plan(ft, TrainingData.Preparation.of(ft.data()).withStandardizer(pre.standardizer()),
        InitialParams.fromModel(src.path(), mapping), src, preSpec);
  }

  public static Map<String, Object> run(SparkSession spark, TrainConfig cfg, Progress progress, Hooks hooks) {
    var conf = spark.sparkContext().hadoopConfiguration();
    Plan plan = plan(cfg, conf);
    TrainConfig ft = plan.config();
    Source src = plan.source();
    progress.info(String.format("fine-tuning %s%s: %s → %d classes", src.path(),
        src.zooVersion() == null ? "" : " (zoo " + src.zooVersion() + ")", plan.pretrained().layersText(),
        ft.data().modelClasses()));
    var prep = plan.preparation();
    try (TrainingData data = TrainingData.load(spark, ft.data(), prep, progress)) {
      Trainer trainer = new Trainer(spark);
      MetricsLog metricsLog = RunMetrics.open(spark, ft, "finetune");
      FitOptions phase1 = RunMetrics.with(FitOptions.from(ft).withInitial(plan.initial())  // phase 2 continues its steps
          .withName("finetune").withProgress(progress).withHooks(hooks), metricsLog);
      TrainedModel model = trainer.fit(data, phase1);
      TrainedModel.Traffic first = model.traffic();
      int phase2 = ft.get(SettingsTable.FINETUNE_PHASE2_EPOCHS);
      TrainedModel.Traffic second = null;
      if (phase2 > 0) {
        Map<String, String> next = Map.of("train.epochs", Integer.toString(phase2),
            "finetune.freeze_until", Integer.toString(ft.get(SettingsTable.FINETUNE_PHASE2_FREEZE_UNTIL)),
            "optimizer.learning_rate", Double.toString(ft.get(SettingsTable.FINETUNE_PHASE2_LEARNING_RATE)),
            "checkpoint.dir", "", "checkpoint.resume", "false");
        progress.info(String.format("fine-tuning phase 2: %d epochs, layers before %d frozen, learning rate %g, the "
            + "optimizer's state carried over", phase2, ft.get(SettingsTable.FINETUNE_PHASE2_FREEZE_UNTIL),
            ft.get(SettingsTable.FINETUNE_PHASE2_LEARNING_RATE)));
        model = trainer.fit(data, phase1.withSettings(next).withInitial(InitialParams.warm(model))
            .withName("finetune phase 2"));
        second = model.traffic();
      }
      Metrics test = model.evaluateTest(data, "", progress);
      var s = model.summary();
      Map<String, Double> metrics = model.savedMetrics(test);
      model.save(ft.model().path(), conf, metrics);
      long all = model.spec().paramCount();
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("test_accuracy", finite(test.accuracy()));
      m.put("test_loss", finite(test.loss()));
      m.put("validation_accuracy", finite(s.validationAccuracy()));
      m.put("train_loss", finite(s.trainLoss()));
      m.put("trainable_parameters", first.trainableParameters());
      m.put("frozen_parameters", first.frozenParameters());
      m.put("bytes_per_step", first.bytesPerStep());
      if (first.measuredBytesPerStep() > 0) m.put("bytes_per_step_measured", first.measuredBytesPerStep());
      m.put("bytes_per_step_unfrozen", (long) data.partitions() * dev.sparktrain.transport.Frames.gradFrame(
          Math.toIntExact(all), dev.sparktrain.train.GradientTask.network(model.spec()).statsCount()));
      if (second != null) {
        m.put("phase2_trainable_parameters", second.trainableParameters());
        m.put("phase2_bytes_per_step", second.bytesPerStep());
      }
      m.put("epochs", ft.training().epochs() + phase2);
      m.put("seconds_per_epoch", s.secondsPerEpoch());
      m.put("examples_per_second", s.examplesPerSecond());
      m.put("train_examples", (long) data.trainCount());
      m.put("test_examples", test.count());
      m.put("engine", s.engine());
      m.put("pretrained", src.path());
      if (src.zooVersion() != null) m.put("zoo_version", src.zooVersion());
      m.put("model", ft.model().path());
      if (metricsLog != null) metricsLog.finish(m, test);
      return m;
    }
  }

  private static Object finite(double v) {
    return Double.isFinite(v) ? v : null;
  }

  static Source source(TrainConfig cfg, org.apache.hadoop.conf.Configuration conf) {
    String from = cfg.get(SettingsTable.FINETUNE_FROM).trim();
    if (from.isEmpty()) {
      throw new UserError("finetune.from: name the pretrained model: a model file, or NAME[@vN|@latest] with finetune.zoo");
    }
    String zoo = cfg.get(SettingsTable.FINETUNE_ZOO).trim();
    if (zoo.isEmpty()) return new Source(from, null);
    return ZooModels.resolve(zoo, from, conf);
  }
}
