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

  /** The end of a run: parameters, the next step, epochs run here, last metrics, training seconds, why it stopped. */
  public record Result(float[] params, long steps, int epochsRun, double trainLoss, double validationAccuracy,
                       double seconds, String stopReason) {}

  public TrainingLoop {
    callbacks = List.copyOf(callbacks);
  }

  /** Runs from start (a fresh start or a checkpoint's state) to the last epoch, or until a callback stops it. */
  public Result run(LoopState start) {
    CallbackList callbacks = new CallbackList(this.callbacks);
    Run run = new Run(start, callbacks);
    callbacks.trainStart(new Callback.TrainStart(epochs, iterations, start, view(start.params())), run);
    run.applyRequests();
    double trainLoss = Double.NaN, valAcc = Double.NaN, seconds = 0;
    int ran = 0;
    for (int epoch = start.epoch(); epoch < epochs && run.stopReason == null; epoch++) {
      long begin = System.nanoTime();
      boolean resuming = epoch == start.epoch();
      run.lossSum = resuming ? start.epochLossSum() : 0;
      run.count = resuming ? start.epochCount() : 0;
      int first = resuming ? start.iteration() : 0;
      engine.beginEpoch(epoch, first);
      for (int t = first; t < iterations && run.stopReason == null; t++) step(run, epoch, t, callbacks);
      if (run.count == 0) break;
      if (validation != null || epoch + 1 == epochs || run.stopReason != null) engine.endEpoch();
      double epochSeconds = (System.nanoTime() - begin) / 1e9;
      seconds += epochSeconds;
      ran++;
      trainLoss = run.lossSum / run.count;
      Metrics val = validation == null ? null : validation.run(run.params, epoch);
      valAcc = val == null ? Double.NaN : val.accuracy();
      callbacks.epochEnd(new Callback.EpochEnd(epoch, epochs, trainLoss, val, run.lr.at(run.step - 1),
          run.lr.at(run.step), epochSeconds, run.count / ((System.nanoTime() - begin) / 1e9), view(run.params),
          run.state(run.step, epoch + 1, 0, 0, 0)), run);
      run.applyRequests();
    }
    Result result = new Result(run.params, run.step, ran, trainLoss, valAcc, seconds, run.stopReason);
    callbacks.trainEnd(new Callback.TrainEnd(result));
    return result;
  }

  /** One optimizer step: the engine's gradient sum, its mean through the optimizer, BN running averages, callbacks. */
  private void step(Run run, int epoch, int t, CallbackList callbacks) {
    GradientSum.Node g = engine.gradient(run.params, epoch, t);
    float[] mean = g.mean(run.params.length), before = run.params;
    run.params = run.stepper.step(mean, run.params);
    network.updateRunning(before, run.params, g.stats());
    run.lossSum += g.lossSum();
    run.count += g.count();
    callbacks.stepEnd(new Callback.StepEnd(epoch, t, iterations, run.step, g.lossSum() / g.count(),
        run.lossSum / run.count, run.lr.at(run.step), g.count(), view(mean), view(run.params),
        run.state(run.step + 1, epoch, t + 1, run.lossSum, run.count)), run);
    run.applyRequests();
    run.step++;
  }

  private static FloatBuffer view(float[] a) {
    return FloatBuffer.wrap(a).asReadOnlyBuffer();
  }

  /** One run's changing state (parameters, optimizer, schedule, step, the epoch's loss), and its LoopControl. */
  private final class Run implements LoopControl {
    float[] params;
    Stepper<?> stepper;
    Schedule lr = TrainingLoop.this.lr;
    Schedule pending;
    String stopReason;
    long step;
    double lossSum;
    long count;
    final CallbackList callbacks;

    Run(LoopState start, CallbackList callbacks) {
      this.callbacks = callbacks;
      params = start.params();
      step = start.step();
      stepper = stepper(optimizer.apply(lr), start);
    }

    LoopState state(long next, int epoch, int iteration, double lossSum, long count) {
      return new LoopState(next, epoch, iteration, lossSum, count, params, stepper.state(), callbacks.states());
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
