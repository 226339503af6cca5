package dev.sparktrain.train;

/**
 * Shows a run's progress on the console ({@link Progress}): after each step the bar or a periodic plain line, with
 * the epoch's examples per second, its running loss, and the time left in the epoch and in the run, estimated
 * from the epoch's pace so far; one line per epoch.
 */
public final class ConsoleProgress implements Callback {
  private final Progress progress;
  private int epochs;
  private long steps, epochBegin, epochExamples;
  private int epochIterations;

  public ConsoleProgress(Progress progress) {
    this.progress = progress;
  }

  @Override
  public void onTrainStart(TrainStart e, LoopControl loop) {
    epochs = e.epochs();
    steps = (long) e.epochs() * e.iterationsPerEpoch();
    beginEpoch();
  }

  @Override
  public void onStepEnd(StepEnd e, LoopControl loop) {
    epochExamples += e.examples();
    epochIterations++;
    double seconds = (progress.nanos() - epochBegin) / 1e9;
    double perIteration = seconds / epochIterations;
    long done = e.step() + 1;
    progress.step(new Progress.Step(e.epoch() + 1, epochs, e.iteration() + 1, e.iterationsPerEpoch(), done, steps,
        e.epochMeanLoss(), seconds > 0 ? epochExamples / seconds : Double.NaN,
        perIteration * (e.iterationsPerEpoch() - e.iteration() - 1), perIteration * (steps - done)));
  }

  @Override
  public void onEpochEnd(EpochEnd e, LoopControl loop) {
    progress.epoch(e.epoch() + 1, e.epochs(), e.trainLoss(), e.validation() == null ? Double.NaN : e.validation().accuracy(),
        e.examplesPerSecond(), e.nextLr());
    beginEpoch();
  }

  @Override
  public void onTrainEnd(TrainEnd e) {
    if (e.result().stopReason() != null) progress.info("stopped: " + e.result().stopReason());
  }

  private void beginEpoch() {
    epochBegin = progress.nanos();
    epochExamples = 0;
    epochIterations = 0;
  }
}
