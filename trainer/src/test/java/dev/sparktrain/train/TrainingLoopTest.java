package dev.sparktrain.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktrain.nn.Init;
import dev.sparktrain.nn.ModelSpec;
import dev.sparktrain.nn.Network;
import dev.sparktrain.nn.Shape;
import dev.sparktrain.optim.Optimizers;
import dev.sparktrain.optim.Schedule;
import dev.sparktrain.optim.Schedules;
import dev.sparktrain.tensor.BlasGemm;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The loop without Spark: a fake engine whose gradient is that of ½‖p‖² (so SGD multiplies the parameters by
 * 1 − α_t each step), and callbacks that watch, stop, change the schedule, and throw.
 */
class TrainingLoopTest {
  private static final int EPOCHS = 3, ITERATIONS = 5, BATCH = 4;
  private final Network network = new Network(ModelSpec.parse(Shape.flat(3), "dense(2)", 2, Init.HE, 1.0),
      BlasGemm.INSTANCE);

  /** ∇ ½‖p‖² = p for each of BATCH examples: the sum is BATCH·p; loss sum BATCH·½‖p‖². */
  private static final class Quadratic implements StepEngine {
    final List<String> calls = new ArrayList<>();

    @Override public void beginEpoch(int epoch, int first) { calls.add("begin " + epoch + " " + first); }

    @Override public void endEpoch() { calls.add("end"); }

    @Override public GradientSum.Node gradient(float[] params, int epoch, int t) {
      float[] g = new float[params.length];
      double half = 0;
      for (int i = 0; i < g.length; i++) {
        g[i] = BATCH * params[i];
        half += 0.5 * params[i] * params[i];
      }
      return new GradientSum.Node(g, BATCH * half, BATCH, 0);
    }
  }

  private TrainingLoop loop(StepEngine engine, Schedule lr, TrainingLoop.Validation validation, Callback... callbacks) {
    return new TrainingLoop(network, engine, Optimizers::sgd, lr, EPOCHS, ITERATIONS, validation, List.of(callbacks));
  }

  private static float[] ones(int n) {
    float[] p = new float[n];
    java.util.Arrays.fill(p, 1f);
    return p;
  }

  @Test
  void eachStepFollowsTheScheduleAndCallbacksSeeEveryStep() {
    Schedule lr = Schedules.warmup(4, 0.01, Schedules.cosine(0.1, EPOCHS * ITERATIONS - 4, 0));
    List<Callback.StepEnd> steps = new ArrayList<>();
    List<Callback.EpochEnd> epochs = new ArrayList<>();
    Callback watch = new Callback() {
      @Override public void onStepEnd(StepEnd e, LoopControl loop) { steps.add(e); }
      @Override public void onEpochEnd(EpochEnd e, LoopControl loop) { epochs.add(e); }
    };
    Quadratic engine = new Quadratic();
    float[] start = ones(network.paramCount());
    TrainingLoop.Result r = loop(engine, lr, (p, e) -> new Metrics(0.5, 1.0, 10), watch).run(LoopState.start(start));
    assertEquals(EPOCHS * ITERATIONS, steps.size());
    double expected = 1, epochLoss = 0;
    for (int s = 0; s < steps.size(); s++) {
      Callback.StepEnd e = steps.get(s);
      assertEquals(s, e.step());
      assertEquals(s / ITERATIONS, e.epoch());
      assertEquals(s % ITERATIONS, e.iteration());
      assertEquals(lr.at(s), e.lr(), 0, "step " + s + " used the schedule's rate");
      double loss = 0.5 * network.paramCount() * expected * expected;  // before this step's update
      assertEquals(loss, e.loss(), 1e-5 * loss, "step " + s + " loss");
      epochLoss = e.iteration() == 0 ? loss : epochLoss + loss;
      assertEquals(epochLoss / (e.iteration() + 1), e.epochMeanLoss(), 1e-5 * loss);
      expected *= 1 - lr.at(s);
      assertEquals(expected, e.params().get(0), 1e-5 * expected, "SGD on ½‖p‖²: p ← (1 − α)p");
      assertTrue(e.params().isReadOnly() && e.gradient().isReadOnly());
    }
    assertEquals(EPOCHS, epochs.size());
    assertEquals(steps.get(steps.size() - 1).epochMeanLoss(), r.trainLoss(), 0);
    assertEquals(lr.at(EPOCHS * ITERATIONS - 1), epochs.get(EPOCHS - 1).lr(), 0);
    assertEquals(0.5, r.validationAccuracy());
    assertEquals(EPOCHS * ITERATIONS, r.steps());
    assertNull(r.stopReason());
    assertEquals(expected, r.params()[0], 1e-5 * expected);
    assertEquals(List.of("begin 0 0", "end", "begin 1 0", "end", "begin 2 0", "end"), engine.calls);
  }

