package dev.sparktrain.config;

import dev.sparktrain.UserError;
import dev.sparktrain.augment.AugmentPipeline;
import dev.sparktrain.augment.TestTimeAugmentation;
import dev.sparktrain.nn.Init;
import dev.sparktrain.nn.Shape;
import dev.sparktrain.optim.OptimizerSpec;
import dev.sparktrain.optim.ScheduleSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Every setting of a job, each declared once, in the order of a resolved config: what {@link TrainConfig} reads,
 * what a saved model records, and what a resumed run must keep. Keys under the pass-through prefix
 * ({@code spark.*}) are handed on as given and may differ on resume.
 */
public final class SettingsTable {
  // Each declaration below registers itself here, so that a setting cannot be declared and left out of the table.
  private static final List<Setting<?>> DECLARED = new ArrayList<>();

  private static <T> Setting<T> add(Setting<T> setting) {
    DECLARED.add(setting);
    return setting;
  }

  // ---- data
  public static final Setting<String> DATA_FORMAT = add(Setting.string("data.format", "idx")
      .normalized(f -> f.toLowerCase(Locale.ROOT)));
  public static final Setting<String> DATA_DATASET = add(Setting.string("data.dataset", ""));
  public static final Setting<String> DATA_TRAIN = add(Setting.string("data.train", ""));
  public static final Setting<String> DATA_TRAIN_LABELS = add(Setting.string("data.train_labels", ""));
  public static final Setting<String> DATA_TEST = add(Setting.string("data.test", ""));
  public static final Setting<String> DATA_TEST_LABELS = add(Setting.string("data.test_labels", ""));
  public static final Setting<String> DATA_FEATURES_COL = add(Setting.string("data.features_col", "features"));
  public static final Setting<String> DATA_LABEL_COL = add(Setting.string("data.label_col", "label"));
  public static final Setting<Integer> DATA_NUM_CLASSES = add(Setting.integer("data.num_classes", 10, 2));
  public static final Setting<Double> DATA_VALIDATION_FRACTION = add(Setting.number("data.validation_fraction", 0.1,
      x -> x >= 0 && x < 1, "in [0, 1)"));
  public static final Setting<String> DATA_STANDARDIZE = add(Setting.string("data.standardize", "feature")
      .normalized(TrainConfig.Data::standardization));
  public static final Setting<Integer> DATA_PARTITIONS = add(Setting.integer("data.partitions", 2, 1));
  public static final Setting<Shape> DATA_SHAPE = add(Setting.<Shape>of("data.shape", null,
      (s, k, d) -> Shape.parse(s.string(k, ""), s.where(k)), shape -> shape == null ? "" : shape.toString())
      .blankMeansDefault());
  public static final Setting<AugmentPipeline> DATA_AUGMENT = add(Setting.of("data.augment", AugmentPipeline.NONE,
      (s, k, d) -> s.withSources(() -> AugmentPipeline.parse(s.string(k, d.toString()), k)),
      AugmentPipeline::toString));
  public static final Setting<List<Integer>> DATA_CLASSES = add(Setting.of("data.classes", List.<Integer>of(),
      SettingsTable::classes, c -> joined(c, ", ")));
  public static final Setting<Integer> DATA_PER_CLASS = add(Setting.integer("data.per_class", 0, 0));
  public static final Setting<String> DATA_STORAGE_LEVEL = add(Setting.of("data.storage_level", "memory_only",
      (s, k, d) -> choice(s, k, d, storageLevels()), v -> v).mayDifferOnResume());
  public static final Setting<String> DATA_PIXEL_TYPE = add(Setting.of("data.pixel_type", "float32",
      (s, k, d) -> choice(s, k, d, pixelTypes()), v -> v).mayDifferOnResume());

  // ---- model
  public static final Setting<String> MODEL_LAYERS = add(Setting.string("model.layers",
      "dense(512), relu, dense(256), relu, dense(10)"));
  public static final Setting<Init> MODEL_INIT = add(Setting.of("model.init", Init.HE,
      (s, k, d) -> Init.parse(s.string(k, lowerCase(d)), s.where(k)), SettingsTable::lowerCase));
  public static final Setting<String> MODEL_PATH = add(Setting.string("model.path", "models/model.stm")
      .mayDifferOnResume());
  public static final Setting<Double> MODEL_STOCHASTIC_DEPTH = add(Setting.number("model.stochastic_depth", 1.0,
      x -> x > 0 && x <= 1, "in (0, 1] (1 turns it off)"));

