package dev.sparktrain.spark;

import dev.sparktrain.UserError;
import dev.sparktrain.Version;
import dev.sparktrain.config.TrainConfig;
import dev.sparktrain.data.DataBlock;
import dev.sparktrain.io.SavedModel;
import dev.sparktrain.augment.AugmentPipeline;
import dev.sparktrain.io.CheckpointStore;
import dev.sparktrain.augment.PixelMoments;
import dev.sparktrain.augment.TestTimeAugmentation;
import dev.sparktrain.nn.LayerSpec;
import dev.sparktrain.nn.ModelSpec;
import dev.sparktrain.nn.Network;
import dev.sparktrain.nn.Shape;
import dev.sparktrain.optim.Blocks;
import dev.sparktrain.optim.GradientTransform;
import dev.sparktrain.optim.ReduceOnPlateau;
import dev.sparktrain.optim.Schedule;
import dev.sparktrain.optim.Stepper;
import dev.sparktrain.tensor.Gemm;
import dev.sparktrain.train.GradientSum;
import dev.sparktrain.train.GradientTask;
import dev.sparktrain.train.MinibatchPlan;
import dev.sparktrain.train.Progress;
import dev.sparktrain.train.TrainingLog;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

/**
 * The simple engine: one Spark job per optimizer step. The driver holds the parameters and the optimizer state;
 * each step broadcasts the parameters, every partition computes the gradient sum of its share of the global
 * minibatch, treeAggregate combines the sums, and the driver applies the optimizer to the mean gradient.
 */
public final class SparkTrainer {
  private final SparkSession spark;
  private final JavaSparkContext sc;
  private final TrainConfig cfg;
  private final Progress progress;
  private final TrainingLog log;
  /** Prefixes job descriptions and log lines when several runs share a session (compare). */
  private final String label;

  public SparkTrainer(SparkSession spark, TrainConfig cfg, Progress progress) {
    this(spark, cfg, progress, TrainingLog.NONE, "");
  }

  public SparkTrainer(SparkSession spark, TrainConfig cfg, Progress progress, TrainingLog log, String runName) {
    this.spark = spark;
    this.sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    this.cfg = cfg;
    this.progress = progress;
    this.log = log;
    this.label = runName.isEmpty() ? "" : runName + " · ";
  }

  /** What a training run produced, as reported on the command's last stdout line. */
  public record Result(double testAccuracy, double testAccuracyTta, double testLoss, double trainAccuracy, double validationAccuracy, double trainLoss,
                       int epochs, double secondsPerEpoch, double examplesPerSecond, long trainExamples,
                       long validationExamples, long testExamples, long parameters, String model, String blas,
                       long failedTasks, String engine) {}

  /** The model after training, before it is saved. */
  /** epochs counts passes over the training data: the configured epochs, or L-BFGS's function evaluations. */
  public record Trained(ModelSpec spec, float[] params, PreparedData data, int epochs, double trainLoss, double valAccuracy,
                        double secondsPerEpoch, double examplesPerSecond) {}

  public Result run() {
    FailedTasks failures = new FailedTasks();
    spark.sparkContext().addSparkListener(failures);
    try {
      return run(failures);
    } finally {
      spark.sparkContext().removeSparkListener(failures);
    }
  }

  /** Counts task attempts that did not succeed (Spark retried them); reported so that retries are visible. */
  static final class FailedTasks extends org.apache.spark.scheduler.SparkListener {
    final java.util.concurrent.atomic.AtomicLong count = new java.util.concurrent.atomic.AtomicLong();

    @Override
    public void onTaskEnd(org.apache.spark.scheduler.SparkListenerTaskEnd end) {
      if (!(end.reason() instanceof org.apache.spark.Success$)) count.incrementAndGet();
    }
  }

