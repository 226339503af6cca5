package dev.sparktrain.report;

import dev.sparktrain.train.TrainingLog;
import java.util.ArrayList;
import java.util.List;

/**
 * The curves of one run, collected in memory as a {@link TrainingLog}: the training loss of every iteration and
 * the validation metrics of every epoch. Thread-safe, so concurrent runs each fill their own.
 */
public final class Curves implements TrainingLog {
  /** One optimizer step. */
  public record Point(int epoch, int iteration, long step, double loss, double lr) {}

  /** One epoch's summary. */
  public record EpochPoint(int epoch, double trainLoss, double valLoss, double valAccuracy, double lr, double seconds) {}

  private final String name;
  private final String optimizer;
  private final int iterationsPerEpoch;
  private final List<Point> iterations = new ArrayList<>();
  private final List<EpochPoint> epochs = new ArrayList<>();

  public Curves(String name, String optimizer, int iterationsPerEpoch) {
    this.name = name;
    this.optimizer = optimizer;
    this.iterationsPerEpoch = Math.max(1, iterationsPerEpoch);
  }

  @Override
  public synchronized void iteration(int epoch, int t, long step, double loss, double lr) {
    iterations.add(new Point(epoch, t, step, loss, lr));
  }

  @Override
  public synchronized void epoch(int epoch, double trainLoss, double valLoss, double valAccuracy, double lr, double seconds) {
    epochs.add(new EpochPoint(epoch, trainLoss, valLoss, valAccuracy, lr, seconds));
  }

  public String name() { return name; }

  public String optimizer() { return optimizer; }

  public int iterationsPerEpoch() { return iterationsPerEpoch; }

  public synchronized List<Point> iterations() { return List.copyOf(iterations); }

  public synchronized List<EpochPoint> epochs() { return List.copyOf(epochs); }

  public synchronized EpochPoint last() {
    return epochs.isEmpty() ? null : epochs.get(epochs.size() - 1);
  }
}