  // ---- training; the three seeds after train.seed, whose value they take when not given
  public static final Setting<Integer> TRAIN_EPOCHS = add(Setting.integer("train.epochs", 10, 1));
  public static final Setting<Integer> TRAIN_BATCH_SIZE = add(Setting.integer("train.batch_size", 128, 1));
  public static final Setting<Long> TRAIN_SEED = add(Setting.longValue("train.seed", 42));
  public static final Setting<Long> TRAIN_INIT_SEED = add(seedOrTrainSeed("train.init_seed"));
  public static final Setting<Long> TRAIN_ORDER_SEED = add(seedOrTrainSeed("train.order_seed"));
  public static final Setting<Long> DATA_SPLIT_SEED = add(seedOrTrainSeed("data.split_seed"));
  public static final Setting<Integer> TRAIN_TREE_DEPTH = add(Setting.integer("train.tree_depth", 2, 1));
  public static final Setting<Integer> TRAIN_HEAP_LOG_EVERY = add(Setting.integer("train.heap_log_every", 0, 0)
      .mayDifferOnResume());
  public static final Setting<String> TRAIN_ENGINE = add(Setting.string("train.engine", "auto")
      .normalized(SettingsTable::trimmedLowerCase).mayDifferOnResume());
  public static final Setting<String> TRAIN_TRANSPORT = add(Setting.string("train.transport", "auto")
      .normalized(SettingsTable::trimmedLowerCase).mayDifferOnResume());
  /**
   * How the barrier engine's gradients reach the driver: flat (every task sends its own), tree (the tasks add
   * them along the fixed tree and partition 0 sends the total), auto (tree when the tasks are in other JVMs).
   */
  public static final Setting<String> TRAIN_REDUCE = add(Setting.<String>of("train.reduce", "auto",
      (s, k, d) -> choice(s, k, d, List.of("auto", "flat", "tree")), v -> v).mayDifferOnResume());
  /** The barrier engine's step channel: encryption, the hang timeout, and where the driver's endpoint listens. */
  public static final Setting<String> TRAIN_STEP_ENCRYPTION = add(Setting.<String>of("train.step_encryption", "auto",
      (s, k, d) -> choice(s, k, d, List.of("auto", "on")), v -> v).mayDifferOnResume());
  public static final Setting<Double> TRAIN_STEP_TIMEOUT = add(Setting.number("train.step_timeout", 0,
      x -> x == 0 || (x >= 1 && Double.isFinite(x)), "0 (derived: 20 × the median step time, at least 60 s) or seconds ≥ 1")
      .mayDifferOnResume());
  public static final Setting<Integer> TRAIN_STEP_PORT = add(Setting.of("train.step_port", 0,
      (s, k, d) -> {
        int v = s.integer(k, d, 0);
        if (v > 65535) throw new UserError(s.where(k) + " = " + v + ": a TCP port is 0 (any free port) to 65535");
        return v;
      }, Object::toString).mayDifferOnResume());
  public static final Setting<String> TRAIN_STEP_ADVERTISE = add(Setting.<String>of("train.step_advertise", "",
      (s, k, d) -> {
        String v = s.string(k, d).trim();
        if (!v.isEmpty() && !v.matches("[^\\s:]+:\\d{1,5}")) {
          throw new UserError(s.where(k) + " = " + v + ": expected host:port (the address tasks connect to), or empty");
        }
        return v;
      }, v -> v).mayDifferOnResume());

  // ---- checkpoints: where and how often, not what is trained
  public static final Setting<String> CHECKPOINT_DIR = add(Setting.string("checkpoint.dir", "").mayDifferOnResume());
  public static final Setting<Integer> CHECKPOINT_EVERY = add(Setting.integer("checkpoint.every", 0, 0)
      .mayDifferOnResume());
  public static final Setting<Double> CHECKPOINT_EVERY_MINUTES = add(Setting.number("checkpoint.every_minutes", 0,
      x -> x >= 0 && Double.isFinite(x), "a number of minutes ≥ 0 (0: off)").mayDifferOnResume());
  public static final Setting<Integer> CHECKPOINT_KEEP = add(Setting.integer("checkpoint.keep", 2, 1)
      .mayDifferOnResume());
  public static final Setting<Boolean> CHECKPOINT_RESUME = add(Setting.bool("checkpoint.resume", false)
      .mayDifferOnResume());

