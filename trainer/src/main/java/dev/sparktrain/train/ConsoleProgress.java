package dev.sparktrain.train;

/** Shows a run's progress on the console: the redrawn bar after each step and one line per epoch ({@link Progress}). */
public final class ConsoleProgress implements Callback {
  private final Progress progress;
  private int epochs;

  public ConsoleProgress(Progress progress) {
    this.progress = progress;
  }

  @Override
  public void onStepEnd(StepEnd e, LoopControl loop) {
    progress.iteration(e.epoch() + 1, epochs, e.iteration(), e.iterationsPerEpoch(), e.epochMeanLoss());
  }

  @Override
  public void onEpochEnd(EpochEnd e, LoopControl loop) {
    progress.epoch(e.epoch() + 1, e.epochs(), e.trainLoss(), e.validation() == null ? Double.NaN : e.validation().accuracy(),
        e.examplesPerSecond(), e.nextLr());
  }

  @Override
  public void onTrainStart(TrainStart e, LoopControl loop) {
    epochs = e.epochs();
  }

  @Override
  public void onTrainEnd(TrainEnd e) {
    if (e.result().stopReason() != null) progress.info("stopped: " + e.result().stopReason());
  }
}
