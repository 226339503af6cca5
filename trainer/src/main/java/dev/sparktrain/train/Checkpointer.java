package dev.sparktrain.train;

import dev.sparktrain.io.CheckpointStore;
import java.util.Map;

/**
 * Writes training checkpoints: every N steps within an epoch (checkpoint.every; 0 = none), and after a step when
 * M minutes have passed since the last save (checkpoint.every_minutes; 0 = none), at every epoch's end,
 * and where a callback stopped the run, with the optimizer state, every callback's checkpointed state and the
 * run's resolved config, so that {@code --resume} continues bit for bit. The store writes each file atomically, so a crash never leaves a half-written one.
 */
public final class Checkpointer implements Callback {
  private final CheckpointStore store;
  private final int every;
  private final Map<String, String> config;
  private final long everyNanos;
  private long lastSaved = -1;
  private long lastSavedAt = System.nanoTime();

  public Checkpointer(CheckpointStore store, int every, Map<String, String> config) {
    this(store, every, 0, config);
  }

  /** everyMinutes: also save after a step once that many minutes have passed since the last save (0: never). */
  public Checkpointer(CheckpointStore store, int every, double everyMinutes, Map<String, String> config) {
    this.store = store;
    this.every = every;
    this.everyNanos = (long) (everyMinutes * 60e9);
    this.config = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(config));
  }

  @Override
  public void onStepEnd(StepEnd e, LoopControl loop) {
    if (e.iteration() + 1 == e.iterationsPerEpoch()) return;  // the epoch's end saves
    boolean bySteps = every > 0 && (e.step() + 1) % every == 0;
    boolean byTime = everyNanos > 0 && System.nanoTime() - lastSavedAt >= everyNanos;
    if (bySteps || byTime) save(e.state().get());
  }

  @Override
  public void onEpochEnd(EpochEnd e, LoopControl loop) {
    save(e.state().get());
  }

  /** A run that a callback stopped keeps where it stopped, inside an epoch or at its end, for --resume. */
  @Override
  public void onTrainEnd(TrainEnd e) {
    if (e.result().stopReason() != null && e.result().stepsRun() > 0) save(e.state().get());
  }

  /** Writes s unless this step is saved already (a stop at an epoch's end): a file is never replaced by itself. */
  private void save(LoopState s) {
    if (s.step() == lastSaved) return;
    lastSaved = s.step();
    lastSavedAt = System.nanoTime();
    store.save(new CheckpointStore.State(s.step(), s.epoch(), s.iteration(), s.epochLossSum(), s.epochCount(),
        s.params(), s.optimizerState(), s.callbackState(), s.callbackVectors(), config));
  }

  /** The loop state a checkpoint holds, for a resumed run to start from. */
  public static LoopState toLoopState(CheckpointStore.State s) {
    return new LoopState(s.step(), s.epoch(), s.iteration(), s.epochLossSum(), s.epochCount(), s.params(),
        s.optimizerState(), s.callbacks(), s.callbackVectors());
  }
}
