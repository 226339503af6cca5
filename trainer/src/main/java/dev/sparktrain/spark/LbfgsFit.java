package dev.sparktrain.spark;

import dev.sparktrain.UserError;
import dev.sparktrain.config.SettingsTable;
import dev.sparktrain.nn.LayerSpec;
import dev.sparktrain.nn.ModelSpec;
import dev.sparktrain.train.GradientTask;
import dev.sparktrain.train.PartitionHook;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * optimizer.name = lbfgs: full-batch L-BFGS ({@link FullBatchLbfgs}) instead of the minibatch loop. It needs a
 * deterministic loss over the whole data, so random layers and augmentation are refused; train.epochs does not
 * apply (lbfgs.max_iterations bounds the iterations), and the reported epochs count passes over the data. It
 * writes no checkpoints and calls no callbacks.
 */
final class LbfgsFit {
  private LbfgsFit() {}

  static TrainedModel fit(JavaSparkContext sc, TrainingData data, ModelSpec spec, FitOptions o, String label) {
    var cfg = o.config();
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
    if (!(o.initial() instanceof InitialParams.Seeded)) {
      throw new UserError("optimizer.name = lbfgs: full-batch L-BFGS starts from seeded parameters only; it writes no "
          + "checkpoints, so set checkpoint.resume = false (no --resume) and give no initial model");
    }
    if (cfg.get(SettingsTable.EMA_DECAY) > 0 || cfg.get(SettingsTable.EARLY_STOPPING_PATIENCE) > 0
        || cfg.get(SettingsTable.SNAPSHOT_KEEP) > 0) {
      throw new UserError("optimizer.name = lbfgs: full-batch L-BFGS runs its own iterations; set ema.decay = 0, "
          + "early_stopping.patience = 0 and snapshot.keep = 0");
    }
    if (!o.callbacks().isEmpty() || o.partitionHook() != PartitionHook.NONE) {
      o.progress().info("optimizer.name = lbfgs: full-batch L-BFGS runs its own iterations; the run's callbacks and "
          + "partition hook are not called");
    }
    var l = cfg.optimizer().lbfgs();
    var progress = o.progress();
    long start = System.nanoTime();
    double[] last = {Double.NaN};
    int[] passes = {1};
    float[] params = new FullBatchLbfgs(sc, data.train(), spec, cfg.training().treeDepth())
        .minimize(GradientTask.network(spec).initParams(o.seeds().init()), l.maxIterations(), l.memory(),
            l.tolerance(), it -> {
              last[0] = it.loss();
              passes[0] = it.evaluations();
              progress.info(String.format("L-BFGS iteration %d  loss %.6f  |grad| %.3g  evaluations %d  elapsed %s",
                  it.iteration(), it.loss(), it.gradientNorm(), it.evaluations(), progress.elapsed()));
            });
    double seconds = (System.nanoTime() - start) / 1e9;
    double valAcc = data.validationCount() == 0 ? Double.NaN
        : DistributedEvaluation.run(data.validation(), spec, params, label + "validation").accuracy();
    progress.info(String.format("L-BFGS done: train_loss %.6f  val_acc %.4f", last[0], valAcc));
    return new TrainedModel(spec, params, data.standardizer(), cfg.resolved(),
        TrainedModel.provenance(sc.sc(), cfg, data, "Trainer (full-batch L-BFGS)"),
        new TrainedModel.Summary(passes[0], last[0], valAcc, seconds / passes[0],
            (double) data.trainCount() * passes[0] / seconds, Engine.JOB.id(), null, Double.NaN));
  }
}
