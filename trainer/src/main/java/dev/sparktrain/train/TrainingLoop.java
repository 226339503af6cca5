package dev.sparktrain.train;

import dev.sparktrain.nn.Network;
import dev.sparktrain.optim.GradientTransform;
import dev.sparktrain.optim.Schedule;
import dev.sparktrain.optim.Stepper;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.function.Function;

/**
 * The minibatch training loop, and nothing else: for each step it asks the engine for the gradient sum, applies
 * the optimizer to the mean gradient, folds the BatchNorm statistics into the running averages, and tells the
 * callbacks; at each epoch's end it validates and tells them again. Files, consoles and checkpoints are callbacks.
 */
public record TrainingLoop(Network network, StepEngine engine, Function<Schedule, GradientTransform<?>> optimizer,
                           Schedule lr, int epochs, int iterations, Validation validation, List<Callback> callbacks) {
  /** Validation of the parameters at an epoch's end; the loop's validation is null without a validation split. */
  @FunctionalInterface
  public interface Validation {
    Metrics run(float[] params, int epoch);
  }

  /**
   * The end of a run: parameters, the next global step, the steps taken here, the last epoch's training loss and
   * validation accuracy, seconds of training (without validation), why it stopped (null: it ran every epoch), and
   * the optimizer's final state (to warm-start a next phase with).
   */
  public record Result(float[] params, long steps, long stepsRun, double trainLoss, double validationAccuracy,
                       double seconds, String stopReason, Object optimizerState) {}

  public TrainingLoop {
    callbacks = List.copyOf(callbacks);
  }

  /**
   * Runs from start (a fresh start or a checkpoint's state) to the last epoch, or until a callback stops it; an
   * epoch cut short by a stop gets no epoch end, and the result's state continues inside it.
   */
  public Result run(LoopState start) {
    CallbackList callbacks = new CallbackList(this.callbacks);
    Run run = new Run(start, callbacks);
    callbacks.trainStart(new Callback.TrainStart(epochs, iterations, start, view(run.params)), run);
    run.applyRequests();
    double trainLoss = Double.NaN, valAcc = Double.NaN;
    for (int epoch = start.epoch(); epoch < epochs && run.stopReason == null; epoch++) {
      long begin = System.nanoTime();
      boolean resuming = epoch == start.epoch();
      run.lossSum = resuming ? start.epochLossSum() : 0;
      run.count = resuming ? start.epochCount() : 0;
      run.epoch = epoch;
      engine.beginEpoch(epoch, resuming ? start.iteration() : 0);
      for (run.iteration = resuming ? start.iteration() : 0; run.iteration < iterations && run.stopReason == null; ) {
        step(run, callbacks);
      }
      if (validation != null || epoch + 1 == epochs || run.stopReason != null) engine.endEpoch();
      double seconds = (System.nanoTime() - begin) / 1e9;
      run.seconds += seconds;
      trainLoss = run.lossSum / run.count;
      if (run.iteration < iterations) break;  // stopped inside the epoch
      Metrics val = validation == null ? null : validation.run(run.params, epoch);
      valAcc = val == null ? Double.NaN : val.accuracy();
      double examplesPerSecond = run.count / ((System.nanoTime() - begin) / 1e9);
      run.epoch = epoch + 1;
      run.iteration = 0;
      run.lossSum = 0;
      run.count = 0;
      callbacks.epochEnd(new Callback.EpochEnd(epoch, epochs, trainLoss, val, run.lastLr, run.lr.at(run.step),
          seconds, examplesPerSecond, view(run.params), run::state), run);
      run.applyRequests();
    }
    Result result = new Result(run.params, run.step, run.step - start.step(), trainLoss, valAcc, run.seconds,
        run.stopReason, run.stepper.state());
    callbacks.trainEnd(new Callback.TrainEnd(result, run::state));
    return result;
  }

  /** One optimizer step: the engine's gradient sum, its mean through the optimizer, BN running averages, callbacks. */
  private void step(Run run, CallbackList callbacks) {
    int epoch = run.epoch, t = run.iteration;
    GradientSum.Node g = engine.gradient(run.params, epoch, t);
    float[] mean = g.mean(run.params.length, engine.gradientOffset()), before = run.params;
    run.params = run.stepper.step(mean, run.params);
    network.updateRunning(before, run.params, g.stats());
    run.lossSum += g.lossSum();
    run.count += g.count();
    run.lastLr = run.lr.at(run.step);
    run.step++;
    run.iteration++;
    callbacks.stepEnd(new Callback.StepEnd(epoch, t, iterations, run.step - 1, g.lossSum() / g.count(),
        run.lossSum / run.count, run.lastLr, g.count(), view(mean), view(run.params), run::state), run);
    run.applyRequests();
  }

  private static FloatBuffer view(float[] a) {
    return FloatBuffer.wrap(a).asReadOnlyBuffer();
  }

  /**
   * One run's changing state (parameters, optimizer, schedule, where it is, the epoch's loss so far) and its
   * LoopControl. {@link #state} snapshots it when a callback asks, so a checkpoint holds what the callbacks before
   * it changed, with a copy of the parameters.
   */
  private final class Run implements LoopControl {
    final CallbackList callbacks;
    float[] params;
    Stepper<?> stepper;
    Schedule lr = TrainingLoop.this.lr;
    Schedule pending;
    String stopReason;
    long step;
    int epoch;
    int iteration;
    double lossSum;
    long count;
    double lastLr = Double.NaN;
    double seconds;

    Run(LoopState start, CallbackList callbacks) {
      this.callbacks = callbacks;
      params = start.params().clone();
      step = start.step();
      epoch = start.epoch();
      iteration = start.iteration();
      lossSum = start.epochLossSum();
      count = start.epochCount();
      stepper = stepper(optimizer.apply(lr), start);
    }

    /** Before the next step: (epoch, iteration), with the epoch's loss so far (none at an epoch's start). */
    LoopState state() {
      return new LoopState(step, epoch, iteration, lossSum, count, params.clone(), stepper.state(), callbacks.states(),
          callbacks.vectors());
    }

    @Override public void stop(String reason) {
      if (stopReason == null) stopReason = reason;
    }

    @Override public void replaceSchedule(Schedule next) { pending = next; }

    @Override public Schedule schedule() { return pending != null ? pending : lr; }

    /** A schedule a callback asked for takes effect between steps; the optimizer keeps its state. */
    void applyRequests() {
      if (pending == null) return;
      lr = pending;
      pending = null;
      stepper = stepper.withTransform(optimizer.apply(lr));
    }
  }

  @SuppressWarnings("unchecked")  // Stepper.resume checks that the state has the transform's chain of records
  private static <S> Stepper<S> stepper(GradientTransform<S> t, LoopState start) {
    return start.resumed() ? Stepper.resume(t, start.params().length, (S) start.optimizerState())
        : Stepper.start(t, start.params());
  }
}