  // ---- what a run reports while it trains: the metrics file (docs/metrics.md) and progress lines on stderr
  public static final Setting<String> METRICS_PATH = add(Setting.string("metrics.path", "").mayDifferOnResume());
  public static final Setting<Double> PROGRESS_EVERY_SECONDS = add(Setting.number("progress.every_seconds", 30,
      x -> x >= 0 && Double.isFinite(x), "a number of seconds ≥ 0 (0: only the epoch lines)").mayDifferOnResume());

  // ---- optimizer; OptimizerSpec's constructor checks the hyperparameters' ranges
  public static final Setting<String> OPTIMIZER_NAME = add(Setting.string("optimizer.name", "momentum")
      .normalized(SettingsTable::trimmedLowerCase));
  public static final Setting<Double> OPTIMIZER_LEARNING_RATE = add(Setting.number("optimizer.learning_rate", 0.01,
      x -> x > 0 && Double.isFinite(x), "a positive number"));
  public static final Setting<Double> OPTIMIZER_MOMENTUM = add(Setting.number("optimizer.momentum",
      OptimizerSpec.MOMENTUM));
  public static final Setting<Double> OPTIMIZER_BETA1 = add(Setting.number("optimizer.beta1", OptimizerSpec.BETA1));
  public static final Setting<Double> OPTIMIZER_BETA2 = add(Setting.number("optimizer.beta2", OptimizerSpec.BETA2));
  public static final Setting<Double> OPTIMIZER_EPS = add(Setting.number("optimizer.eps", OptimizerSpec.EPS));
  public static final Setting<Double> OPTIMIZER_DECAY = add(Setting.number("optimizer.decay", OptimizerSpec.DECAY));
  public static final Setting<Double> OPTIMIZER_WEIGHT_DECAY = add(Setting.number("optimizer.weight_decay", 0)
      .defaultFrom(v -> v.get(OPTIMIZER_NAME).equals("adamw") ? OptimizerSpec.ADAMW_WEIGHT_DECAY : 0.0));
  public static final Setting<Boolean> OPTIMIZER_DECAY_BIASES = add(Setting.bool("optimizer.decay_biases", false));
  public static final Setting<Double> OPTIMIZER_CLIP_NORM = add(Setting.number("optimizer.clip_norm", 0,
      x -> x >= 0 && Double.isFinite(x), "≥ 0 (0 turns clipping off)"));
  public static final Setting<Integer> LBFGS_MAX_ITERATIONS = add(Setting.integer("lbfgs.max_iterations", 100, 1));
  public static final Setting<Integer> LBFGS_MEMORY = add(Setting.integer("lbfgs.memory", 10, 1));
  public static final Setting<Double> LBFGS_TOLERANCE = add(Setting.number("lbfgs.tolerance", 1e-6, x -> x > 0,
      "a positive number"));

  // ---- learning-rate schedule: ScheduleSpec.DEFAULT's values; its constructor checks them
  private static final ScheduleSpec SCHEDULE_DEFAULTS = ScheduleSpec.DEFAULT;
  public static final Setting<String> SCHEDULE_NAME = add(Setting.string("schedule.name", SCHEDULE_DEFAULTS.name())
      .normalized(SettingsTable::knownScheduleName));
  public static final Setting<Long> SCHEDULE_STEP_SIZE = add(Setting.longValue("schedule.step_size",
      SCHEDULE_DEFAULTS.stepSize()));
  public static final Setting<Double> SCHEDULE_GAMMA = add(Setting.number("schedule.gamma", SCHEDULE_DEFAULTS.gamma()));
  public static final Setting<List<Long>> SCHEDULE_MILESTONES = add(Setting.of("schedule.milestones",
      SCHEDULE_DEFAULTS.milestones(), SettingsTable::milestones, m -> joined(m, ",")));
  public static final Setting<Double> SCHEDULE_DECAY = add(Setting.number("schedule.decay", SCHEDULE_DEFAULTS.decay()));
  public static final Setting<Long> SCHEDULE_PERIOD = add(Setting.longValue("schedule.period",
      SCHEDULE_DEFAULTS.period()));
  public static final Setting<Long> SCHEDULE_PERIOD_MULT = add(Setting.longValue("schedule.period_mult",
      SCHEDULE_DEFAULTS.periodMult()));
  public static final Setting<Double> SCHEDULE_MIN_LR = add(Setting.number("schedule.min_lr",
      SCHEDULE_DEFAULTS.minLr()));
  public static final Setting<Long> SCHEDULE_WARMUP_STEPS = add(Setting.longValue("schedule.warmup_steps",
      SCHEDULE_DEFAULTS.warmupSteps()));
  public static final Setting<Double> SCHEDULE_WARMUP_START_LR = add(Setting.number("schedule.warmup_start_lr",
      SCHEDULE_DEFAULTS.warmupStartLr()));
  public static final Setting<Long> SCHEDULE_TOTAL_STEPS = add(Setting.longValue("schedule.total_steps",
      SCHEDULE_DEFAULTS.totalSteps()));