  private Result run(FailedTasks failures) {
    Sources sources = Sources.resolve(cfg.data(), progress);
    DataLoader loader = new DataLoader(spark, cfg.data().numClasses(), cfg.data().partitions());
    Examples examples = loader.load(sources.train());
    ModelSpec spec = SparkTrainer.modelSpec(cfg, examples);
    PreparedData data = PreparedData.prepare(examples, cfg.training().seed(), cfg.data().validationFraction(),
        cfg.data().standardize(), spec.inputShape().c());
    progress.info(String.format("data: %,d training and %,d validation examples of %d features in %d partitions; "
            + "model: %s, %,d parameters; BLAS: %s", data.trainCount(), data.validationCount(), data.dim(),
        data.offsets().length, spec.layersText(), spec.paramCount(), Gemm.best().name()));
    Trained t = fit(spec, data);

    DistributedEvaluation.Metrics test = new DistributedEvaluation.Metrics(Double.NaN, Double.NaN, 0);
    DistributedEvaluation.Metrics testTta = test;
    if (sources.test() != null) {
      Examples testExamples = loader.load(sources.test());
      requireDim(testExamples, spec);
      var std = data.standardizer();
      JavaRDD<DataBlock> blocks = testExamples.blocks().map(b -> b.standardized(std));
      test = DistributedEvaluation.run(blocks, spec, t.params(), "test · " + sources.test().features());
      progress.info(String.format("test accuracy %.4f (%,d examples)", test.accuracy(), test.count()));
      var tta = cfg.predict().tta();
      if (tta != TestTimeAugmentation.NONE) {
        testTta = DistributedEvaluation.run(blocks, spec, t.params(), tta, cfg.predict().ttaPad(),
            "test · " + tta.name().toLowerCase(java.util.Locale.ROOT) + " · " + sources.test().features());
        progress.info(String.format("test accuracy with test-time augmentation (%s): %.4f",
            tta.name().toLowerCase(java.util.Locale.ROOT), testTta.accuracy()));
      }
    }
    // the final model on its own training split, in test mode without augmentation: the train side of the gap
    DistributedEvaluation.Metrics trainAcc = DistributedEvaluation.run(data.train(), spec, t.params(),
        label + "train accuracy · final model");
    progress.info(String.format("train accuracy %.4f (test mode, %,d examples)", trainAcc.accuracy(), trainAcc.count()));
    Map<String, Double> metrics = new LinkedHashMap<>();
    metrics.put("train_accuracy", trainAcc.accuracy());
    metrics.put("test_accuracy", test.accuracy());
    if (!Double.isNaN(testTta.accuracy())) metrics.put("test_accuracy_tta", testTta.accuracy());
    metrics.put("validation_accuracy", t.valAccuracy());
    metrics.put("train_loss", t.trainLoss());
    SavedModel model = new SavedModel(spec, t.params(), data.standardizer(), cfg.resolved(), provenance(sources), metrics);
    model.save(cfg.model().path(), sc.hadoopConfiguration());
    data.release();
    return new Result(test.accuracy(), testTta.accuracy(), test.loss(), trainAcc.accuracy(), t.valAccuracy(), t.trainLoss(), t.epochs(),
        t.secondsPerEpoch(), t.examplesPerSecond(), data.trainCount(), data.validationCount(), test.count(),
        spec.paramCount(), cfg.model().path(), Gemm.best().name(), failures.count.get(),
        cfg.optimizer().isLbfgs() ? "job" : engineUsed);
  }

  /** The model for the configured layers on these examples: data.shape (checked against the data) or flat. */
  static ModelSpec modelSpec(TrainConfig cfg, Examples examples) {
    Shape shape = cfg.data().shape();
    if (shape != null && shape.size() != examples.dim()) {
      throw new UserError("data.shape = " + shape + " holds " + shape.size() + " values, but " + examples.source()
          + " has " + examples.dim() + " features per example");
    }
    ModelSpec spec = ModelSpec.parse(shape != null ? shape : Shape.flat(examples.dim()), cfg.model().layers(),
        cfg.data().numClasses(), cfg.model().init(), cfg.model().stochasticDepth());
    cfg.data().augment().validateFor(spec.inputShape().c(), spec.inputShape().h(), spec.inputShape().w(), "data.augment");
    return spec;
  }

  static void requireDim(Examples e, ModelSpec spec) {
    if (e.dim() != spec.inputSize()) {
      throw new UserError(e.source() + ": " + e.dim() + " features per example, but the model expects "
          + spec.inputSize());
    }
  }

