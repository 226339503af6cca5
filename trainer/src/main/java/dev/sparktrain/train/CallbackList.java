package dev.sparktrain.train;

import dev.sparktrain.UserError;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The callbacks of a run, called in order at each point; an exception from one ends the run as a
 * {@link CallbackFailure} that names it and the step (a {@link UserError}, such as the finite check's, passes as is).
 */
final class CallbackList {
  private final List<Callback> callbacks;

  CallbackList(List<Callback> callbacks) {
    this.callbacks = List.copyOf(callbacks);
  }

  void trainStart(Callback.TrainStart e, LoopControl loop) {
    for (Callback c : callbacks) call(c, "at train start", () -> c.onTrainStart(e, loop));
  }

  void stepEnd(Callback.StepEnd e, LoopControl loop) {
    for (Callback c : callbacks) {
      try {
        c.onStepEnd(e, loop);
      } catch (UserError | CallbackFailure x) {
        throw x;
      } catch (RuntimeException x) {
        throw new CallbackFailure(c.callbackName(), String.format("at epoch %d iteration %d (step %d)", e.epoch() + 1,
            e.iteration() + 1, e.step() + 1), x);
      }
    }
  }

  void epochEnd(Callback.EpochEnd e, LoopControl loop) {
    for (Callback c : callbacks) call(c, "at the end of epoch " + (e.epoch() + 1), () -> c.onEpochEnd(e, loop));
  }

  void trainEnd(Callback.TrainEnd e) {
    for (Callback c : callbacks) call(c, "at train end", () -> c.onTrainEnd(e));
  }

  /** The checkpointed state of every callback that keeps one, by name. */
  Map<String, Map<String, Double>> states() {
    Map<String, Map<String, Double>> m = new TreeMap<>();
    for (Callback c : callbacks) {
      Map<String, Double> state = c.checkpointState();
      if (state != null && m.put(c.callbackName(), state) != null) {
        throw new IllegalStateException("two callbacks keep checkpoint state under the name " + c.callbackName());
      }
    }
    return m;
  }

  /** Copies of the checkpointed vectors of every callback that keeps some, by name. */
  Map<String, Map<String, float[]>> vectors() {
    Map<String, Map<String, float[]>> m = new TreeMap<>();
    for (Callback c : callbacks) {
      Map<String, float[]> v = c.checkpointVectors();
      if (v == null) continue;
      Map<String, float[]> copy = new TreeMap<>();
      v.forEach((k, a) -> copy.put(k, a.clone()));
      if (m.put(c.callbackName(), copy) != null) {
        throw new IllegalStateException("two callbacks keep checkpoint vectors under the name " + c.callbackName());
      }
    }
    return m;
  }

  private static void call(Callback c, String where, Runnable r) {
    try {
      r.run();
    } catch (UserError | CallbackFailure e) {
      throw e;
    } catch (RuntimeException e) {
      throw new CallbackFailure(c.callbackName(), where, e);
    }
  }
}
