package dev.sparktrain.train;

import dev.sparktrain.optim.ReduceOnPlateau;
import dev.sparktrain.optim.Schedule;
import java.util.Map;

/**
 * Reduce-on-plateau as a callback: after each epoch it shows the validation loss to {@link ReduceOnPlateau} and,
 * when the scale drops, has the loop continue with the base schedule rescaled (so a schedule another callback set
 * is replaced at the next cut). Its state is checkpointed, so a resumed run reduces at the same epochs.
 */
public final class ReduceLrOnPlateau implements Callback {
  private final Schedule base;
  private final Progress progress;
  private ReduceOnPlateau plateau;

  public ReduceLrOnPlateau(ReduceOnPlateau start, Schedule base, Progress progress) {
    this.plateau = start;
    this.base = base;
    this.progress = progress;
  }

  @Override
  public void onTrainStart(TrainStart e, LoopControl loop) {
    Map<String, Double> saved = e.start().callbackState().get(callbackName());
    if (saved == null) return;
    plateau = ReduceOnPlateau.fromState(saved);
    loop.replaceSchedule(plateau.applyTo(base));
  }

  @Override
  public void onEpochEnd(EpochEnd e, LoopControl loop) {
    if (e.validation() == null) return;
    ReduceOnPlateau next = plateau.observe(e.validation().loss());
    if (next.scale() != plateau.scale()) {
      progress.info(String.format("validation loss has not improved for %d epochs: learning rate × %.3g",
          plateau.patience() + 1, next.scale() / plateau.scale()));
      loop.replaceSchedule(next.applyTo(base));
    }
    plateau = next;
  }

  @Override
  public Map<String, Double> checkpointState() {
    return plateau.toState();
  }

  @Override
  public String callbackName() {
    return "plateau";
  }
}