  // ---- reduce on plateau; ReduceOnPlateau.start checks the values
  public static final Setting<Boolean> PLATEAU_ENABLED = add(Setting.bool("plateau.enabled", false));
  public static final Setting<Double> PLATEAU_FACTOR = add(Setting.number("plateau.factor", 0.1));
  public static final Setting<Integer> PLATEAU_PATIENCE = add(Setting.integer("plateau.patience", 10,
      Integer.MIN_VALUE));
  public static final Setting<Double> PLATEAU_THRESHOLD = add(Setting.number("plateau.threshold", 1e-4));
  public static final Setting<Integer> PLATEAU_COOLDOWN = add(Setting.integer("plateau.cooldown", 0,
      Integer.MIN_VALUE));
  public static final Setting<Double> PLATEAU_MIN_LR = add(Setting.number("plateau.min_lr", 0));
  public static final Setting<Double> EMA_DECAY = add(Setting.number("ema.decay", 0,
      x -> x >= 0 && x < 1, "in [0, 1) (0 turns averaging off)"));
  public static final Setting<Integer> EMA_START_STEP = add(Setting.integer("ema.start_step", 0, 0));
  public static final Setting<Integer> EARLY_STOPPING_PATIENCE = add(Setting.integer("early_stopping.patience", 0, 0));
  public static final Setting<Double> EARLY_STOPPING_MIN_DELTA = add(Setting.number("early_stopping.min_delta", 0,
      x -> x >= 0 && Double.isFinite(x), "a number ≥ 0"));

  // ---- predict and compare: other commands' settings, which training does not read
  public static final Setting<String> PREDICT_OUTPUT = add(Setting.string("predict.output", "predictions.csv")
      .mayDifferOnResume());
  public static final Setting<TestTimeAugmentation> PREDICT_TTA = add(Setting.of("predict.tta",
      TestTimeAugmentation.NONE,
      (s, k, d) -> s.withSources(() -> TestTimeAugmentation.parse(s.string(k, lowerCase(d)), k)),
      SettingsTable::lowerCase).mayDifferOnResume());
  public static final Setting<Integer> PREDICT_TTA_PAD = add(Setting.integer("predict.tta_pad", 2, 0)
      .mayDifferOnResume());
  public static final Setting<List<String>> COMPARE_RUNS = add(Setting.of("compare.runs",
      list("sgd, momentum, nesterov, adagrad, rmsprop, adam"), (s, k, d) -> list(s.string(k, joined(d, ", "))),
      runs -> joined(runs, ", ")).mayDifferOnResume());
  public static final Setting<List<Double>> COMPARE_LEARNING_RATES = add(Setting.of("compare.learning_rates",
      List.<Double>of(), SettingsTable::learningRates, lrs -> joined(lrs, ", ")).mayDifferOnResume());
  public static final Setting<String> COMPARE_OUTPUT = add(Setting.string("compare.output", "runs/compare")
      .mayDifferOnResume());
  public static final Setting<Integer> COMPARE_CONCURRENCY = add(Setting.integer("compare.concurrency", 2, 1)
      .mayDifferOnResume());

  // ---- snapshot ensembles: the last M cycles of a cosine_restarts run, saved as an ensemble model
  public static final Setting<Integer> SNAPSHOT_KEEP = add(Setting.integer("snapshot.keep", 0, 0));
  public static final Setting<String> SNAPSHOT_OUTPUT = add(Setting.string("snapshot.output", "")
      .mayDifferOnResume());

