package dev.sparktrain.train;

import dev.sparktrain.io.CheckpointStore;
import java.util.Map;

/**
 * Writes training checkpoints: every N steps within an epoch (checkpoint.every; 0 = none) and at every epoch's
 * end, with the optimizer state, the callbacks' state and the run's resolved config, so that {@code --resume}
 * continues bit for bit. The store writes each file atomically, so a crash never leaves a half-written one.
 */
public final class Checkpointer implements Callback {
  private static final String PLATEAU = "plateau";
  private final CheckpointStore store;
  private final int every;
  private final Map<String, String> config;

  public Checkpointer(CheckpointStore store, int every, Map<String, String> config) {
    this.store = store;
    this.every = every;
    this.config = Map.copyOf(config);
  }

  @Override
  public void onStepEnd(StepEnd e, LoopControl loop) {
    if (every > 0 && (e.step() + 1) % every == 0 && e.iteration() + 1 < e.iterationsPerEpoch()) save(e.state());
  }

  @Override
  public void onEpochEnd(EpochEnd e, LoopControl loop) {
    save(e.state());
  }

  private void save(LoopState s) {
    store.save(new CheckpointStore.State(s.step(), s.epoch(), s.iteration(), s.epochLossSum(), s.epochCount(),
        s.params(), s.optimizerState(), s.callbackState().get(PLATEAU), config));
  }

  /** The loop state a checkpoint holds, for a resumed run to start from. */
  public static LoopState toLoopState(CheckpointStore.State s) {
    return new LoopState(s.step(), s.epoch(), s.iteration(), s.epochLossSum(), s.epochCount(), s.params(),
        s.optimizerState(), s.plateau() == null ? Map.of() : Map.of(PLATEAU, s.plateau()));
  }
}
