package dev.sparktrain.spark;

import dev.sparktrain.UserError;
import dev.sparktrain.augment.AugmentPipeline;
import dev.sparktrain.config.SettingsTable;
import dev.sparktrain.config.TrainConfig;
import dev.sparktrain.io.CheckpointStore;
import dev.sparktrain.io.SavedModel;
import dev.sparktrain.nn.ModelSpec;
import dev.sparktrain.nn.Network;
import dev.sparktrain.optim.Blocks;
import dev.sparktrain.optim.GradientTransform;
import dev.sparktrain.optim.ParamMask;
import dev.sparktrain.optim.Schedule;
import dev.sparktrain.tensor.Gemm;
import dev.sparktrain.train.Callback;
import dev.sparktrain.train.Checkpointer;
import dev.sparktrain.train.ConsoleProgress;
import dev.sparktrain.train.EarlyStopping;
import dev.sparktrain.train.EmaAveraging;
import dev.sparktrain.train.FiniteCheck;
import dev.sparktrain.train.Freezing;
import dev.sparktrain.train.GradientTask;
import dev.sparktrain.train.HeapLogger;
import dev.sparktrain.train.LoopState;
import dev.sparktrain.train.MinibatchPlan;
import dev.sparktrain.train.Progress;
import dev.sparktrain.train.ReduceLrOnPlateau;
import dev.sparktrain.train.SnapshotEnsemble;
import dev.sparktrain.train.StepEngine;
import dev.sparktrain.train.TrainingLoop;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

/**
 * The library's entry point: {@code fit(TrainingData, FitOptions) → TrainedModel}. It builds the network, the
 * optimizer and schedule, the starting point (seeded, a saved model's layers, or a checkpoint), the engine, and
 * the built-in callbacks, then hands them to {@link TrainingLoop}; full-batch L-BFGS goes to {@link LbfgsFit}.
 * It keeps no state between calls, so one Trainer serves any number of fits, also concurrently.
 */
public final class Trainer {
  private final SparkSession spark;
  private final JavaSparkContext sc;

  public Trainer(SparkSession spark) {
    this.spark = spark;
    this.sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
  }

  JavaSparkContext sparkContext() {
    return sc;
  }

  /** The network model.* describes on this data's input shape, with data.augment checked against that shape. */
  public static ModelSpec modelSpec(TrainConfig cfg, TrainingData data) {
    ModelSpec spec = ModelSpec.parse(data.shape(), cfg.model().layers(), data.numClasses(), cfg.model().init(),
        cfg.model().stochasticDepth());
    var in = spec.inputShape();
    cfg.data().augment().validateFor(in.c(), in.h(), in.w(), "data.augment");
    return spec;
  }