  /** Trains on prepared data: minibatch steps with the configured optimizer, or full-batch L-BFGS. */
  public Trained fit(ModelSpec spec, PreparedData data) {
    return cfg.optimizer().isLbfgs() ? fitLbfgs(spec, data) : fitMinibatch(spec, data);
  }

  /** The optimizer for a schedule: clipping first, then the named method with weight decay on the weights. */
  private GradientTransform<?> optimizer(ModelSpec spec, Schedule lr) {
    var o = cfg.optimizer();
    boolean[] mask = o.decayBiases() ? null : GradientTask.network(spec).decayMask();
    GradientTransform<?> t = o.spec().build(lr, mask);
    return o.clipNorm() > 0 ? GradientTransform.chain(Blocks.clipByGlobalNorm(o.clipNorm()), t) : t;
  }

  private Trained fitMinibatch(ModelSpec spec, PreparedData data) {
    var training = cfg.training();
    MinibatchPlan plan = new MinibatchPlan(training.seed(), data.trainCount(), training.batchSize());
    int iterations = plan.iterationsPerEpoch();
    Schedule schedule = cfg.schedule().build(cfg.optimizer().learningRate(), iterations, (long) iterations * training.epochs());
    ReduceOnPlateau plateau = cfg.plateau().enabled() ? cfg.plateau().start(cfg.optimizer().learningRate()) : null;
    Schedule lr = plateau == null ? schedule : plateau.applyTo(schedule);
    Network network = GradientTask.network(spec);
    float[] params = network.initParams(training.seed());
    Stepper<?> optimizer = Stepper.start(optimizer(spec, lr), params);
    AugmentPipeline augment = augmentation(spec, data);
    double trainLoss = Double.NaN, valAcc = Double.NaN, seconds = 0;
    long step = 0;
    var ck = cfg.checkpoint();
    CheckpointStore store = ck.enabled() ? new CheckpointStore(ck.dir(), sc.hadoopConfiguration(), ck.keep()) : null;
    CheckpointStore.State resumed = null;
    if (ck.resume()) {
      resumed = store.newest(optimizer.state(), params.length, progress::info).orElse(null);
      if (resumed == null) {
        progress.info("--resume: no valid checkpoint in " + ck.dir() + "; starting from the beginning");
      } else {
        requireSameTraining(resumed.config());
        params = resumed.params();
        step = resumed.step();
        if (plateau != null && resumed.plateau() != null) {
          plateau = ReduceOnPlateau.fromState(resumed.plateau());
          lr = plateau.applyTo(schedule);
        }
        optimizer = resumedStepper(optimizer(spec, lr), params.length, resumed.optimizerState());
        progress.info(String.format("--resume: continuing from step %d (epoch %d, iteration %d of %d)", step,
            resumed.epoch() + 1, resumed.iteration() + 1, iterations));
      }
    }
    int firstEpoch = resumed == null ? 0 : resumed.epoch();
    String engineName = resolveEngine(training.engine(), data);
    try (StepEngine engine = engine(engineName, spec, data, plan, augment)) {
    for (int epoch = firstEpoch; epoch < training.epochs(); epoch++) {
      long start = System.nanoTime();
      boolean resuming = resumed != null && epoch == firstEpoch;
      double lossSum = resuming ? resumed.epochLossSum() : 0;
      long count = resuming ? resumed.epochCount() : 0;
      int first = resuming ? resumed.iteration() : 0;
      engine.beginEpoch(epoch, first);
      for (int t = first; t < iterations; t++, step++) {
        GradientSum.Node g = engine.gradient(params, epoch, t);
        checkFinite(g, epoch, t);
        float[] before = params;
        params = optimizer.step(scale(g.grad(), 1f / g.count(), params.length), params);
        network.updateRunning(before, params, g.stats());
        lossSum += g.lossSum();
        count += g.count();
        log.iteration(epoch + 1, t, step, g.lossSum() / g.count(), lr.at(step));
        progress.iteration(epoch + 1, training.epochs(), t, iterations, lossSum / count);
        if (training.heapLogEvery() > 0 && (step + 1) % training.heapLogEvery() == 0) logHeap(step + 1);
        if (store != null && ck.every() > 0 && (step + 1) % ck.every() == 0 && t + 1 < iterations) {
          checkpoint(store, step + 1, epoch, t + 1, lossSum, count, params, optimizer, plateau);
        }
      }
      if (data.validationCount() > 0 || epoch + 1 == training.epochs()) engine.endEpoch();
      double epochSeconds = (System.nanoTime() - start) / 1e9;
      seconds += epochSeconds;
      trainLoss = lossSum / count;
      DistributedEvaluation.Metrics val = data.validationCount() == 0 ? null
          : DistributedEvaluation.run(data.validation(), spec, params, label + "validation · epoch " + (epoch + 1));
      valAcc = val == null ? Double.NaN : val.accuracy();
      log.epoch(epoch + 1, trainLoss, val == null ? Double.NaN : val.loss(), valAcc, lr.at(step - 1), epochSeconds);
      progress.epoch(epoch + 1, training.epochs(), trainLoss, valAcc,
          count / ((System.nanoTime() - start) / 1e9), lr.at(step));
      if (plateau != null && val != null) {
        ReduceOnPlateau next = plateau.observe(val.loss());
        if (next.scale() != plateau.scale()) {
          progress.info(String.format("validation loss has not improved for %d epochs: learning rate × %.3g",
              plateau.patience() + 1, next.scale() / plateau.scale()));
          lr = next.applyTo(schedule);
          optimizer = optimizer.withTransform(optimizer(spec, lr));
        }
        plateau = next;
      }
      if (store != null) checkpoint(store, step, epoch + 1, 0, 0, 0, params, optimizer, plateau);
    }
    }
    int ran = Math.max(1, training.epochs() - firstEpoch);
    return new Trained(spec, params, data, training.epochs(), trainLoss, valAcc, seconds / ran,
        (double) data.trainCount() * ran / seconds);
  }

