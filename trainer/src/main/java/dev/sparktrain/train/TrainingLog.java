package dev.sparktrain.train;

/**
 * Receives the curves of a training run as they are made: the loss of every iteration and the metrics of every
 * epoch. The compare command writes them to CSV; a plain run needs none.
 */
public interface TrainingLog {
  /** After optimizer step {@code step} (0-based), which was iteration t of epoch (1-based). */
  default void iteration(int epoch, int t, long step, double loss, double lr) {}

  /** After each epoch; NaN where there is no validation split. */
  default void epoch(int epoch, double trainLoss, double valLoss, double valAccuracy, double lr, double seconds) {}

  TrainingLog NONE = new TrainingLog() {};
}