  @Test
  void aCallbackStopsTheRunWithAReasonAndTheCutEpochGetsNoEpochEnd() {
    List<Integer> epochEnds = new ArrayList<>();
    List<LoopState> ends = new ArrayList<>();
    Callback stopAt7 = new Callback() {
      @Override public void onStepEnd(StepEnd e, LoopControl loop) { if (e.step() == 7) loop.stop("enough at step 8"); }
      @Override public void onEpochEnd(EpochEnd e, LoopControl loop) { epochEnds.add(e.epoch()); }
      @Override public void onTrainEnd(TrainEnd e) { ends.add(e.state().get()); }
    };
    TrainingLoop.Result r = loop(new Quadratic(), Schedule.constant(0.1), null, stopAt7).run(LoopState.start(ones(network.paramCount())));
    assertEquals("enough at step 8", r.stopReason());
    assertEquals(8, r.steps(), "the step that asked to stop is the last");
    assertEquals(8, r.stepsRun());
    assertEquals(List.of(0), epochEnds, "epoch 2 was cut short: no epoch end for it");
    LoopState end = ends.get(0);
    assertEquals(8, end.step());
    assertEquals(1, end.epoch());
    assertEquals(3, end.iteration(), "a resume continues inside epoch 2, at its 4th iteration");
    assertEquals(3 * BATCH, end.epochCount());
  }

  @Test
  void theStateACheckpointTakesShowsWhatEarlierCallbacksChanged() {
    Callback counter = new Callback() {
      double epochs;
      @Override public void onEpochEnd(EpochEnd e, LoopControl loop) { epochs++; }
      @Override public java.util.Map<String, Double> checkpointState() { return java.util.Map.of("epochs", epochs); }
      @Override public String callbackName() { return "counter"; }
    };
    List<LoopState> saved = new ArrayList<>();
    Callback checkpoint = new Callback() {
      @Override public void onEpochEnd(EpochEnd e, LoopControl loop) { saved.add(e.state().get()); }
    };
    loop(new Quadratic(), Schedule.constant(0.1), null, counter, checkpoint).run(LoopState.start(ones(network.paramCount())));
    assertEquals(1.0, saved.get(0).callbackState().get("counter").get("epochs"), "after the counter's epoch end");
    assertEquals(3.0, saved.get(2).callbackState().get("counter").get("epochs"));
    assertEquals(EPOCHS * ITERATIONS, saved.get(2).step());
    assertEquals(0, saved.get(0).iteration());
    assertEquals(1, saved.get(0).epoch());
    assertEquals(0, saved.get(0).epochCount(), "a new epoch starts with no loss so far");
    saved.get(0).params()[0] = 99f;  // a copy: the run is not touched
    assertTrue(saved.get(1).params()[0] < 1f);
  }