  /** Saves the state between two steps: the next one to take is iteration t of epoch (0-based), global step. */
  private void checkpoint(CheckpointStore store, long step, int epoch, int t, double lossSum, long count,
                          float[] params, Stepper<?> optimizer, ReduceOnPlateau plateau) {
    store.save(new CheckpointStore.State(step, epoch, t, lossSum, count, params, optimizer.state(),
        plateau == null ? null : plateau.toState(), cfg.resolved()));
  }

  /** train.heap_log_every: the driver JVM's heap in use after a full GC (with local[N], the executors' too). */
  private void logHeap(long steps) {
    System.gc();
    var heap = java.lang.management.ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
    progress.info(String.format(java.util.Locale.ROOT, "heap after GC at step %d: %.1f MiB used of %.0f MiB",
        steps, heap.getUsed() / 1048576.0, heap.getCommitted() / 1048576.0));
  }

  /** Settings that may differ between a checkpoint's run and the resumed one: where things go, Spark, faults. */
  private static boolean mayDifferOnResume(String key) {
    return key.startsWith("spark.") || key.startsWith("checkpoint.") || key.startsWith("predict.")
        || key.startsWith("compare.") || key.startsWith("faults.") || key.equals("model.path")
        || key.equals("train.heap_log_every") || key.equals("train.engine") || key.equals("train.transport");
  }

  /** A resumed run continues bit for bit only with the same training settings; the first difference is an error. */
  private void requireSameTraining(Map<String, String> saved) {
    Map<String, String> now = cfg.resolved();
    java.util.Set<String> keys = new java.util.TreeSet<>(now.keySet());
    keys.addAll(saved.keySet());
    for (String k : keys) {
      if (mayDifferOnResume(k) || java.util.Objects.equals(saved.get(k), now.get(k))) continue;
      throw new UserError("--resume: the checkpoint in " + cfg.checkpoint().dir() + " was trained with " + k + " = "
          + saved.get(k) + ", this run has " + now.get(k) + "; resume with the same settings, or use another checkpoint.dir");
    }
  }

  @SuppressWarnings("unchecked")  // Stepper.resume checks that the state has the transform's chain of records
  private static <S> Stepper<S> resumedStepper(GradientTransform<S> transform, int size, Object state) {
    return Stepper.resume(transform, size, (S) state);
  }

