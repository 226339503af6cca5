package dev.sparktrain.report;

import dev.sparktrain.train.Callback;
import dev.sparktrain.train.LoopControl;
import java.util.ArrayList;
import java.util.List;

/**
 * The curves of one run, collected in memory by a callback: the training loss of every iteration and the
 * validation metrics of every epoch (epochs 1-based). Thread-safe, so concurrent runs each fill their own.
 */
public final class Curves implements Callback {
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
  public synchronized void onStepEnd(StepEnd e, LoopControl loop) {
    iterations.add(new Point(e.epoch() + 1, e.iteration(), e.step(), e.loss(), e.lr()));
  }

  @Override
  public synchronized void onEpochEnd(EpochEnd e, LoopControl loop) {
    var v = e.validation();
    epochs.add(new EpochPoint(e.epoch() + 1, e.trainLoss(), v == null ? Double.NaN : v.loss(),
        v == null ? Double.NaN : v.accuracy(), e.lr(), e.seconds()));
  }


  public String name() { return name; }

  @Override
  public String callbackName() { return "curves of " + name; }

  public String optimizer() { return optimizer; }

  public int iterationsPerEpoch() { return iterationsPerEpoch; }

  public synchronized List<Point> iterations() { return List.copyOf(iterations); }

  public synchronized List<EpochPoint> epochs() { return List.copyOf(epochs); }

  public synchronized EpochPoint last() {
    return epochs.isEmpty() ? null : epochs.get(epochs.size() - 1);
  }
}