  @Test
  void earlyStoppingStopsAfterPatienceEpochsWithoutImprovementAndResumesItsCount() {
    double[] valLoss = {1.0, 0.8, 0.85, 0.79, 0.9, 0.95, 0.5};
    TrainingLoop.Validation val = (p, epoch) -> new Metrics(0.5, valLoss[epoch], 10);
    List<LoopState> saved = new ArrayList<>();
    Callback keep = new Callback() {
      @Override public void onEpochEnd(EpochEnd e, LoopControl loop) { saved.add(e.state().get()); }
    };
    TrainingLoop seven = new TrainingLoop(network, new Quadratic(), Optimizers::sgd, Schedule.constant(0.01), 7,
        ITERATIONS, val, List.of(new EarlyStopping(2, 0.005), keep));
    TrainingLoop.Result r = seven.run(LoopState.start(ones(network.paramCount())));
    // 0.79 beats 0.8 by only 0.01 > 0.005: an improvement; then 0.9 and 0.95 are two bad epochs
    assertEquals("early stopping: the validation loss has not improved by more than 0.005 for 2 epochs "
        + "(best 0.790000 after epoch 4)", r.stopReason());
    assertEquals(6 * ITERATIONS, r.steps());
    // resumed from the checkpoint after epoch 5 (one bad epoch), it stops after epoch 6 as well
    LoopState afterFive = saved.get(4);
    assertEquals(1.0, afterFive.callbackState().get("early_stopping").get("bad_epochs"));
    TrainingLoop.Result resumed = new TrainingLoop(network, new Quadratic(), Optimizers::sgd, Schedule.constant(0.01), 7,
        ITERATIONS, val, List.of(new EarlyStopping(2, 0.005))).run(afterFive);
    assertEquals(r.stopReason(), resumed.stopReason());
    assertEquals(r.steps(), resumed.steps());
    org.junit.jupiter.api.Assertions.assertArrayEquals(r.params(), resumed.params(), "bit for bit");
  }

  @Test
  void replacingTheScheduleKeepsTheOptimizerState() {
    Callback halveAfterEpoch1 = new Callback() {
      @Override public void onEpochEnd(EpochEnd e, LoopControl loop) {
        if (e.epoch() == 0) loop.replaceSchedule(Schedule.constant(0.05));
      }
    };
    List<Double> rates = new ArrayList<>();
    Callback record = new Callback() {
      @Override public void onStepEnd(StepEnd e, LoopControl loop) { rates.add(e.lr()); }
    };
    loop(new Quadratic(), Schedule.constant(0.1), null, halveAfterEpoch1, record).run(LoopState.start(ones(network.paramCount())));
    assertEquals(0.1, rates.get(ITERATIONS - 1));
    assertEquals(0.05, rates.get(ITERATIONS));
    assertEquals(0.05, rates.get(rates.size() - 1));
  }

  @Test
  void aThrowingCallbackFailsNamingItselfAndTheStep() {
    Callback broken = new Callback() {
      @Override public void onStepEnd(StepEnd e, LoopControl loop) {
        if (e.step() == 6) throw new IllegalStateException("disk full");
      }

      @Override public String callbackName() { return "metrics-writer"; }
    };
    CallbackFailure f = assertThrows(CallbackFailure.class,
        () -> loop(new Quadratic(), Schedule.constant(0.1), null, broken).run(LoopState.start(ones(network.paramCount()))));
    assertEquals("callback metrics-writer failed at epoch 2 iteration 2 (step 7): IllegalStateException: disk full",
        f.getMessage());
  }

  @Test
  void aResumedRunStartsWhereItsStateSays() {
    List<Long> seen = new ArrayList<>();
    Callback record = new Callback() {
      @Override public void onStepEnd(StepEnd e, LoopControl loop) { seen.add(e.step()); }
    };
    float[] p = ones(network.paramCount());
    Object state = Optimizers.sgd(Schedule.constant(0.1)).init(p);
    Quadratic engine = new Quadratic();
    loop(engine, Schedule.constant(0.1), null, record)
        .run(new LoopState(7, 1, 2, 3 * BATCH * 0.5, 3 * BATCH, p, state, java.util.Map.of()));
    assertEquals(7L, seen.get(0));
    assertEquals((long) EPOCHS * ITERATIONS - 1, seen.get(seen.size() - 1));
    assertEquals("begin 1 2", engine.calls.get(0));
  }
}
