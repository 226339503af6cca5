package dev.sparktrain.spark;

import dev.sparktrain.config.TrainConfig;
import dev.sparktrain.train.Callback;
import dev.sparktrain.train.Hooks;
import dev.sparktrain.train.PartitionHook;
import dev.sparktrain.train.Progress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * How to fit a model to {@link TrainingData}: the config (network, optimizer, schedule, plateau, epochs, batch,
 * engine, seeds, checkpoints: each a setting of the settings table), where the parameters start, the callbacks
 * and partition hook added from code, a run name for job descriptions and log lines, how many runs share the
 * cluster at once (the engine choice needs it), how many tasks read the partitions, and where progress goes. Immutable; the withers return copies.
 */
public record FitOptions(TrainConfig config, InitialParams initial, List<Callback> callbacks,
                         PartitionHook partitionHook, String name, int concurrentRuns, int tasks, Progress progress) {
  /**
   * The fit's random streams: initialisation, and minibatch order with augmentation and dropout (the validation
   * split's seed belongs to the {@link TrainingData}).
   */
  public record Seeds(long init, long order) {}

  public FitOptions {
    callbacks = List.copyOf(callbacks);
    if (concurrentRuns < 1) throw new IllegalArgumentException("concurrentRuns must be at least 1: " + concurrentRuns);
    if (name == null) throw new IllegalArgumentException("name is null (use \"\" for none)");
    if (tasks < 0) throw new IllegalArgumentException("tasks must be ≥ 0 (0: one per partition): " + tasks);
  }

  /** The config's options: resumed from checkpoint.dir when checkpoint.resume is set, else seeded; quiet. */
  public static FitOptions from(TrainConfig config) {
    InitialParams start = config.checkpoint().resume() ? InitialParams.resume(config.checkpoint().dir())
        : InitialParams.seeded();
    return new FitOptions(config, start, List.of(), PartitionHook.NONE, "", 1, 0, Progress.quiet());
  }

  public Seeds seeds() {
    return new Seeds(config.training().initSeed(), config.training().orderSeed());
  }

  /** The same options with settings changed, re-validated through the settings table ("train.init_seed" → "7"). */
  public FitOptions withSettings(Map<String, String> overrides) {
    return withConfig(config.with(overrides));
  }

  public FitOptions withConfig(TrainConfig c) {
    return new FitOptions(c, initial, callbacks, partitionHook, name, concurrentRuns, tasks, progress);
  }

  public FitOptions withInitial(InitialParams i) {
    return new FitOptions(config, i, callbacks, partitionHook, name, concurrentRuns, tasks, progress);
  }

  /** These callbacks after the ones already given. */
  public FitOptions withCallbacks(Callback... more) {
    List<Callback> all = new ArrayList<>(callbacks);
    all.addAll(List.of(more));
    return new FitOptions(config, initial, all, partitionHook, name, concurrentRuns, tasks, progress);
  }

  /** The hooks' callbacks and partition hook, if they apply to this fit's name ({@link Hooks#appliesTo}). */
  public FitOptions withHooks(Hooks hooks) {
    if (!hooks.appliesTo(name)) return this;
    return withCallbacks(hooks.callbacks().toArray(Callback[]::new)).withPartitionHook(hooks.partitionHook());
  }

  public FitOptions withPartitionHook(PartitionHook h) {
    return new FitOptions(config, initial, callbacks, h, name, concurrentRuns, tasks, progress);
  }

  public FitOptions withName(String n) {
    return new FitOptions(config, initial, callbacks, partitionHook, n, concurrentRuns, tasks, progress);
  }

  public FitOptions withConcurrentRuns(int runs) {
    return new FitOptions(config, initial, callbacks, partitionHook, name, runs, tasks, progress);
  }

  /**
   * The same options with the training partitions read through this many tasks per step (0: one per partition).
   * Only the job engine reads partitions several to a task, and a fit trains the same bits through any number of
   * tasks; the ensemble runner uses it to fit more members at once into the cluster's task slots.
   */
  public FitOptions withTasks(int t) {
    return new FitOptions(config, initial, callbacks, partitionHook, name, concurrentRuns, t, progress);
  }

  public FitOptions withProgress(Progress p) {
    return new FitOptions(config, initial, callbacks, partitionHook, name, concurrentRuns, tasks, p);
  }
}