  /** Full-batch L-BFGS: train.epochs does not apply; lbfgs.max_iterations bounds the iterations. */
  private Trained fitLbfgs(ModelSpec spec, PreparedData data) {
    for (LayerSpec l : spec.layers()) {
      if (l instanceof LayerSpec.Dropout || l instanceof LayerSpec.DropConnect || l instanceof LayerSpec.BatchNorm
          || l instanceof LayerSpec.FractionalMaxPool || l instanceof LayerSpec.Residual) {
        throw new UserError("optimizer.name = lbfgs: full-batch L-BFGS needs a deterministic loss over the whole data; "
            + "remove " + l + " from model.layers");
      }
    }
    if (!cfg.data().augment().isEmpty()) {
      throw new UserError("optimizer.name = lbfgs: full-batch L-BFGS needs a deterministic loss; set data.augment = none");
    }
    var l = cfg.optimizer().lbfgs();
    long start = System.nanoTime();
    double[] last = {Double.NaN};
    int[] passes = {1};
    float[] params = new FullBatchLbfgs(sc, data.train(), spec, cfg.training().treeDepth())
        .minimize(GradientTask.network(spec).initParams(cfg.training().seed()), l.maxIterations(), l.memory(),
            l.tolerance(), it -> {
              last[0] = it.loss();
              passes[0] = it.evaluations();
              log.iteration(it.iteration() + 1, 0, it.iteration(), it.loss(), Double.NaN);
              progress.info(String.format("L-BFGS iteration %d  loss %.6f  |grad| %.3g  evaluations %d  elapsed %s",
                  it.iteration(), it.loss(), it.gradientNorm(), it.evaluations(), progress.elapsed()));
            });
    double seconds = (System.nanoTime() - start) / 1e9;
    double valAcc = data.validationCount() == 0 ? Double.NaN
        : DistributedEvaluation.run(data.validation(), spec, params, label + "validation").accuracy();
    progress.info(String.format("L-BFGS done: train_loss %.6f  val_acc %.4f", last[0], valAcc));
    return new Trained(spec, params, data, passes[0], last[0], valAcc, seconds / passes[0],
        (double) data.trainCount() * passes[0] / seconds);
  }

  /** The engine a run used (train.engine = auto resolved), reported in the result. */
  private String engineUsed = "job";

  /**
   * train.engine = auto: the barrier engine when the cluster can run a task for every partition at once (it waits
   * up to 30 s for executors to register), else the job engine. An explicit barrier that cannot fit is an error.
   */
  String resolveEngine(String configured, PreparedData data) {
    String name = configured;
    if (name.equals("auto") || name.equals("barrier")) {
      int partitions = data.offsets().length;
      int slots = taskSlots(partitions);
      if (slots < partitions) {
        if (name.equals("barrier")) {
          throw new UserError("train.engine = barrier runs a task for every partition at once, but the cluster has "
              + slots + " task slots for data.partitions = " + partitions + "; lower data.partitions, add executors, "
              + "or set train.engine = job");
        }
        progress.info(String.format("engine: job (one Spark job per step): %d task slots for %d partitions; the barrier "
            + "engine needs one slot per partition", slots, partitions));
        name = "job";
      } else {
        name = "barrier";
      }
    }
    engineUsed = name;
    return name;
  }

