package dev.sparktrain.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktrain.UserError;
import dev.sparktrain.nn.Init;
import dev.sparktrain.nn.ModelSpec;
import dev.sparktrain.nn.Network;
import dev.sparktrain.nn.Shape;
import dev.sparktrain.optim.Optimizers;
import dev.sparktrain.optim.Schedule;
import dev.sparktrain.optim.Schedules;
import dev.sparktrain.tensor.BlasGemm;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.DoubleUnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * The range test's recorder without Spark, on synthetic loss curves given as functions of log₁₀ lr: the smoothing
 * against a hand computation, the stop after lr_range.steps, the divergence stop, the suggestions on a parabola
 * (whose moving average is the same parabola shifted by β/(1 − β) = 49 steps) and on a tanh cliff, and the recorder
 * inside a real TrainingLoop.
 */
class LrRangeRecorderTest {
  /** A LoopControl that keeps the schedule it was given and the stop reasons it was told. */
  private static final class Control implements LoopControl {
    Schedule schedule = Schedule.constant(1);
    final List<String> stops = new ArrayList<>();

    @Override public void stop(String reason) { stops.add(reason); }

    @Override public void replaceSchedule(Schedule lr) { schedule = lr; }

    @Override public Schedule schedule() { return schedule; }
  }

  private static Callback.StepEnd step(long t, double lr, double loss) {
    FloatBuffer none = FloatBuffer.allocate(0);
    return new Callback.StepEnd(0, (int) t, 100_000, t, loss, loss, lr, 32, none, none, () -> null);
  }

  /** Starts the recorder and feeds it loss(log₁₀ lr) at the schedule's rate of each step until it stops. */
  private static Control drive(LrRangeRecorder r, DoubleUnaryOperator lossOfLog10Lr, int limit) {
    Control c = new Control();
    r.onTrainStart(new Callback.TrainStart(1, limit, LoopState.start(new float[0]), FloatBuffer.allocate(0)), c);
    for (int t = 0; t < limit && c.stops.isEmpty(); t++) {
      double lr = c.schedule.at(t);
      r.onStepEnd(step(t, lr, lossOfLog10Lr.applyAsDouble(Math.log10(lr))), c);
    }
    return c;
  }

  @Test
  void theStartReplacesTheScheduleWithTheExponentialRange() {
    Control c = drive(new LrRangeRecorder(1e-5, 10, 50, Progress.quiet()), x -> 1, 0);
    Schedule expected = Schedules.exponentialRange(1e-5, 10, 50);
    for (long t : new long[] {0, 1, 17, 48, 49, 60}) assertEquals(expected.at(t), c.schedule.at(t), 0, "step " + t);
  }

  @Test
  void theSmoothedLossIsTheBiasCorrectedMovingAverage() {
    LrRangeRecorder r = new LrRangeRecorder(1e-3, 1, 10, Progress.quiet());
    Control c = new Control();
    double[] losses = {2, 1, 4};
    for (int t = 0; t < losses.length; t++) r.onStepEnd(step(t, 0.1, losses[t]), c);
    // avg₁ = 0.02·2 = 0.04, smoothed 0.04 / (1 − 0.98) = 2
    // avg₂ = 0.98·0.04 + 0.02·1 = 0.0592, smoothed 0.0592 / (1 − 0.98²) = 0.0592 / 0.0396
    // avg₃ = 0.98·0.0592 + 0.02·4 = 0.138016, smoothed 0.138016 / (1 − 0.98³) = 0.138016 / 0.058808
    double[] expected = {2, 0.0592 / 0.0396, 0.138016 / 0.058808};
    List<LrRangeRecorder.Point> points = r.points();
    assertEquals(3, points.size());
    for (int i = 0; i < 3; i++) {
      assertEquals(i, points.get(i).step());
      assertEquals(losses[i], points.get(i).loss(), 0);
      assertEquals(expected[i], points.get(i).smoothedLoss(), 1e-12 * expected[i], "point " + i);
    }
    assertTrue(c.stops.isEmpty());
    assertNull(r.stopReason());
  }

  @Test
  void aCliffRunsAllTheStepsAndIsSteepestJustAfterItsMiddle() {
    // 2 − tanh((log₁₀ lr + 3) / 0.5): falls from 3 to 1, fastest at lr = 1e-3; the average never rises 4-fold
    int steps = 3000;
    LrRangeRecorder r = new LrRangeRecorder(1e-6, 1, steps, Progress.quiet());
    Control c = drive(r, x -> 2 - Math.tanh((x + 3) / 0.5), 2 * steps);
    assertEquals(List.of("ran the 3000 steps of lr_range.steps"), c.stops);
    assertEquals(c.stops.get(0), r.stopReason());
    assertEquals(steps, r.points().size());
    LrRangeRecorder.Suggestion s = r.suggestion();
    assertEquals(1, s.minLossLr(), 0, "the loss falls to the end, so its minimum is at max_lr");
    assertEquals(0.1, s.suggestedLr(), 0);
    // the average lags by at most 49 steps of log₁₀ 6/2999 each
    double lag = 49 * 6.0 / 2999;
    assertTrue(s.steepestLr() > 1e-3 && s.steepestLr() <= Math.pow(10, -3 + lag), "steepest " + s.steepestLr());
  }

