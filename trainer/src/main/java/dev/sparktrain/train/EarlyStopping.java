package dev.sparktrain.train;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Stops a run whose validation loss has not improved by more than {@code minDelta} for {@code patience} epochs
 * in a row (early_stopping.*), reporting the best epoch in the stop reason. Its count is checkpointed, so a
 * resumed run stops at the same epoch.
 */
public final class EarlyStopping implements Callback {
  private final int patience;
  private final double minDelta;
  private double best = Double.POSITIVE_INFINITY;
  private int bestEpoch = -1;
  private int badEpochs;

  public EarlyStopping(int patience, double minDelta) {
    if (patience < 1) throw new IllegalArgumentException("patience must be at least 1: " + patience);
    if (!(minDelta >= 0)) throw new IllegalArgumentException("minDelta must be ≥ 0: " + minDelta);
    this.patience = patience;
    this.minDelta = minDelta;
  }

  @Override
  public void onTrainStart(TrainStart e, LoopControl loop) {
    Map<String, Double> saved = e.start().callbackState().get(callbackName());
    if (saved == null) return;
    if (saved.get("best_epoch") == null || saved.get("bad_epochs") == null) {
      throw new dev.sparktrain.UserError("--resume: the checkpoint's early-stopping state lacks best_epoch or bad_epochs");
    }
    bestEpoch = saved.get("best_epoch").intValue();
    best = bestEpoch < 0 ? Double.POSITIVE_INFINITY : saved.get("best");
    badEpochs = saved.get("bad_epochs").intValue();
    if (badEpochs >= patience) loop.stop(reason());  // the run had stopped; its resume stops again at once
  }

  @Override
  public void onEpochEnd(EpochEnd e, LoopControl loop) {
    if (e.validation() == null) return;
    double loss = e.validation().loss();
    if (loss < best - minDelta) {
      best = loss;
      bestEpoch = e.epoch();
      badEpochs = 0;
    } else if (++badEpochs >= patience) {
      loop.stop(reason());
    }
  }

  private String reason() {
    return String.format(Locale.ROOT, "early stopping: the validation loss has not improved by more than %s for %d "
        + "epochs (best %.6f after epoch %d)", minDelta, patience, best, bestEpoch + 1);
  }

  @Override
  public Map<String, Double> checkpointState() {
    Map<String, Double> m = new LinkedHashMap<>();
    if (bestEpoch >= 0) m.put("best", best);  // no infinity in a JSON header
    m.put("best_epoch", (double) bestEpoch);
    m.put("bad_epochs", (double) badEpochs);
    return m;
  }

  @Override
  public String callbackName() {
    return "early_stopping";
  }
}