  // ---- ensemble, search and the learning-rate range test: K runs over one cached copy of the data
  public static final Setting<Integer> ENSEMBLE_MEMBERS = add(Setting.integer("ensemble.members", 4, 1)
      .mayDifferOnResume());
  public static final Setting<String> ENSEMBLE_VARY = add(Setting.of("ensemble.vary", "seed",
      (s, k, d) -> choice(s, k, d, List.of("seed", "overrides", "search")), v -> v).mayDifferOnResume());
  public static final Setting<String> ENSEMBLE_OVERRIDES = add(Setting.string("ensemble.overrides", "")
      .mayDifferOnResume());
  public static final Setting<String> ENSEMBLE_WEIGHTING = add(Setting.of("ensemble.weighting", "uniform",
      (s, k, d) -> choice(s, k, d, List.of("uniform", "validation_accuracy")), v -> v).mayDifferOnResume());
  public static final Setting<Integer> ENSEMBLE_MIN_MEMBERS = add(Setting.integer("ensemble.min_members", 2, 1)
      .mayDifferOnResume());
  public static final Setting<Integer> ENSEMBLE_CONCURRENCY = add(Setting.integer("ensemble.concurrency", 0, 0)
      .mayDifferOnResume());
  public static final Setting<String> ENSEMBLE_OUTPUT = add(Setting.string("ensemble.output", "runs/ensemble")
      .mayDifferOnResume());
  public static final Setting<Integer> SEARCH_RUNS = add(Setting.integer("search.runs", 8, 1).mayDifferOnResume());
  public static final Setting<SearchRange> SEARCH_LEARNING_RATE = add(range("search.learning_rate",
      new SearchRange(1e-4, 1e-1, true), true, 0, Double.POSITIVE_INFINITY));
  public static final Setting<SearchRange> SEARCH_WEIGHT_DECAY = add(range("search.weight_decay", null, true, 0,
      Double.POSITIVE_INFINITY));
  public static final Setting<SearchRange> SEARCH_DROPOUT = add(range("search.dropout", null, false, 0, 1));
  public static final Setting<List<Double>> SEARCH_WIDTH = add(Setting.of("search.width", List.<Double>of(),
      SettingsTable::widths, w -> joined(w, ", ")).mayDifferOnResume());
  public static final Setting<String> SEARCH_OUTPUT = add(Setting.string("search.output", "runs/search")
      .mayDifferOnResume());
  public static final Setting<Double> LR_RANGE_MIN_LR = add(Setting.number("lr_range.min_lr", 1e-6,
      x -> x > 0 && Double.isFinite(x), "a positive number").mayDifferOnResume());
  public static final Setting<Double> LR_RANGE_MAX_LR = add(Setting.number("lr_range.max_lr", 1,
      x -> x > 0 && Double.isFinite(x), "a positive number").mayDifferOnResume());
  public static final Setting<Integer> LR_RANGE_STEPS = add(Setting.integer("lr_range.steps", 300, 10)
      .mayDifferOnResume());
  public static final Setting<String> LR_RANGE_OUTPUT = add(Setting.string("lr_range.output", "runs/lr-range")
      .mayDifferOnResume());


  // ---- transfer learning: fine-tuning a saved or zoo model, and scheduled pretraining
  public static final Setting<String> FINETUNE_FROM = add(Setting.string("finetune.from", ""));
  public static final Setting<String> FINETUNE_ZOO = add(Setting.string("finetune.zoo", "").mayDifferOnResume());
  public static final Setting<Boolean> FINETUNE_REPLACE_HEAD = add(Setting.bool("finetune.replace_head", true));
  public static final Setting<Integer> FINETUNE_FREEZE_UNTIL = add(Setting.integer("finetune.freeze_until", -1, -1));
  public static final Setting<String> FINETUNE_LR_MULT = add(Setting.string("finetune.lr_mult", ""));
  public static final Setting<Integer> FINETUNE_PHASE2_EPOCHS = add(Setting.integer("finetune.phase2_epochs", 0, 0));
  public static final Setting<Integer> FINETUNE_PHASE2_FREEZE_UNTIL = add(Setting.integer("finetune.phase2_freeze_until", 0, 0));
  public static final Setting<Double> FINETUNE_PHASE2_LEARNING_RATE = add(Setting.number("finetune.phase2_learning_rate",
      0, x -> x > 0 && Double.isFinite(x), "a positive number")
      .defaultFrom(v -> v.get(OPTIMIZER_LEARNING_RATE) / 10).blankMeansDefault());
  public static final Setting<String> PRETRAIN_ZOO = add(Setting.string("pretrain.zoo", "").mayDifferOnResume());
  public static final Setting<String> PRETRAIN_NAME = add(Setting.string("pretrain.name", "").mayDifferOnResume());
  public static final Setting<Integer> PRETRAIN_LEASE_TIMEOUT = add(Setting.integer("pretrain.lease_timeout", 600, 1)
      .mayDifferOnResume());
  public static final Setting<Integer> PRETRAIN_HEARTBEAT = add(Setting.integer("pretrain.heartbeat", 30, 1)
      .mayDifferOnResume());

