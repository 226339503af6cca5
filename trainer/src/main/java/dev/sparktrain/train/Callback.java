package dev.sparktrain.train;

import java.nio.FloatBuffer;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Something that watches a training run at fixed points: train start, after each step, at each epoch's end,
 * and at train end. Everything optional about a run is one (progress, checkpoints, the finite check,
 * reduce-on-plateau, heap logging, curves). A callback sees immutable events and read-only views of the
 * parameters, and acts on the loop only through {@link LoopControl}: it can stop the run or change the learning
 * rate. An exception from a callback ends the run with {@link CallbackFailure}, naming the callback and the step.
 */
public interface Callback {
  /** Before the first step; {@code start} is where the run begins (a fresh start, or a checkpoint's state). */
  default void onTrainStart(TrainStart e, LoopControl loop) {}

  /** After each optimizer step. */
  default void onStepEnd(StepEnd e, LoopControl loop) {}

  /**
   * After each complete epoch, with the validation metrics when there is a validation split. An epoch that a
   * stop cut short gets no epoch end.
   */
  default void onEpochEnd(EpochEnd e, LoopControl loop) {}

  /** After the last step, when the run ends normally or by a stop (then {@code result().stopReason()} says why). */
  default void onTrainEnd(TrainEnd e) {}

  /**
   * State to keep in checkpoints under {@link #callbackName()}, restored by {@link #onTrainStart} from
   * {@link LoopState#callbackState()}; null for none. Names of callbacks that keep state must be unique in a run.
   */
  default Map<String, Double> checkpointState() { return null; }

  /**
   * Parameter-sized vectors to keep in checkpoints under {@link #callbackName()} (EMA weights), restored from
   * {@link LoopState#callbackVectors()}; null for none. The loop copies them when it takes a state.
   */
  default Map<String, float[]> checkpointVectors() { return null; }

  /** The name used in error messages and for the checkpointed state. */
  default String callbackName() { return getClass().getSimpleName(); }

  /** The run begins: epochs and iterations per epoch, and where it starts. */
  record TrainStart(int epochs, int iterationsPerEpoch, LoopState start, FloatBuffer params) {}

  /**
   * Step {@code step} (0-based, global) was iteration {@code iteration} of epoch {@code epoch} (both 0-based): its
   * mean minibatch loss, the mean loss of the epoch so far, the learning rate it used, the examples it saw, the
   * mean gradient and the parameters after the update (read-only), and the loop state after it, made when asked
   * (for checkpoints: it reflects what the callbacks before it changed; its parameters are a copy).
   */
  record StepEnd(int epoch, int iteration, int iterationsPerEpoch, long step, double loss, double epochMeanLoss,
                 double lr, long examples, FloatBuffer gradient, FloatBuffer params, Supplier<LoopState> state) {}

  /**
   * Epoch {@code epoch} (0-based) ended: its mean training loss; the validation metrics (null without a validation
   * split); the learning rate of its last step and of the next one; seconds of training (without validation);
   * examples per second over the epoch including validation; and the loop state at the epoch's end.
   */
  record EpochEnd(int epoch, int epochs, double trainLoss, Metrics validation, double lr, double nextLr,
                  double seconds, double examplesPerSecond, FloatBuffer params, Supplier<LoopState> state) {}

  /** The run ended: its result (stopReason is null unless a callback stopped it) and the loop state at its end. */
  record TrainEnd(TrainingLoop.Result result, Supplier<LoopState> state) {}
}