  @Test
  void aParabolaDivergesAndItsSmoothedMinimumLags49Steps() {
    // 1 + (log₁₀ lr + 2)²: the raw minimum 1 is at lr = 1e-2; the average of a parabola sampled at evenly spaced
    // x is the same parabola shifted right by the mean lag β/(1 − β) = 49 steps, plus a constant
    int steps = 3000;
    double dx = 6.0 / (steps - 1);
    LrRangeRecorder r = new LrRangeRecorder(1e-6, 1, steps, Progress.quiet());
    Control c = drive(r, x -> 1 + (x + 2) * (x + 2), steps);
    List<LrRangeRecorder.Point> points = r.points();
    assertEquals(1, c.stops.size());
    assertTrue(c.stops.get(0).startsWith("diverged after " + points.size() + " steps at lr "), c.stops.get(0));
    assertTrue(points.size() < steps, "stopped early: " + points.size());
    // the last point is the first whose smoothed loss exceeds 4 × the best of those before it
    double best = Double.POSITIVE_INFINITY;
    for (int i = 0; i < points.size() - 1; i++) {
      assertTrue(i == 0 || points.get(i).smoothedLoss() <= 4 * best, "point " + i);
      best = Math.min(best, points.get(i).smoothedLoss());
    }
    assertTrue(points.get(points.size() - 1).smoothedLoss() > 4 * best);

    LrRangeRecorder.Suggestion s = r.suggestion();
    assertEquals(-2 + 49 * dx, Math.log10(s.minLossLr()), dx, "the smoothed minimum, within one step");
    assertEquals(s.minLossLr() / 10, s.suggestedLr(), 0);
    // a parabola falls fastest at the left end: the first interior point after the first 10% are dropped
    assertEquals(points.get(points.size() / 10 + 1).lr(), s.steepestLr(), 0);
  }

  @Test
  void aNonFiniteLossEndsTheRangeWithoutARecord() {
    LrRangeRecorder r = new LrRangeRecorder(1e-3, 1, 100, Progress.quiet());
    Control c = drive(r, x -> x > -1 ? Double.NaN : 1, 100);
    int kept = r.points().size();
    assertTrue(kept > 0 && kept < 100);
    assertTrue(r.points().stream().allMatch(p -> Double.isFinite(p.loss()) && p.lr() <= 0.1));
    assertEquals(1, c.stops.size());
    assertTrue(c.stops.get(0).startsWith("the loss or gradient was not finite at step " + (kept + 1) + " (lr "),
        c.stops.get(0));
    assertTrue(c.stops.get(0).endsWith("the range ends after the " + kept + " steps before it"), c.stops.get(0));
  }

  @Test
  void theFiniteChecksFailureEndsTheRangeAtTheNextStep() {
    LrRangeRecorder r = new LrRangeRecorder(1e-3, 1, 100, Progress.quiet());
    drive(r, x -> 1, 7);
    assertNull(r.stopReason());
    String reason = r.stopAtNonFinite();
    assertEquals(String.format(java.util.Locale.ROOT, "the loss or gradient was not finite at step 8 (lr %.3g); the "
        + "range ends after the 7 steps before it", Schedules.exponentialRange(1e-3, 1, 100).at(7)), reason);
    assertEquals(reason, r.stopReason());
    assertEquals(7, r.points().size());
  }

  @Test
  void theFiniteCheckTellsItsOwnFailureFromOthers() {
    RuntimeException e = assertThrows(UserError.class,
        () -> new FiniteCheck(0.1).onStepEnd(step(3, 0.1, Double.NaN), new Control()));
    assertTrue(FiniteCheck.raised(e), e.getMessage());
    assertFalse(FiniteCheck.raised(new UserError("lr_range.steps = 3: not finite")));
    assertFalse(FiniteCheck.raised(new IllegalStateException(e.getMessage())));
  }

  @Test
  void tooFewPointsSuggestNothing() {
    LrRangeRecorder r = new LrRangeRecorder(1e-3, 1, 100, Progress.quiet());
    assertTrue(Double.isNaN(r.suggestion().suggestedLr()));
    drive(r, x -> 1, 2);
    LrRangeRecorder.Suggestion s = r.suggestion();
    assertTrue(r.points().stream().anyMatch(p -> p.lr() == s.minLossLr()));
    assertEquals(s.minLossLr() / 10, s.suggestedLr(), 0);
    assertTrue(Double.isNaN(s.steepestLr()), "two points have no interior");
  }

  /** ∇ ½‖p‖², as in TrainingLoopTest: the recorder only needs a loop that runs. */
  private static final class Quadratic implements StepEngine {
    @Override public GradientSum.Node gradient(float[] params, int epoch, int t) {
      float[] g = params.clone();
      double half = 0;
      for (float p : params) half += 0.5 * p * p;
      return new GradientSum.Node(g, half, 1, 0);
    }
  }

  @Test
  void insideATrainingLoopItFollowsTheRangeAndStopsAfterItsSteps() {
    Network network = new Network(ModelSpec.parse(Shape.flat(3), "dense(2)", 2, Init.HE, 1.0), BlasGemm.INSTANCE);
    LrRangeRecorder r = new LrRangeRecorder(1e-4, 1e-1, 23, Progress.quiet());
    float[] start = new float[network.paramCount()];
    java.util.Arrays.fill(start, 1f);
    TrainingLoop.Result result = new TrainingLoop(network, new Quadratic(), Optimizers::sgd, Schedule.constant(0.5), 4,
        10, null, List.of(r)).run(LoopState.start(start));
    assertEquals(23, result.stepsRun(), "stopped inside the third of four epochs of 10");
    assertEquals("ran the 23 steps of lr_range.steps", result.stopReason());
    Schedule range = Schedules.exponentialRange(1e-4, 1e-1, 23);
    List<LrRangeRecorder.Point> points = r.points();
    assertEquals(23, points.size());
    for (int t = 0; t < 23; t++) assertEquals(range.at(t), points.get(t).lr(), 0, "step " + t);
  }
}