  /** Task slots of the cluster's default resource profile; waits up to 30 s for executors while there are too few. */
  private int taskSlots(int wanted) {
    var ctx = sc.sc();
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (true) {
      int slots = ctx.maxNumConcurrentTasks(ctx.resourceProfileManager().defaultResourceProfile());
      if (slots >= wanted || System.nanoTime() > deadline || ctx.isLocal()) return slots;
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return slots;
      }
    }
  }

  /** The configured engine for these data; every engine trains the same model bit for bit. */
  StepEngine engine(String name, ModelSpec spec, PreparedData data, MinibatchPlan plan, AugmentPipeline augment) {
    var training = cfg.training();
    PartitionStep step = new PartitionStep(spec, data.offsets(), plan, augment, training.taskFailureFraction(),
        training.nanAtStep());
    return switch (name) {
      case "job" -> new JobEngine(sc, data, step, training.treeDepth(), label);
      case "threads" -> new ThreadsEngine(data, step, label);
      case "barrier" -> new BarrierEngine(sc, data, step, Math.toIntExact(spec.paramCount()), GradientTask.network(spec).statsCount(), label,
          training.transport().equals("tcp"));
      default -> throw new IllegalArgumentException("train.engine = " + name);
    };
  }

  /** One step's gradient sum through the job engine (one Spark job), for tests. */
  GradientSum.Node gradient(ModelSpec spec, float[] params, PreparedData data, MinibatchPlan plan,
                            int epoch, int t, AugmentPipeline augment) {
    try (StepEngine e = engine("job", spec, data, plan, augment)) {
      return e.gradient(params, epoch, t);
    }
  }

  /**
   * The configured augmentation; PCA lighting first gets the eigen-decomposition of the training pixels' colour
   * covariance, summed over the partitions in one job.
   */
  private AugmentPipeline augmentation(ModelSpec spec, PreparedData data) {
    AugmentPipeline augment = cfg.data().augment();
    if (!augment.needsPixelStatistics()) return augment;
    sc.setJobDescription(label + "augment · pixel colour covariance for PCA lighting");
    PixelMoments total = pixelMoments(data.train(), spec.inputShape());
    progress.info("PCA lighting: colour covariance of " + total.count() + " training pixels");
    return augment.withPixelStatistics(total);
  }

  /** The colour moments of every pixel of every training image, summed per partition and merged in partition order. */
  static PixelMoments pixelMoments(JavaRDD<DataBlock> blocks, Shape s) {
    return blocks.map(b -> {
      PixelMoments m = new PixelMoments(s.c());
      for (int i = 0; i < b.n(); i++) m.add(b.x(), i * b.dim(), s.c(), s.h(), s.w());
      return m;
    }).collect().stream().reduce(new PixelMoments(s.c()), PixelMoments::merge);
  }

  private static float[] scale(float[] sum, float factor, int length) {
    float[] g = new float[length];
    if (sum != null) {
      dev.sparktrain.optim.Elementwise.forEach(length, (from, to) -> {
        for (int i = from; i < to; i++) g[i] = sum[i] * factor;
      });
    }
    return g;
  }

  /** Whether no value is ±∞ or NaN: the largest exponent field, found without branches, is not all ones. */
  static boolean allFinite(float[] a) {
    java.util.concurrent.atomic.AtomicInteger worst = new java.util.concurrent.atomic.AtomicInteger();
    dev.sparktrain.optim.Elementwise.forEach(a.length, (from, to) -> {
      int max = 0;
      for (int i = from; i < to; i++) max = Math.max(max, Float.floatToRawIntBits(a[i]) & 0x7F800000);
      worst.accumulateAndGet(max, Math::max);
    });
    return worst.get() != 0x7F800000;
  }

  private void checkFinite(GradientSum.Node g, int epoch, int t) {
    boolean ok = Double.isFinite(g.lossSum()) && (g.grad() == null || allFinite(g.grad()));
    if (!ok) {
      throw new UserError(String.format("epoch %d iteration %d: the loss or gradient is not finite; the learning "
          + "rate is probably too high (optimizer.learning_rate = %s)", epoch + 1, t + 1, cfg.optimizer().learningRate()));
    }
  }

  private Map<String, String> provenance(Sources sources) {
    Map<String, String> p = new LinkedHashMap<>();
    p.put("sparktrain_version", Version.get());
    p.put("spark_version", spark.version());
    p.put("java_version", System.getProperty("java.version"));
    p.put("trainer", cfg.optimizer().isLbfgs() ? "SparkTrainer (full-batch L-BFGS)" : "SparkTrainer (" + engineUsed + " engine)");
    p.put("seed", Long.toString(cfg.training().seed()));
    p.put("train_data", sources.train().features());
    p.put("blas", Gemm.best().name());
    p.put("created", Instant.now().toString());
    return p;
  }
}