  /**
   * Fits a model to data as the options say. The saved config shows the data.* settings the data were prepared
   * with (a DataFrame's classes and split, say), whatever the options' own data.* settings were.
   */
  public TrainedModel fit(TrainingData data, FitOptions options) {
    FitOptions o = options.withConfig(options.config().with(data.settings()));
    TrainConfig cfg = o.config();
    ModelSpec spec = modelSpec(cfg, data);
    String label = o.name().isEmpty() ? "" : o.name() + " · ";
    Freezing freezing = freezing(cfg, spec);
    if (cfg.optimizer().isLbfgs()) {
      if (freezing.active()) {
        throw new UserError("optimizer.name = lbfgs: full-batch L-BFGS trains every layer; fine-tune with a minibatch "
            + "optimizer (adam, nesterov, ...)");
      }
      return LbfgsFit.fit(sc, data, spec, o, label);
    }
    var tr = cfg.training();
    MinibatchPlan plan = new MinibatchPlan(tr.orderSeed(), data.trainCount(), tr.batchSize());
    int iterations = plan.iterationsPerEpoch();
    double lr = cfg.optimizer().learningRate();
    Schedule schedule = cfg.schedule().build(lr, iterations, (long) iterations * tr.epochs());
    Network network = GradientTask.network(spec);
    LoopState start = start(o, network, schedule, iterations, freezing);
    PartitionStep step = new PartitionStep(spec, data.offsets(), plan, augmentation(cfg, data, label, o.progress()),
        o.partitionHook(), freezing.frozenLayers());
    if (freezing.frozenLayers() > 0) {
      o.progress().info(String.format("%sfine-tuning: layers 0–%d frozen (%,d parameters); %,d trainable, the only "
              + "ones whose gradient is computed and sent", label, freezing.frozenLayers() - 1, step.gradientOffset(),
          step.gradientLength()));
    }
    Engine engine = Engine.choose(sc, tr.engine(), data.partitions(), o.concurrentRuns(), o.progress());
    if (data.validationCount() == 0 && cfg.get(SettingsTable.EARLY_STOPPING_PATIENCE) > 0) {
      throw new UserError("early_stopping.patience = " + cfg.get(SettingsTable.EARLY_STOPPING_PATIENCE)
          + ": early stopping watches the validation loss, and there is no validation split (data.validation_fraction = 0)");
    }
    TrainingLoop.Validation validation = data.validationCount() == 0 ? null : (params, epoch) ->
        DistributedEvaluation.run(data.validation(), spec, params, label + "validation · epoch " + (epoch + 1));
    EmaAveraging ema = cfg.get(SettingsTable.EMA_DECAY) == 0 ? null : new EmaAveraging(cfg.get(SettingsTable.EMA_DECAY),
        cfg.get(SettingsTable.EMA_START_STEP), validation == null ? null : (params, epoch) -> DistributedEvaluation.run(
            data.validation(), spec, params, label + "ema validation · epoch " + (epoch + 1)), o.progress());
    int keep = cfg.get(SettingsTable.SNAPSHOT_KEEP);
    if (keep > 0 && !cfg.schedule().name().equals("cosine_restarts")) {
      throw new UserError("snapshot.keep = " + keep + ": snapshots are taken at the ends of warm-restart cycles; set "
          + "schedule.name = cosine_restarts (now " + cfg.schedule().name() + ")");
    }
    SnapshotEnsemble snapshots = keep == 0 ? null
        : new SnapshotEnsemble(keep, (long) iterations * tr.epochs() - 1, o.progress());
    TrainingLoop.Result r;
    long received;
    String reduce;
    try (StepEngine e = engine.open(sc, data, step, tr.treeDepth(), label, BarrierEngine.Channel.of(cfg),
        o.progress()::info, o.tasks())) {
      r = new TrainingLoop(network, e, next -> optimizer(cfg, network, next, freezing), schedule, tr.epochs(), iterations,
          validation, callbacks(o, schedule, ema, snapshots)).run(start);
      received = e.gradientBytesReceived();
      reduce = e.reduce();
    }
    double epochsRun = (double) r.stepsRun() / iterations;  // here, in this process: a resume runs fewer
    var emaVal = ema == null ? null : ema.lastValidation();
    return new TrainedModel(spec, r.params(), ema == null ? null : ema.average(), data.standardizer(), cfg.resolved(),
        TrainedModel.provenance(spark.sparkContext(), cfg, data, "Trainer (" + engine.id() + " engine)"),
        new TrainedModel.Summary((int) (r.steps() / iterations), r.trainLoss(), r.validationAccuracy(),
            r.seconds() / epochsRun, data.trainCount() * epochsRun / r.seconds(), engine.id(), r.stopReason(),
            emaVal == null ? Double.NaN : emaVal.accuracy()))
        .withSnapshots(snapshots == null ? List.of() : snapshots.snapshots())
        .withFitState(r.optimizerState(), new TrainedModel.Traffic(step.gradientLength(), step.gradientOffset(),
            (long) data.partitions() * step.gradientFrameBytes(), r.stepsRun(), received, reduce),
            o.initial() instanceof InitialParams.Resume && start.resumed() ? start.step() : -1);
  }

  /**
   * The built-in callbacks around the caller's: the finite check first (a bad step is never checkpointed),
   * checkpoints last (they hold the plateau's and early stopping's state after this epoch's update).
   */
  private List<Callback> callbacks(FitOptions o, Schedule schedule, EmaAveraging ema, SnapshotEnsemble snapshots) {
    TrainConfig cfg = o.config();
    List<Callback> all = new ArrayList<>(List.of(new FiniteCheck(cfg.optimizer().learningRate())));
    all.addAll(o.callbacks());
    all.add(new ConsoleProgress(o.progress()));
    if (cfg.training().heapLogEvery() > 0) all.add(new HeapLogger(o.progress(), cfg.training().heapLogEvery()));
    if (ema != null) all.add(ema);
    if (snapshots != null) all.add(snapshots);
    if (cfg.plateau().enabled()) {
      all.add(new ReduceLrOnPlateau(cfg.plateau().start(cfg.optimizer().learningRate()), schedule, o.progress()));
    }
    int patience = cfg.get(SettingsTable.EARLY_STOPPING_PATIENCE);
    if (patience > 0) all.add(new EarlyStopping(patience, cfg.get(SettingsTable.EARLY_STOPPING_MIN_DELTA)));
    var ck = cfg.checkpoint();
    if (ck.enabled()) {
      all.add(new Checkpointer(store(ck), ck.every(), cfg.get(SettingsTable.CHECKPOINT_EVERY_MINUTES), cfg.resolved()));
    }
    return all;
  }

  private CheckpointStore store(TrainConfig.Checkpoint ck) {
    return new CheckpointStore(ck.dir(), sc.hadoopConfiguration(), ck.keep());
  }