  /** The trainer's settings, then {@code spark.*} passed on to the Spark session. */
  public static final SettingsTable STANDARD = new SettingsTable(DECLARED, "spark.");

  private final List<Setting<?>> settings;
  private final Map<String, Setting<?>> byKey = new LinkedHashMap<>();
  private final String passThroughPrefix;

  private SettingsTable(List<Setting<?>> settings, String passThroughPrefix) {
    this.settings = List.copyOf(settings);
    this.passThroughPrefix = passThroughPrefix;
    for (Setting<?> s : this.settings) {
      if (s.key().startsWith(passThroughPrefix)) {
        throw new IllegalArgumentException("setting " + s.key() + ": under the pass-through prefix "
            + passThroughPrefix);
      }
      if (byKey.put(s.key(), s) != null) throw new IllegalArgumentException("setting " + s.key() + ": declared twice");
    }
  }

  /** This table with extra settings after its own (they may derive their defaults from any of them). */
  public SettingsTable with(Setting<?>... extra) {
    List<Setting<?>> all = new ArrayList<>(settings);
    all.addAll(Arrays.asList(extra));
    return new SettingsTable(all, passThroughPrefix);
  }

  /** The settings, in the order they are read and resolved. */
  public List<Setting<?>> settings() {
    return settings;
  }

  /** The setting with this key, or null. */
  public Setting<?> setting(String key) {
    return byKey.get(key);
  }

  public String passThroughPrefix() {
    return passThroughPrefix;
  }

  /** Reads every setting and the pass-through entries, then fails on the first key that none of them is. */
  public SettingValues read(Settings s) {
    SettingValues values = SettingValues.read(this, s, setting -> true, true);
    s.checkAllUsed();
    return values;
  }

  /** Reads only the settings under prefix (e.g. {@code schedule.}); other keys are left unread and unchecked. */
  public SettingValues readGroup(Settings s, String prefix) {
    return SettingValues.read(this, s, setting -> setting.key().startsWith(prefix), false);
  }

  /** The resolved config: every setting's formatted value in table order, then the pass-through entries. */
  public Map<String, String> format(SettingValues values) {
    if (values.table() != this) throw new IllegalArgumentException("values read with another table");
    Map<String, String> m = new LinkedHashMap<>();
    for (Setting<?> s : settings) m.put(s.key(), s.formatted(values));
    m.putAll(values.passThrough());
    return m;
  }

  /**
   * A saved resolved config as this version resolves it: keys the table no longer knows are dropped and keys it
   * has since gained take their defaults, so a config written by an older version compares with today's.
   */
  public Map<String, String> normalize(Map<String, String> saved) {
    return format(SettingValues.read(this, Settings.of(saved), setting -> true, true));
  }

  /**
   * The first setting that must match on resume but differs between a checkpoint's resolved config and the
   * resumed run's, both {@linkplain #normalize normalized}; empty when the run may resume.
   */
  public Optional<String> resumeDifference(Map<String, String> saved, Map<String, String> now) {
    Map<String, String> before = normalize(saved), after = normalize(now);
    for (Setting<?> s : settings) {
      if (s.onResume() == Setting.OnResume.MUST_MATCH && !before.get(s.key()).equals(after.get(s.key()))) {
        return Optional.of(s.key());
      }
    }
    return Optional.empty();
  }

  /** A seed that is train.seed unless given, so that one seed still reproduces a run. */
  private static Setting<Long> seedOrTrainSeed(String key) {
    return Setting.longValue(key, 0).defaultFrom(v -> v.get(TRAIN_SEED)).blankMeansDefault();
  }

  private static String lowerCase(Enum<?> e) {
    return e.name().toLowerCase(Locale.ROOT);
  }

