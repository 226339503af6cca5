package dev.sparktrain.spark;

import dev.sparktrain.UserError;
import dev.sparktrain.Version;
import dev.sparktrain.augment.TestTimeAugmentation;
import dev.sparktrain.config.TrainConfig;
import dev.sparktrain.data.DataBlock;
import dev.sparktrain.data.FeatureStats;
import dev.sparktrain.io.SavedModel;
import dev.sparktrain.nn.ModelSpec;
import dev.sparktrain.tensor.Gemm;
import dev.sparktrain.train.GradientTask;
import dev.sparktrain.train.Metrics;
import dev.sparktrain.train.SnapshotEnsemble;
import java.io.Serializable;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

/**
 * A model that {@link Trainer#fit} produced, or that was loaded: architecture, parameters, the standardizer of
 * its training data, the resolved config and provenance, and how the fit went. It evaluates and predicts on
 * (unstandardized) {@link Examples} on the executors, and saves itself as a checksummed model file.
 */
public final class TrainedModel {
  /**
   * How the fit went: epochs (L-BFGS: passes), final losses, timing, the engine used, why it stopped early (null:
   * it did not), and the EMA average's last validation accuracy (NaN without averaging or validation).
   */
  public record Summary(int epochs, double trainLoss, double validationAccuracy, double secondsPerEpoch,
                        double examplesPerSecond, String engine, String stopReason, double averagedValidationAccuracy) {}

  /** One example's prediction: its source row, label, the most probable class and every class's probability. */
  public record Prediction(long row, int label, int predicted, float[] probabilities) implements Serializable {}

  private final ModelSpec spec;
  private final float[] params;
  private final FeatureStats.Standardizer standardizer;
  private final Map<String, String> config;
  private final Map<String, String> provenance;
  private final Summary summary;
  private final float[] averaged;
  private List<SnapshotEnsemble.Snapshot> snapshots = List.of();
  private Object optimizerState;
  private Traffic traffic;
  private long resumedFrom = -1;

  /**
   * What a step of the fit moved: the parameters that trained and those that were frozen, and the bytes of
   * gradient all partitions sent per step (the barrier transport's GRAD frames: header, trainable gradient, batch
   * statistics, checksum; the job engine ships the same arrays, Java-serialized), and what the driver counted
   * arriving over TCP during the fit's steps (−1 where it does not count: the job engine, in-process tasks).
   */
  public record Traffic(long trainableParameters, long frozenParameters, long bytesPerStep, long steps,
                        long measuredBytes, String reduce) {
    /** The measured bytes per step, or −1 where none were counted. */
    public long measuredBytesPerStep() {
      return measuredBytes <= 0 || steps == 0 ? -1 : measuredBytes / steps;
    }
  }

  TrainedModel(ModelSpec spec, float[] params, FeatureStats.Standardizer standardizer, Map<String, String> config,
               Map<String, String> provenance, Summary summary) {
    this(spec, params, null, standardizer, config, provenance, summary);
  }

