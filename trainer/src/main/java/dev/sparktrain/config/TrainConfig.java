package dev.sparktrain.config;

import static dev.sparktrain.config.SettingsTable.*;

import dev.sparktrain.UserError;
import dev.sparktrain.augment.AugmentPipeline;
import dev.sparktrain.augment.TestTimeAugmentation;
import dev.sparktrain.nn.Shape;
import dev.sparktrain.nn.Init;
import dev.sparktrain.nn.LayerSpec;
import dev.sparktrain.optim.OptimizerSpec;
import dev.sparktrain.optim.ReduceOnPlateau;
import dev.sparktrain.optim.ScheduleSpec;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * The resolved configuration of a job: the values of a {@link SettingsTable} (which declares every setting and
 * its default; the shipped {@code conf/} files spell each one out) grouped into records that validate in their
 * constructors, including the rules that involve several settings.
 */
public record TrainConfig(Data data, Model model, Training training, Optimizer optimizer, ScheduleSpec schedule,
                          Plateau plateau, Predict predict, Compare compare, Checkpoint checkpoint,
                          SettingValues values) {

  public TrainConfig {
    Objects.requireNonNull(values, "values");
  }

  /** Where the examples come from and how they are prepared; splitSeed picks the validation examples. */
  public record Data(String format, String dataset, String train, String trainLabels, String test,
                     String testLabels, String featuresCol, String labelCol, int numClasses,
                     double validationFraction, long splitSeed, String standardize, int partitions, Shape shape,
                     AugmentPipeline augment, List<Integer> classes, int perClass, String storageLevel,
                     String pixelType) {
    public static final List<String> FORMATS = List.of("idx", "libsvm", "parquet", "csv");
    public static final List<String> STANDARDIZE = List.of("feature", "channel", "none");

    private static void labelsBeside(String setting, String images, String labels) {
      if (!images.isEmpty() && labels.isEmpty()) {
        throw new UserError(setting + "_labels is empty: IDX images (" + setting + " = " + images
            + ") need their labels file as well");
      }
    }

    public Data {
      standardize = standardization(standardize);
      format = format.toLowerCase(Locale.ROOT);
      if (!FORMATS.contains(format)) {
        throw new UserError("data.format = " + format + ": unknown format (known: " + String.join(", ", FORMATS) + ")");
      }
      if (dataset.isEmpty() && train.isEmpty()) {
        throw new UserError("data.train: no training data (set data.train, or data.dataset = fashion-mnist)");
      }
      if (format.equals("idx")) {  // images given without labels; data.dataset fills only what is not given
        labelsBeside("data.train", train, trainLabels);
        labelsBeside("data.test", test, testLabels);
      }
      classes = List.copyOf(classes);
      for (int c : classes) {
        if (c >= numClasses) {
          throw new UserError("data.classes: class " + c + " is not below data.num_classes = " + numClasses
              + " (the classes of the source)");
        }
      }
      if (pixelType.equals("uint8") && !(format.equals("idx") || format.equals("parquet"))) {
        throw new UserError("data.pixel_type = uint8 caches images as bytes: it needs IDX images or a Parquet binary "
            + "column, and data.format = " + format);
      }
    }

    /** The classes a model of these data tells apart: data.classes' count, or all the source's. */
    public int modelClasses() {
      return classes.isEmpty() ? numClasses : classes.size();
    }

    /** What data.standardize = text means: feature, channel or none (true and false are feature and none). */
    static String standardization(String text) {
      return switch (text.trim().toLowerCase(Locale.ROOT)) {
        case "true", "feature" -> "feature";
        case "false", "none" -> "none";
        case "channel" -> "channel";
        default -> throw new UserError("data.standardize = " + text
            + ": choose feature (per input feature), channel (per image channel) or none");
      };
    }
  }

  /** The architecture, stochastic depth's last survival probability, and where the model file goes. */
  public record Model(String layers, Init init, String path, double stochasticDepth) {
    public Model {
      LayerSpec.parseList(layers, "model.layers");
      if (!(stochasticDepth > 0 && stochasticDepth <= 1)) {
        throw new UserError("model.stochastic_depth = " + stochasticDepth
            + ": the last residual block's survival probability must be in (0, 1] (1 turns it off)");
      }
      if (path.isEmpty()) throw new UserError("model.path: empty (where should the model be saved?)");
    }
  }

  /**
   * The training loop. seed is train.seed; initSeed draws the initial parameters, and orderSeed the minibatch
   * order, the augmentation and the dropout noise (each is seed unless set apart).
   */
  public record Training(int epochs, int batchSize, long seed, long initSeed, long orderSeed, int treeDepth,
                         int heapLogEvery, String engine, String transport) {
    /**
     * How parameters and gradients move: {@code barrier} (one barrier stage per epoch, steps exchanged with the
     * driver's step endpoint), {@code job} (one Spark job per step), {@code threads} (the one-process floor: the
     * partitions are collected to the driver and stepped on threads; for benchmarks and debugging), or
     * {@code auto}: barrier when the cluster has a task slot for every partition, else job.
     */
    public static final List<String> ENGINES = List.of("auto", "barrier", "job", "threads");

    public Training {
      engine = engine.trim().toLowerCase(Locale.ROOT);
      if (!ENGINES.contains(engine)) {
        throw new UserError("train.engine = " + engine + ": choose auto, barrier (low latency), job (one Spark job per "
            + "step) or threads (one process, no Spark in the loop)");
      }
      transport = transport.trim().toLowerCase(Locale.ROOT);
      if (!transport.equals("auto") && !transport.equals("tcp")) {
        throw new UserError("train.transport = " + transport + ": choose auto (in-process for tasks in the driver's JVM, "
            + "TCP otherwise) or tcp (always TCP, to measure it)");
      }
    }
  }

  /**
   * Training checkpoints: the directory (empty = none), every how many iterations (0 = at each epoch's end only),
   * how many to keep, and whether to resume from the newest valid one (the {@code --resume} flag).
   */
  public record Checkpoint(String dir, int every, int keep, boolean resume) {
    public Checkpoint {
      if (resume && dir.isBlank()) {
        throw new UserError("--resume: checkpoint.dir is empty; resuming needs the directory the run checkpoints to");
      }
    }

    public boolean enabled() {
      return !dir.isBlank();
    }
  }

  /**
   * The optimizer: a first-order method ({@code spec}, applied per minibatch) or full-batch L-BFGS
   * ({@code name = lbfgs}, spec null), the learning rate, decay of biases, and gradient clipping.
   */
  public record Optimizer(String name, double learningRate, OptimizerSpec spec, boolean decayBiases,
                          double clipNorm, Lbfgs lbfgs) {
    public static final String LBFGS = "lbfgs";

    public Optimizer {
      if (clipNorm < 0 || !Double.isFinite(clipNorm)) {
        throw new UserError("optimizer.clip_norm = " + clipNorm + ": must be ≥ 0 (0 turns clipping off)");
      }
    }

    public boolean isLbfgs() {
      return spec == null;
    }
  }

  /** Full-batch L-BFGS (Breeze): iterations, history size m, and the relative convergence tolerance. */
  public record Lbfgs(int maxIterations, int memory, double tolerance) {}

  /** Reduce-on-plateau of the learning rate, driven by the validation loss once per epoch (off by default). */
  public record Plateau(boolean enabled, double factor, int patience, double threshold, int cooldown, double minLr) {
    public ReduceOnPlateau start(double lr) {
      return ReduceOnPlateau.start(lr, factor, patience, threshold, cooldown, minLr);
    }
  }

  /** The compare command: runs of the same model with other optimizers, as concurrent Spark jobs. */
  public record Compare(List<String> runs, List<Double> learningRates, String output, int concurrency) {
    public Compare {
      runs = List.copyOf(runs);
      learningRates = List.copyOf(learningRates);
      if (!learningRates.isEmpty() && learningRates.size() != runs.size()) {
        throw new UserError("compare.learning_rates: " + learningRates.size() + " values for "
            + runs.size() + " runs in compare.runs");
      }
      for (double lr : learningRates) {
        if (!(lr > 0) || !Double.isFinite(lr)) throw new UserError("compare.learning_rates: " + lr + " is not a positive number");
      }
    }
  }

  /** Where {@code predict} writes its output, and the test-time augmentation of evaluate, predict and train's test. */
  public record Predict(String output, TestTimeAugmentation tta, int ttaPad) {}

  /** The job's configuration from its raw settings, as the standard table declares them. */
  public static TrainConfig from(Settings s) {
    return from(s, SettingsTable.STANDARD);
  }

  /** The job's configuration from its raw settings, as table declares them (the standard ones, maybe more). */
  public static TrainConfig from(Settings s, SettingsTable table) {
    SettingValues v = table.read(s);
    Data data = new Data(v.get(DATA_FORMAT), v.get(DATA_DATASET), v.get(DATA_TRAIN), v.get(DATA_TRAIN_LABELS),
        v.get(DATA_TEST), v.get(DATA_TEST_LABELS), v.get(DATA_FEATURES_COL), v.get(DATA_LABEL_COL),
        v.get(DATA_NUM_CLASSES), v.get(DATA_VALIDATION_FRACTION), v.get(DATA_SPLIT_SEED), v.get(DATA_STANDARDIZE),
        v.get(DATA_PARTITIONS), v.get(DATA_SHAPE), v.get(DATA_AUGMENT), v.get(DATA_CLASSES), v.get(DATA_PER_CLASS),
        v.get(DATA_STORAGE_LEVEL), v.get(DATA_PIXEL_TYPE));
    Model model = new Model(v.get(MODEL_LAYERS), v.get(MODEL_INIT), v.get(MODEL_PATH), v.get(MODEL_STOCHASTIC_DEPTH));
    Training training = new Training(v.get(TRAIN_EPOCHS), v.get(TRAIN_BATCH_SIZE), v.get(TRAIN_SEED),
        v.get(TRAIN_INIT_SEED), v.get(TRAIN_ORDER_SEED), v.get(TRAIN_TREE_DEPTH), v.get(TRAIN_HEAP_LOG_EVERY),
        v.get(TRAIN_ENGINE), v.get(TRAIN_TRANSPORT));
    Checkpoint checkpoint = new Checkpoint(v.get(CHECKPOINT_DIR), v.get(CHECKPOINT_EVERY), v.get(CHECKPOINT_KEEP),
        v.get(CHECKPOINT_RESUME));
    Optimizer optimizer = optimizer(s, v);
    ScheduleSpec schedule = schedule(s, v);
    Plateau plateau = new Plateau(v.get(PLATEAU_ENABLED), v.get(PLATEAU_FACTOR), v.get(PLATEAU_PATIENCE),
        v.get(PLATEAU_THRESHOLD), v.get(PLATEAU_COOLDOWN), v.get(PLATEAU_MIN_LR));
    if (plateau.enabled() || s.has(PLATEAU_FACTOR.key())) plateau.start(optimizer.learningRate());  // validates
    Predict predict = new Predict(v.get(PREDICT_OUTPUT), v.get(PREDICT_TTA), v.get(PREDICT_TTA_PAD));
    Compare compare = new Compare(v.get(COMPARE_RUNS), v.get(COMPARE_LEARNING_RATES), v.get(COMPARE_OUTPUT),
        v.get(COMPARE_CONCURRENCY));
    return new TrainConfig(data, model, training, optimizer, schedule, plateau, predict, compare, checkpoint, v);
  }

  private static Optimizer optimizer(Settings s, SettingValues v) {
    String name = v.get(OPTIMIZER_NAME);
    double weightDecay = v.get(OPTIMIZER_WEIGHT_DECAY);
    OptimizerSpec spec = name.equals(Optimizer.LBFGS) ? null : s.withSources(() -> new OptimizerSpec(name,
        v.get(OPTIMIZER_MOMENTUM), v.get(OPTIMIZER_BETA1), v.get(OPTIMIZER_BETA2), v.get(OPTIMIZER_EPS),
        v.get(OPTIMIZER_DECAY), weightDecay));
    if (spec == null && weightDecay != 0) {
      throw new UserError(s.where(OPTIMIZER_WEIGHT_DECAY.key()) + " = " + weightDecay
          + ": lbfgs takes no weight decay here");
    }
    Lbfgs lbfgs = new Lbfgs(v.get(LBFGS_MAX_ITERATIONS), v.get(LBFGS_MEMORY), v.get(LBFGS_TOLERANCE));
    return new Optimizer(name, v.get(OPTIMIZER_LEARNING_RATE), spec, v.get(OPTIMIZER_DECAY_BIASES),
        v.get(OPTIMIZER_CLIP_NORM), lbfgs);
  }

  /** The {@code schedule.*} settings alone, with ScheduleSpec.DEFAULT for those absent; other keys are ignored. */
  public static ScheduleSpec schedule(Settings s) {
    return schedule(s, SettingsTable.STANDARD.readGroup(s, "schedule."));
  }

  private static ScheduleSpec schedule(Settings s, SettingValues v) {
    return s.withSources(() -> new ScheduleSpec(v.get(SCHEDULE_NAME), v.get(SCHEDULE_STEP_SIZE), v.get(SCHEDULE_GAMMA),
        v.get(SCHEDULE_MILESTONES), v.get(SCHEDULE_DECAY), v.get(SCHEDULE_PERIOD), v.get(SCHEDULE_PERIOD_MULT),
        v.get(SCHEDULE_MIN_LR), v.get(SCHEDULE_WARMUP_STEPS), v.get(SCHEDULE_WARMUP_START_LR),
        v.get(SCHEDULE_TOTAL_STEPS)));
  }

  /** The {@code spark.*} settings, passed on to the Spark session as given. */
  public Map<String, String> spark() {
    return values.passThrough();
  }

  /** The value of any setting of this config's table, including one a caller added with SettingsTable.with. */
  public <T> T get(Setting<T> setting) {
    return values.get(setting);
  }

  /**
   * This config with some settings changed, read again from the original settings plus the overrides through the
   * same table: every value is validated again, and derived defaults follow (a new train.seed moves the seeds
   * that were not set on their own).
   */
  public TrainConfig with(Map<String, String> overrides) {
    return from(values.settings().withOverrides(overrides), table());
  }

  /** The table this config was read with. */
  public SettingsTable table() {
    return values.table();
  }

  /** Every setting with its resolved value, in table order, then {@code spark.*}, as saved in model headers. */
  public Map<String, String> resolved() {
    return values.table().format(values);
  }
}