  private static String trimmedLowerCase(String s) {
    return s.trim().toLowerCase(Locale.ROOT);
  }

  /** A known schedule name in lower case; an unknown one is left as written, for ScheduleSpec to reject. */
  private static String knownScheduleName(String name) {
    String lower = trimmedLowerCase(name);
    return ScheduleSpec.NAMES.contains(lower) ? lower : name;
  }

  private static List<Long> milestones(Settings s, String key, List<Long> dflt) {
    String text = s.string(key, null);
    if (text == null) return dflt;
    List<Long> out = new ArrayList<>();
    for (String v : list(text)) {
      try {
        out.add(Long.parseLong(v));
      } catch (NumberFormatException e) {
        throw new UserError(s.where(key) + " = " + text + ": not a list of integers");
      }
    }
    return List.copyOf(out);
  }

  private static List<Double> learningRates(Settings s, String key, List<Double> dflt) {
    String text = s.string(key, null);
    if (text == null) return dflt;
    List<Double> out = new ArrayList<>();
    for (String v : list(text)) {
      try {
        out.add(Double.parseDouble(v));
      } catch (NumberFormatException e) {
        throw new UserError(key + ": '" + v + "' is not a number");
      }
    }
    return List.copyOf(out);
  }

  /** A value from choices, in lower case; anything else names the setting and the choices. */
  private static String choice(Settings s, String key, String dflt, List<String> choices) {
    String v = s.string(key, dflt).trim().toLowerCase(Locale.ROOT);
    if (!choices.contains(v)) throw new UserError(s.where(key) + " = " + v + ": expected one of " + joined(choices, ", "));
    return v;
  }

  /** A search range lo:hi; empty means the dimension is not searched (null). */
  private static Setting<SearchRange> range(String key, SearchRange dflt, boolean log, double min, double max) {
    return Setting.<SearchRange>of(key, dflt, (s, k, d) -> {
      String text = s.string(k, null);
      if (text == null) return d;
      return text.isBlank() ? null : SearchRange.parse(text, log, min, max, s.where(k));
    }, r -> r == null ? "" : r.toString()).mayDifferOnResume();
  }

  /** Width multipliers of a search (0.5, 1, 2): each a positive number. */
  private static List<Double> widths(Settings s, String key, List<Double> dflt) {
    String text = s.string(key, null);
    if (text == null) return dflt;
    List<Double> out = new ArrayList<>();
    for (String v : list(text)) {
      double w;
      try {
        w = Double.parseDouble(v);
      } catch (NumberFormatException e) {
        throw new UserError(s.where(key) + " = " + text + ": '" + v + "' is not a number");
      }
      if (!(w > 0) || !Double.isFinite(w)) throw new UserError(s.where(key) + " = " + text + ": " + v + " is not a positive multiplier");
      out.add(w);
    }
    return List.copyOf(out);
  }

  /** Spark storage levels a cached training set may use (data.storage_level). */
  /** How cached images hold their pixels (data.pixel_type). */
  public static List<String> pixelTypes() {
    return List.of("float32", "uint8");
  }

  public static List<String> storageLevels() {
    return List.of("memory_only", "memory_and_disk", "memory_and_disk_ser", "disk_only");
  }

  /** data.classes: distinct non-negative class labels, in the order that numbers them 0, 1, …; empty: all. */
  private static List<Integer> classes(Settings s, String key, List<Integer> dflt) {
    String text = s.string(key, null);
    if (text == null) return dflt;
    List<Integer> out = new ArrayList<>();
    for (String v : list(text)) {
      int c;
      try {
        c = Integer.parseInt(v);
      } catch (NumberFormatException e) {
        throw new UserError(s.where(key) + " = " + text + ": '" + v + "' is not a class label");
      }
      if (c < 0 || out.contains(c)) {
        throw new UserError(s.where(key) + " = " + text + ": " + c + (c < 0 ? " is negative" : " is listed twice"));
      }
      out.add(c);
    }
    if (out.size() == 1) throw new UserError(s.where(key) + " = " + text + ": a classifier needs at least 2 classes");
    return List.copyOf(out);
  }

  private static String joined(List<?> values, String separator) {
    return String.join(separator, values.stream().map(String::valueOf).toList());
  }

  private static List<String> list(String csv) {
    return Arrays.stream(csv.split(",")).map(String::trim).filter(v -> !v.isEmpty()).toList();
  }
}