  /** averaged: the EMA of the parameters (ema.decay), or null. */
  TrainedModel(ModelSpec spec, float[] params, float[] averaged, FeatureStats.Standardizer standardizer,
               Map<String, String> config, Map<String, String> provenance, Summary summary) {
    this.spec = spec;
    this.params = params;
    this.averaged = averaged;
    this.standardizer = standardizer;
    this.config = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(config));
    this.provenance = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(provenance));
    this.summary = summary;
  }

  /** A saved model, to evaluate or predict with. */
  public static TrainedModel of(SavedModel m) {
    return new TrainedModel(m.spec(), m.params(), m.averagedParams(), m.standardizer(), m.config(), m.provenance(), null);
  }

  /** The same model with its EMA-averaged parameters (ema.decay) as its weights, if it has them. */
  public java.util.Optional<TrainedModel> averaged() {
    return averaged == null ? java.util.Optional.empty() : java.util.Optional.of(
        new TrainedModel(spec, averaged, null, standardizer, config, provenance, summary));
  }

  /** This model with the snapshots of a snapshot ensemble (snapshot.keep) taken during its fit. */
  TrainedModel withSnapshots(List<SnapshotEnsemble.Snapshot> s) {
    snapshots = List.copyOf(s);
    return this;
  }

  TrainedModel withFitState(Object optimizerState, Traffic traffic, long resumedFrom) {
    this.optimizerState = optimizerState;
    this.traffic = traffic;
    this.resumedFrom = resumedFrom;
    return this;
  }

  /** The step a resumed fit continued from (a checkpoint's), or −1 when it started afresh. */
  public long resumedFrom() { return resumedFrom; }

  /** This model on the data's test set (data.test), logged; {@link Metrics#NONE} when the data have none. */
  public Metrics evaluateTest(TrainingData data, String label, dev.sparktrain.train.Progress progress) {
    if (data.test().isEmpty()) return Metrics.NONE;
    Examples t = data.test().get();
    Metrics test = evaluate(t, label + "test · " + t.source());
    progress.info(String.format("test accuracy %.4f (%,d examples)", test.accuracy(), test.count()));
    return test;
  }

  /** The metrics a saved model records: test accuracy, the fit's last validation accuracy and training loss. */
  public Map<String, Double> savedMetrics(Metrics test) {
    Map<String, Double> m = new LinkedHashMap<>();
    m.put("test_accuracy", test.accuracy());
    m.put("validation_accuracy", summary.validationAccuracy());
    m.put("train_loss", summary.trainLoss());
    return m;
  }

  /** The optimizer's state at the fit's end (to warm-start another phase), or null for a loaded model. */
  public Object optimizerState() { return optimizerState; }

  /** What each step of the fit moved, or null for a loaded model or L-BFGS. */
  public Traffic traffic() { return traffic; }

  /** The snapshots a snapshot ensemble kept (snapshot.keep), oldest first, each as a model; empty without. */
  public List<TrainedModel> snapshots() {
    List<TrainedModel> out = new java.util.ArrayList<>();
    for (SnapshotEnsemble.Snapshot s : snapshots) {
      Map<String, String> p = new LinkedHashMap<>(provenance);
      p.put("snapshot", "cycle " + s.cycle() + ", after step " + (s.step() + 1));
      out.add(new TrainedModel(spec, s.params(), null, standardizer, config, p, null));
    }
    return out;
  }

  /** The cycle of each snapshot, in {@link #snapshots()} order. */
  public List<Integer> snapshotCycles() {
    return snapshots.stream().map(SnapshotEnsemble.Snapshot::cycle).toList();
  }

  public ModelSpec spec() { return spec; }

  /** A copy of the flat parameter vector (with BatchNorm running averages). */
  public float[] params() { return params.clone(); }

  public FeatureStats.Standardizer standardizer() { return standardizer; }

  /** How the fit went; null for a loaded model. */
  public Summary summary() { return summary; }

  public Map<String, String> config() { return config; }

  public Metrics evaluate(Examples test, String description) {
    return evaluate(test, TestTimeAugmentation.NONE, 0, description);
  }

  /** Accuracy and loss on test, averaging the class probabilities over the views of a test-time augmentation. */
  public Metrics evaluate(Examples test, TestTimeAugmentation tta, int pad, String description) {
    return DistributedEvaluation.run(standardized(test), spec, params, tta, pad, description);
  }

  /** Accuracy and loss on the training split it was fitted on, in test mode without augmentation. */
  public Metrics evaluateTraining(TrainingData data, String description) {
    return DistributedEvaluation.run(data.train(), spec, params, description);
  }

  /** Every example's prediction, in source order within each partition; the broadcast lives until it is collected. */
  public JavaRDD<Prediction> predict(Examples in, TestTimeAugmentation tta, int pad) {
    JavaRDD<DataBlock> blocks = standardized(in);
    Broadcast<float[]> bc = JavaSparkContext.fromSparkContext(blocks.context()).broadcast(params);
    ModelSpec s = spec;
    int k = spec.numClasses();
    return blocks.flatMap(b -> {
      float[] probs = GradientTask.probabilities(s, bc.value(), b, tta, pad);
      java.util.List<Prediction> out = new java.util.ArrayList<>(b.n());
      for (int i = 0; i < b.n(); i++) {
        int best = 0;
        for (int j = 1; j < k; j++) if (probs[i * k + j] > probs[i * k + best]) best = j;
        out.add(new Prediction(b.rows()[i], b.y()[i], best, java.util.Arrays.copyOfRange(probs, i * k, (i + 1) * k)));
      }
      return out.iterator();
    });
  }

  private JavaRDD<DataBlock> standardized(Examples e) {
    if (e.dim() != spec.inputSize()) {
      throw new UserError(e.source() + ": " + e.dim() + " features per example, but the model expects " + spec.inputSize());
    }
    var std = standardizer;
    return e.blocks().map(b -> b.standardized(std));
  }

  /**
   * Writes the model file (atomically, with its checksum): metrics are stored beside the config and provenance,
   * and the averaged parameters beside the raw ones.
   */
  public void save(String path, Configuration conf, Map<String, Double> metrics) {
    Map<String, String> p = new LinkedHashMap<>(provenance);
    p.put("created", Instant.now().toString());
    new SavedModel(spec, params, standardizer, config, p, metrics, averaged).save(path, conf);
  }

  /** Who made a model from what: versions, trainer and engine, seeds, training data, BLAS. */
  static Map<String, String> provenance(SparkContext sc, TrainConfig cfg, TrainingData data, String trainer) {
    Map<String, String> p = new LinkedHashMap<>();
    p.put("sparktrain_version", Version.get());
    p.put("spark_version", sc.version());
    p.put("java_version", System.getProperty("java.version"));
    p.put("trainer", trainer);
    p.put("seed", Long.toString(cfg.training().seed()));
    p.put("init_seed", Long.toString(cfg.training().initSeed()));
    p.put("order_seed", Long.toString(cfg.training().orderSeed()));
    p.put("split_seed", Long.toString(data.preparation().splitSeed()));
    p.put("train_data", data.source());
    p.put("blas", Gemm.best().name());
    return p;
  }
}