  /** The freezing the settings ask for on this network (finetune.freeze_until, finetune.lr_mult). */
  static Freezing freezing(TrainConfig cfg, ModelSpec spec) {
    boolean fineTuning = !cfg.get(SettingsTable.FINETUNE_FROM).isBlank();
    return Freezing.of(cfg.get(SettingsTable.FINETUNE_FREEZE_UNTIL), cfg.get(SettingsTable.FINETUNE_LR_MULT), fineTuning,
        spec.layers().size());
  }

  /**
   * The optimizer for a schedule: clipping first, then the named method with weight decay on the weights; when
   * fine-tuning, the layers' learning-rate multipliers and, last, the freeze of the frozen layers, whose
   * parameters weight decay never touches either.
   */
  static GradientTransform<?> optimizer(TrainConfig cfg, Network network, Schedule lr, Freezing freezing) {
    var o = cfg.optimizer();
    boolean[] decay = o.decayBiases() ? null : network.decayMask();
    int frozenEnd = freezing.active() ? network.trainableOffset(freezing.frozenLayers()) : 0;
    if (freezing.active()) {  // the frozen layers are a prefix of the vector: no decay there
      if (decay == null) decay = ParamMask.allExcept(network.paramCount(), new int[] {0, frozenEnd});
      else java.util.Arrays.fill(decay, 0, frozenEnd, false);
    }
    GradientTransform<?> t = o.spec().build(lr, decay);
    if (o.clipNorm() > 0) t = GradientTransform.chain(Blocks.clipByGlobalNorm(o.clipNorm()), t);
    if (!freezing.active()) return t;
    return GradientTransform.chain(GradientTransform.chain(t, Blocks.scaleByMultipliers(freezing.multipliers(network))),
        Blocks.freeze(ParamMask.of(network.paramCount(), new int[] {0, frozenEnd})));
  }

  /** Where the loop starts: InitialParams resolved against this network. */
  private LoopState start(FitOptions o, Network network, Schedule schedule, int iterations, Freezing freezing) {
    float[] seeded = network.initParams(o.seeds().init());
    Progress progress = o.progress();
    if (o.initial() instanceof InitialParams.FromModel m) {
      SavedModel saved = SavedModel.load(m.path(), sc.hadoopConfiguration());
      float[] p = m.mapping().apply(new Network(saved.spec(), Gemm.best()), saved.params(), network, seeded, m.path());
      progress.info("initial parameters: " + m.path() + " (" + m.mapping() + ")");
      return LoopState.start(p);
    }
    if (o.initial() instanceof InitialParams.Warm w) {
      if (w.params().length != network.paramCount()) {
        throw new IllegalArgumentException(w.params().length + " warm-start parameters for " + network.paramCount());
      }
      return new LoopState(0, 0, 0, 0, 0, w.params().clone(), w.optimizerState(), java.util.Map.of(), java.util.Map.of());
    }
    if (o.initial() instanceof InitialParams.Resume r) {
      return resume(o, r.checkpointDir(), optimizer(o.config(), network, schedule, freezing).init(seeded), seeded,
          iterations);
    }
    return LoopState.start(seeded);
  }

  /** The newest valid checkpoint's state, if its run had the same training settings; template: the state's shape. */
  private LoopState resume(FitOptions o, String dir, Object template, float[] seeded, int iterations) {
    TrainConfig cfg = o.config();
    Progress progress = o.progress();
    var found = new CheckpointStore(dir, sc.hadoopConfiguration(), cfg.checkpoint().keep())
        .newest(template, seeded.length, progress::info).orElse(null);
    if (found == null) {
      progress.info("--resume: no valid checkpoint in " + dir + "; starting from the beginning");
      return LoopState.start(seeded);
    }
    cfg.table().resumeDifference(found.config(), cfg.resolved()).ifPresent(k -> {
      throw new UserError("--resume: the checkpoint in " + dir + " was trained with " + k + " = "
          + found.config().get(k) + ", this run has " + cfg.resolved().get(k)
          + "; resume with the same settings, or use another checkpoint.dir");
    });
    progress.info(String.format("--resume: continuing from step %d (epoch %d, iteration %d of %d)", found.step(),
        found.epoch() + 1, found.iteration() + 1, iterations));
    return Checkpointer.toLoopState(found);
  }

  /** The configured augmentation; PCA lighting first gets the training pixels' colour statistics (once per data). */
  private static AugmentPipeline augmentation(TrainConfig cfg, TrainingData data, String label, Progress progress) {
    AugmentPipeline augment = cfg.data().augment();
    if (!augment.needsPixelStatistics()) return augment;
    var moments = data.pixelMoments(label);
    progress.info("PCA lighting: colour covariance of " + moments.count() + " training pixels");
    return augment.withPixelStatistics(moments);
  }
}
