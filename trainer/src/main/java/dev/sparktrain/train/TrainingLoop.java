package dev.sparktrain.train;

import dev.sparktrain.nn.Network;
import dev.sparktrain.optim.Elementwise;
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
public final class TrainingLoop {
  /** Validation of the parameters at an epoch's end. */
  @FunctionalInterface
  public interface Validation {
    Metrics run(float[] params, int epoch);
  }

  /** The end of a run: parameters, the next step, epochs run here, last metrics, training seconds, why it stopped. */
  public record Result(float[] params, long steps, int epochsRun, double trainLoss, double validationAccuracy,
                       double seconds, String stopReason) {}

  private final Network network;
  private final StepEngine engine;
  private final Function<Schedule, GradientTransform<?>> optimizer;
  private final int epochs;
  private final int iterations;
  private final Validation validation;
  private final CallbackList callbacks;
  private Schedule lr;
  private String stopReason;

  /** validation is null when there is no validation split. */
  public TrainingLoop(Network network, StepEngine engine, Function<Schedule, GradientTransform<?>> optimizer,
                      Schedule lr, int epochs, int iterationsPerEpoch, Validation validation, List<Callback> callbacks) {
    this.network = network;
    this.engine = engine;
    this.optimizer = optimizer;
    this.lr = lr;
    this.epochs = epochs;
    this.iterations = iterationsPerEpoch;
    this.validation = validation;
    this.callbacks = new CallbackList(callbacks);
  }

  public Result run(LoopState start) {
    float[] params = start.params();
    Stepper<?> stepper = stepper(optimizer.apply(lr), start);
    Control control = new Control();
    callbacks.trainStart(new Callback.TrainStart(epochs, iterations, start, view(start.params())), control);
    stepper = control.apply(stepper);
    long step = start.step();
    double trainLoss = Double.NaN, valAcc = Double.NaN, seconds = 0;
    int ran = 0;
    for (int epoch = start.epoch(); epoch < epochs && stopReason == null; epoch++) {
      long begin = System.nanoTime();
      boolean resuming = epoch == start.epoch();
      double lossSum = resuming ? start.epochLossSum() : 0;
      long count = resuming ? start.epochCount() : 0;
      int first = resuming ? start.iteration() : 0;
      engine.beginEpoch(epoch, first);
      for (int t = first; t < iterations && stopReason == null; t++, step++) {
        GradientSum.Node g = engine.gradient(params, epoch, t);
        float[] mean = scale(g.grad(), 1f / g.count(), params.length), before = params;
        params = stepper.step(mean, params);
        network.updateRunning(before, params, g.stats());
        lossSum += g.lossSum();
        count += g.count();
        float[] p = params;
        Stepper<?> s = stepper;
        int e = epoch, it = t;
        long at = step, n = count;
        double sum = lossSum;
        var event = new Callback.StepEnd(epoch, t, iterations, step, g.lossSum() / g.count(), lossSum / count, lr.at(step),
            g.count(), view(mean), view(p), () -> new LoopState(at + 1, e, it + 1, sum, n, p, s.state(), callbacks.states()));
        callbacks.stepEnd(event, control);
        stepper = control.apply(stepper);
      }
      if (stopReason != null && count == 0) break;
      if (validation != null || epoch + 1 == epochs || stopReason != null) engine.endEpoch();
      double epochSeconds = (System.nanoTime() - begin) / 1e9;
      seconds += epochSeconds;
      ran++;
      trainLoss = lossSum / count;
      Metrics val = validation == null ? null : validation.run(params, epoch);
      valAcc = val == null ? Double.NaN : val.accuracy();
      float[] p = params;
      Stepper<?> s = stepper;
      long at = step;
      int next = epoch + 1;
      var event = new Callback.EpochEnd(epoch, epochs, trainLoss, val, lr.at(step - 1), lr.at(step), epochSeconds,
          count / ((System.nanoTime() - begin) / 1e9), view(p), () -> new LoopState(at, next, 0, 0, 0, p, s.state(), callbacks.states()));
      callbacks.epochEnd(event, control);
      stepper = control.apply(stepper);
    }
    Result result = new Result(params, step, ran, trainLoss, valAcc, seconds, stopReason);
    callbacks.trainEnd(new Callback.TrainEnd(result));
    return result;
  }

  @SuppressWarnings("unchecked")  // Stepper.resume checks that the state has the transform's chain of records
  private static <S> Stepper<S> stepper(GradientTransform<S> t, LoopState start) {
    return start.resumed() ? Stepper.resume(t, start.params().length, (S) start.optimizerState())
        : Stepper.start(t, start.params());
  }

  static FloatBuffer view(float[] a) {
    return FloatBuffer.wrap(a).asReadOnlyBuffer();
  }

  private static float[] scale(float[] sum, float factor, int length) {
    float[] g = new float[length];
    if (sum != null) Elementwise.forEach(length, (from, to) -> {
      for (int i = from; i < to; i++) g[i] = sum[i] * factor;
    });
    return g;
  }

  /** The loop's side of LoopControl: requests are applied between steps. */
  private final class Control implements LoopControl {
    private Schedule pending;

    @Override public void stop(String reason) {
      if (stopReason == null) stopReason = reason;
    }

    @Override public void replaceSchedule(Schedule next) { pending = next; }

    @Override public Schedule schedule() { return pending != null ? pending : lr; }

    Stepper<?> apply(Stepper<?> stepper) {
      if (pending == null) return stepper;
      lr = pending;
      pending = null;
      return stepper.withTransform(optimizer.apply(lr));
    }
  }
}
