package dev.sparktrain.config;

import dev.sparktrain.UserError;
import dev.sparktrain.augment.AugmentPipeline;
import dev.sparktrain.augment.TestTimeAugmentation;
import dev.sparktrain.nn.Shape;
import dev.sparktrain.nn.Init;
import dev.sparktrain.nn.LayerSpec;
import dev.sparktrain.optim.OptimizerSpec;
import dev.sparktrain.optim.ReduceOnPlateau;
import dev.sparktrain.optim.ScheduleSpec;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The resolved configuration of a job. Every default is applied here, in {@link #from} (the optimizer's and the
 * schedule's come from OptimizerSpec and ScheduleSpec.DEFAULT), and the shipped
 * {@code conf/} files spell each one out. Records validate in their constructors.
 */
public record TrainConfig(Data data, Model model, Training training, Optimizer optimizer, ScheduleSpec schedule,
                          Plateau plateau, Predict predict, Compare compare, Checkpoint checkpoint,
                          Map<String, String> spark) {

  /** Where the examples come from and how they are prepared. */
  public record Data(String format, String dataset, String train, String trainLabels, String test,
                     String testLabels, String featuresCol, String labelCol, int numClasses,
                     double validationFraction, String standardize, int partitions, Shape shape,
                     AugmentPipeline augment) {
    public static final List<String> FORMATS = List.of("idx", "libsvm", "parquet", "csv");
    public static final List<String> STANDARDIZE = List.of("feature", "channel", "none");

    public Data {
      standardize = switch (standardize.trim().toLowerCase(Locale.ROOT)) {
        case "true", "feature" -> "feature";
        case "false", "none" -> "none";
        case "channel" -> "channel";
        default -> throw new UserError("data.standardize = " + standardize
            + ": choose feature (per input feature), channel (per image channel) or none");
      };
      format = format.toLowerCase(Locale.ROOT);
      if (!FORMATS.contains(format)) {
        throw new UserError("data.format = " + format + ": unknown format (known: " + String.join(", ", FORMATS) + ")");
      }
      if (dataset.isEmpty() && train.isEmpty()) {
        throw new UserError("data.train: no training data (set data.train, or data.dataset = fashion-mnist)");
      }
      if (format.equals("idx") && dataset.isEmpty() && (trainLabels.isEmpty() || (!test.isEmpty() && testLabels.isEmpty()))) {
        throw new UserError("data.train_labels / data.test_labels: IDX data needs a labels file beside each images file");
      }
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

  /** The training loop. */
  /**
   * The training loop. taskFailureFraction (tests only) makes that fraction of gradient tasks fail on their
   * first attempt, to show that Spark's retries change nothing.
   */
  public record Training(int epochs, int batchSize, long seed, int treeDepth, double taskFailureFraction,
                         long nanAtStep, int heapLogEvery, String engine, String transport) {
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

  public static TrainConfig from(Settings s) {
    Data data = new Data(
        s.string("data.format", "idx"),
        s.string("data.dataset", ""),
        s.string("data.train", ""),
        s.string("data.train_labels", ""),
        s.string("data.test", ""),
        s.string("data.test_labels", ""),
        s.string("data.features_col", "features"),
        s.string("data.label_col", "label"),
        s.integer("data.num_classes", 10, 2),
        s.number("data.validation_fraction", 0.1, x -> x >= 0 && x < 1, "in [0, 1)"),
        s.withSources(() -> s.string("data.standardize", "feature")),
        s.integer("data.partitions", 2, 1),
        s.string("data.shape", "").isBlank() ? null : Shape.parse(s.string("data.shape", ""), s.where("data.shape")),
        s.withSources(() -> AugmentPipeline.parse(s.string("data.augment", "none"), "data.augment")));
    Model model = new Model(
        s.string("model.layers", "dense(512), relu, dense(256), relu, dense(10)"),
        Init.parse(s.string("model.init", "he"), s.where("model.init")),
        s.string("model.path", "models/model.stm"),
        s.number("model.stochastic_depth", 1.0, x -> x > 0 && x <= 1, "in (0, 1] (1 turns it off)"));
    Training training = new Training(
        s.integer("train.epochs", 10, 1),
        s.integer("train.batch_size", 128, 1),
        s.longValue("train.seed", 42),
        s.integer("train.tree_depth", 2, 1),
        s.number("faults.task_failure_fraction", 0, x -> x >= 0 && x <= 1, "in [0, 1]"),
        s.longValue("faults.nan_at_step", -1),
        s.integer("train.heap_log_every", 0, 0),
        s.string("train.engine", "auto"),
        s.string("train.transport", "auto"));
    Checkpoint checkpoint = new Checkpoint(s.string("checkpoint.dir", ""), s.integer("checkpoint.every", 0, 0),
        s.integer("checkpoint.keep", 2, 1), s.bool("checkpoint.resume", false));
    Optimizer optimizer = optimizer(s);
    ScheduleSpec schedule = schedule(s);
    Plateau plateau = new Plateau(s.bool("plateau.enabled", false),
        s.number("plateau.factor", 0.1, x -> true, ""), s.integer("plateau.patience", 10, Integer.MIN_VALUE),
        s.number("plateau.threshold", 1e-4, x -> true, ""), s.integer("plateau.cooldown", 0, Integer.MIN_VALUE),
        s.number("plateau.min_lr", 0, x -> true, ""));
    if (plateau.enabled() || s.has("plateau.factor")) plateau.start(optimizer.learningRate());  // validates
    Predict predict = new Predict(s.string("predict.output", "predictions.csv"),
        s.withSources(() -> TestTimeAugmentation.parse(s.string("predict.tta", "none"), "predict.tta")),
        s.integer("predict.tta_pad", 2, 0));
    Compare compare = new Compare(list(s.string("compare.runs", "sgd, momentum, nesterov, adagrad, rmsprop, adam")),
        list(s.string("compare.learning_rates", "")).stream().map(v -> parseDouble(v, "compare.learning_rates")).toList(),
        s.string("compare.output", "runs/compare"), s.integer("compare.concurrency", 2, 1));
    Map<String, String> spark = s.withPrefix("spark.");
    s.checkAllUsed();
    return new TrainConfig(data, model, training, optimizer, schedule, plateau, predict, compare, checkpoint, spark);
  }

  private static Optimizer optimizer(Settings s) {
    String name = s.string("optimizer.name", "momentum").trim().toLowerCase(Locale.ROOT);
    double lr = s.number("optimizer.learning_rate", 0.01, x -> x > 0 && Double.isFinite(x), "a positive number");
    double momentum = s.number("optimizer.momentum", OptimizerSpec.MOMENTUM, x -> true, "");
    double beta1 = s.number("optimizer.beta1", OptimizerSpec.BETA1, x -> true, "");
    double beta2 = s.number("optimizer.beta2", OptimizerSpec.BETA2, x -> true, "");
    double eps = s.number("optimizer.eps", OptimizerSpec.EPS, x -> true, "");
    double decay = s.number("optimizer.decay", OptimizerSpec.DECAY, x -> true, "");
    double weightDecay = s.number("optimizer.weight_decay", name.equals("adamw") ? OptimizerSpec.ADAMW_WEIGHT_DECAY : 0,
        x -> true, "");
    Lbfgs lbfgs = new Lbfgs(s.integer("lbfgs.max_iterations", 100, 1), s.integer("lbfgs.memory", 10, 1),
        s.number("lbfgs.tolerance", 1e-6, x -> x > 0, "a positive number"));
    OptimizerSpec spec = name.equals(Optimizer.LBFGS) ? null : s.withSources(() ->
        new OptimizerSpec(name, momentum, beta1, beta2, eps, decay, weightDecay));
    if (spec == null && weightDecay != 0) {
      throw new UserError(s.where("optimizer.weight_decay") + " = " + weightDecay + ": lbfgs takes no weight decay here");
    }
    return new Optimizer(name, lr, spec, s.bool("optimizer.decay_biases", false),
        s.number("optimizer.clip_norm", 0, x -> x >= 0 && Double.isFinite(x), "≥ 0 (0 turns clipping off)"), lbfgs);
  }

  /** The {@code schedule.*} settings, with ScheduleSpec.DEFAULT for those absent. */
  public static ScheduleSpec schedule(Settings s) {
    ScheduleSpec d = ScheduleSpec.DEFAULT;
    String name = s.string("schedule.name", d.name());
    long stepSize = s.longValue("schedule.step_size", d.stepSize());
    double gamma = s.number("schedule.gamma", d.gamma(), x -> true, "");
    List<Long> milestones = new java.util.ArrayList<>();
    for (String v : list(s.string("schedule.milestones", ""))) {
      try {
        milestones.add(Long.parseLong(v));
      } catch (NumberFormatException e) {
        throw new UserError(s.where("schedule.milestones") + " = " + s.string("schedule.milestones", "")
            + ": not a list of integers");
      }
    }
    double decay = s.number("schedule.decay", d.decay(), x -> true, "");
    long period = s.longValue("schedule.period", d.period());
    long periodMult = s.longValue("schedule.period_mult", d.periodMult());
    double minLr = s.number("schedule.min_lr", d.minLr(), x -> true, "");
    long warmupSteps = s.longValue("schedule.warmup_steps", d.warmupSteps());
    double warmupStartLr = s.number("schedule.warmup_start_lr", d.warmupStartLr(), x -> true, "");
    long totalSteps = s.longValue("schedule.total_steps", d.totalSteps());
    return s.withSources(() -> new ScheduleSpec(name, stepSize, gamma, milestones, decay, period, periodMult, minLr,
        warmupSteps, warmupStartLr, totalSteps));
  }

  private static List<String> list(String csv) {
    return java.util.Arrays.stream(csv.split(",")).map(String::trim).filter(v -> !v.isEmpty()).toList();
  }

  private static double parseDouble(String v, String key) {
    try {
      return Double.parseDouble(v);
    } catch (NumberFormatException e) {
      throw new UserError(key + ": '" + v + "' is not a number");
    }
  }

  /** Every setting with its resolved value, in a stable order, as saved in model headers. */
  public Map<String, String> resolved() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("data.format", data.format());
    m.put("data.dataset", data.dataset());
    m.put("data.train", data.train());
    m.put("data.train_labels", data.trainLabels());
    m.put("data.test", data.test());
    m.put("data.test_labels", data.testLabels());
    m.put("data.features_col", data.featuresCol());
    m.put("data.label_col", data.labelCol());
    m.put("data.num_classes", Integer.toString(data.numClasses()));
    m.put("data.validation_fraction", Double.toString(data.validationFraction()));
    m.put("data.standardize", data.standardize());
    m.put("data.partitions", Integer.toString(data.partitions()));
    m.put("data.shape", data.shape() == null ? "" : data.shape().toString());
    m.put("data.augment", data.augment().toString());
    m.put("model.layers", model.layers());
    m.put("model.init", model.init().name().toLowerCase(Locale.ROOT));
    m.put("model.path", model.path());
    m.put("model.stochastic_depth", Double.toString(model.stochasticDepth()));
    m.put("train.epochs", Integer.toString(training.epochs()));
    m.put("train.batch_size", Integer.toString(training.batchSize()));
    m.put("train.seed", Long.toString(training.seed()));
    m.put("train.tree_depth", Integer.toString(training.treeDepth()));
    m.put("faults.task_failure_fraction", Double.toString(training.taskFailureFraction()));
    m.put("faults.nan_at_step", Long.toString(training.nanAtStep()));
    m.put("train.heap_log_every", Integer.toString(training.heapLogEvery()));
    m.put("train.engine", training.engine());
    m.put("train.transport", training.transport());
    m.put("checkpoint.dir", checkpoint.dir());
    m.put("checkpoint.every", Integer.toString(checkpoint.every()));
    m.put("checkpoint.keep", Integer.toString(checkpoint.keep()));
    m.put("checkpoint.resume", Boolean.toString(checkpoint.resume()));
    m.put("optimizer.name", optimizer.name());
    m.put("optimizer.learning_rate", Double.toString(optimizer.learningRate()));
    OptimizerSpec o = optimizer.spec() != null ? optimizer.spec() : OptimizerSpec.defaults("sgd");
    m.put("optimizer.momentum", Double.toString(o.momentum()));
    m.put("optimizer.beta1", Double.toString(o.beta1()));
    m.put("optimizer.beta2", Double.toString(o.beta2()));
    m.put("optimizer.eps", Double.toString(o.eps()));
    m.put("optimizer.decay", Double.toString(o.decay()));
    m.put("optimizer.weight_decay", Double.toString(o.weightDecay()));
    m.put("optimizer.decay_biases", Boolean.toString(optimizer.decayBiases()));
    m.put("optimizer.clip_norm", Double.toString(optimizer.clipNorm()));
    m.put("lbfgs.max_iterations", Integer.toString(optimizer.lbfgs().maxIterations()));
    m.put("lbfgs.memory", Integer.toString(optimizer.lbfgs().memory()));
    m.put("lbfgs.tolerance", Double.toString(optimizer.lbfgs().tolerance()));
    m.putAll(schedule.toSettings());
    m.put("plateau.enabled", Boolean.toString(plateau.enabled()));
    m.put("plateau.factor", Double.toString(plateau.factor()));
    m.put("plateau.patience", Integer.toString(plateau.patience()));
    m.put("plateau.threshold", Double.toString(plateau.threshold()));
    m.put("plateau.cooldown", Integer.toString(plateau.cooldown()));
    m.put("plateau.min_lr", Double.toString(plateau.minLr()));
    m.put("predict.output", predict.output());
    m.put("predict.tta", predict.tta().name().toLowerCase(Locale.ROOT));
    m.put("predict.tta_pad", Integer.toString(predict.ttaPad()));
    m.put("compare.runs", String.join(", ", compare.runs()));
    m.put("compare.learning_rates", String.join(", ", compare.learningRates().stream().map(String::valueOf).toList()));
    m.put("compare.output", compare.output());
    m.put("compare.concurrency", Integer.toString(compare.concurrency()));
    m.putAll(spark);
    return m;
  }
}
