package dev.sparktrain.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.sparktrain.UserError;
import dev.sparktrain.config.Settings;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Each learning-rate schedule against a table of {step, value} computed outside this code base with Python's
 * float arithmetic and math module, from the formula in the comment above the table; then monotonicity, the
 * restarts of SGDR, the warmup joint, the config form and one test per nonsense setting.
 */
class ScheduleTest {

  /** |expected − actual| ≤ 1e-12·|expected| + 1e-18 at every step of the table. */
  static void assertTable(Schedule s, double[][] table) {
    for (double[] row : table) {
      long step = (long) row[0];
      double e = row[1], a = s.at(step);
      if (!(Math.abs(e - a) <= 1e-12 * Math.abs(e) + 1e-18)) fail("step " + step + ": expected " + e + ", got " + a);
    }
  }

  static void assertNonIncreasing(Schedule s, long from, long to) {
    for (long t = from; t < to; t++) {
      if (s.at(t + 1) > s.at(t)) {
        fail("rises from step " + t + " (" + s.at(t) + ") to " + (t + 1) + " (" + s.at(t + 1) + ")");
      }
    }
  }

  static String message(Runnable r) {
    return assertThrows(UserError.class, r::run).getMessage();
  }

  // ---- the tables

  @Test
  void stepDecayChangesExactlyAtMultiplesOfTheStepSize() {
    // 0.1 * 0.5 ** (t // 10)
    assertTable(Schedules.stepDecay(0.1, 0.5, 10), new double[][] {
        {0, 0.1}, {9, 0.1}, {10, 0.05}, {19, 0.05}, {20, 0.025}, {35, 0.0125}});
  }

  @Test
  void multiStepDecaysAtEachMilestoneInclusive() {
    // 0.1 * 0.1 ** len([m for m in (5, 15, 40) if m <= t])
    assertTable(Schedules.multiStep(0.1, 0.1, new long[] {5, 15, 40}), new double[][] {
        {0, 0.1}, {4, 0.1}, {5, 0.010000000000000002}, {14, 0.010000000000000002}, {15, 0.0010000000000000002},
        {39, 0.0010000000000000002}, {40, 0.00010000000000000003}, {1000, 0.00010000000000000003}});
  }

  @Test
  void exponentialPerStepAndPerTransition() {
    // 0.1 * 0.9 ** (t / 1)
    assertTable(Schedules.exponential(0.1, 0.9), new double[][] {
        {0, 0.1}, {1, 0.09000000000000001}, {2, 0.08100000000000002}, {10, 0.03486784401000001},
        {100, 2.6561398887587545e-06}});
    // 0.1 * 0.9 ** (t / 100): γ per 100 steps, e.g. per epoch of 100 steps
    assertTable(Schedules.exponential(0.1, 0.9, 100), new double[][] {
        {0, 0.1}, {50, 0.09486832980505139}, {100, 0.09000000000000001}, {250, 0.07684334714209162}});
  }

  @Test
  void exponentialRangeFromLoToHiInEqualRatiosThenFlat() {
    // 1e-6 * (1 / 1e-6) ** (t / 299) for t < 300, then 1
    assertTable(Schedules.exponentialRange(1e-6, 1, 300), new double[][] {
        {0, 1e-06}, {1, 1.0472898382363585e-06}, {2, 1.0968160052731378e-06}, {100, 0.0001015521127634568},
        {150, 0.0010233717986325196}, {298, 0.9548455102782293}, {299, 1.0}, {300, 1.0}, {1000, 1.0}});
    // 1e-4 * (10 / 1e-4) ** (t / 10) for t < 11, then 10: a factor √10 per step
    assertTable(Schedules.exponentialRange(1e-4, 10, 11), new double[][] {
        {0, 0.0001}, {1, 0.000316227766016838}, {5, 0.0316227766016838}, {9, 3.1622776601683804}, {10, 10.0},
        {11, 10.0}});
  }

  @Test
  void inverseTime() {
    // 0.1 / (1 + 0.01 * t / 1)
    assertTable(Schedules.inverseTime(0.1, 0.01), new double[][] {
        {0, 0.1}, {1, 0.09900990099009901}, {100, 0.05}, {1000, 0.009090909090909092}});
    // 0.1 / (1 + 0.5 * t / 50)
    assertTable(Schedules.inverseTime(0.1, 0.5, 50), new double[][] {{0, 0.1}, {25, 0.08}, {100, 0.05}});
  }

  @Test
  void cosineFromLrToMinLrThenFlat() {
    // 0.001 + (0.1 - 0.001) * (1 + cos(pi * t / 100)) / 2 for t < 100, else 0.001
    assertTable(Schedules.cosine(0.1, 100, 0.001), new double[][] {
        {0, 0.1}, {1, 0.09997557473810371}, {25, 0.0855017856687341}, {50, 0.0505}, {75, 0.0154982143312659},
        {99, 0.0010244252618962857}, {100, 0.001}, {150, 0.001}});
  }

  @Test
  void sgdrWithDoublingPeriodsRestartsAt10_30_70_150() {
    // cycles [0,10), [10,30), [30,70), [70,150), [150,310): start s, length L;
    // 0.001 + (0.1 - 0.001) * (1 + cos(pi * (t - s) / L)) / 2
    assertTable(Schedules.cosineWarmRestarts(0.1, 10, 2, 0.001), new double[][] {
        {0, 0.1}, {5, 0.0505}, {9, 0.0034227024433899004}, {10, 0.1}, {11, 0.09939057285945932}, {20, 0.0505},
        {29, 0.001609427140540686}, {30, 0.1}, {69, 0.0011525919802101658}, {70, 0.1},
        {149, 0.0010381627060842165}, {150, 0.1}});
  }

  @Test
  void sgdrWithEqualPeriods() {
    // cycles of 10: (1 + cos(pi * (t % 10) / 10)) / 2 * 0.1
    assertTable(Schedules.cosineWarmRestarts(0.1, 10, 1, 0.0), new double[][] {
        {0, 0.1}, {9, 0.0024471741852423235}, {10, 0.1}, {19, 0.0024471741852423235}, {20, 0.1}, {25, 0.05}});
  }

  @Test
  void warmupJointIsTheFirstValueOfTheNextSchedule() {
    // t < 100: 0.0 + (0.1 - 0.0) * t / 100; else cosine(0.1, 900, 0)(t - 100)
    assertTable(Schedules.warmup(100, 0.0, Schedules.cosine(0.1, 900, 0.0)), new double[][] {
        {0, 0.0}, {50, 0.05}, {99, 0.099}, {100, 0.1}, {101, 0.09999969538288953}, {550, 0.05}, {1000, 0.0},
        {1100, 0.0}});
  }

  @Test
  void joinRestartsEachPieceAtItsBoundary() {
    Schedule j = Schedules.join(
        List.of(Schedule.constant(0.3), Schedules.linear(0.2, 0.0, 4), Schedules.stepDecay(0.1, 0.5, 2)),
        new long[] {5, 9});
    // [0,5): 0.3; [5,9): 0.2 - 0.2 * (t - 5) / 4; [9,∞): 0.1 * 0.5 ** ((t - 9) // 2)
    assertTable(j, new double[][] {
        {0, 0.3}, {4, 0.3}, {5, 0.2}, {6, 0.15}, {8, 0.05}, {9, 0.1}, {10, 0.1}, {11, 0.05}, {13, 0.025}});
    assertThrows(IllegalArgumentException.class, () -> Schedules.join(List.of(Schedule.constant(1)), new long[] {3}));
    assertThrows(IllegalArgumentException.class,
        () -> Schedules.join(List.of(Schedule.constant(1), Schedule.constant(2), Schedule.constant(3)),
            new long[] {4, 4}));
  }

  // ---- shapes

  @Test
  void decayingSchedulesNeverRise() {
    assertNonIncreasing(Schedules.stepDecay(0.1, 0.5, 7), 0, 2000);
    assertNonIncreasing(Schedules.multiStep(0.1, 0.1, new long[] {3, 50, 51, 900}), 0, 2000);
    assertNonIncreasing(Schedules.exponential(0.1, 0.99), 0, 2000);
    assertNonIncreasing(Schedules.inverseTime(0.1, 0.3), 0, 2000);
    assertNonIncreasing(Schedules.cosine(0.1, 777, 0.002), 0, 2000);
    assertNonIncreasing(Schedule.constant(0.1), 0, 100);
  }

  @Test
  void warmupRisesStrictlyAndSgdrFallsWithinEachCycle() {
    Schedule w = Schedules.warmup(50, 0.001, Schedule.constant(0.1));
    for (long t = 0; t < 50; t++) assertTrue(w.at(t + 1) > w.at(t), "warmup rises at " + t);
    Schedules.CosineWarmRestarts sgdr = Schedules.cosineWarmRestarts(0.1, 10, 2, 0.001);
    for (long t = 0; t < 1000; t++) {
      if (sgdr.isRestart(t + 1)) assertTrue(sgdr.at(t + 1) > sgdr.at(t), "jumps up at restart " + (t + 1));
      else assertTrue(sgdr.at(t + 1) < sgdr.at(t), "falls within a cycle at " + t);
    }
  }

  @Test
  void sgdrReportsItsRestartsForSnapshotEnsembles() {
    Schedules.CosineWarmRestarts sgdr = Schedules.cosineWarmRestarts(0.1, 10, 2, 0.001);
    List<Long> restarts = new ArrayList<>();
    for (long t = 0; t <= 200; t++) if (sgdr.isRestart(t)) restarts.add(t);
    assertEquals(List.of(10L, 30L, 70L, 150L), restarts);
    assertArrayEquals(new long[] {10, 30, 70, 150}, sgdr.restartsUpTo(150));
    assertArrayEquals(new long[] {10, 30, 70}, sgdr.restartsUpTo(149));
    assertArrayEquals(new long[] {}, sgdr.restartsUpTo(9));
    assertArrayEquals(new long[] {10, 20, 30}, Schedules.cosineWarmRestarts(0.1, 10, 1, 0).restartsUpTo(39));
    assertFalse(Schedules.cosine(0.1, 10, 0).isRestart(10));
  }

  @Test
  void warmupShiftsTheRestartsOfWhatFollows() {
    Schedule s = Schedules.warmup(5, 0.0, Schedules.cosineWarmRestarts(0.1, 10, 2, 0.01));
    List<Long> restarts = new ArrayList<>();
    for (long t = 0; t <= 100; t++) if (s.isRestart(t)) restarts.add(t);
    assertEquals(List.of(15L, 35L, 75L), restarts, "the warmup's end (step 5) is no restart");
  }

  // ---- the config form

  static ScheduleSpec spec(Map<String, String> settings) {
    return dev.sparktrain.config.TrainConfig.schedule(Settings.of(settings));
  }

  @Test
  void specUsesEpochsForStepSizeMilestonesAndPeriod() {
    // step_size 3 epochs of 10 steps: 0.1 * 0.5 ** (t // 30)
    assertTable(spec(Map.of("schedule.name", "step", "schedule.step_size", "3", "schedule.gamma", "0.5"))
        .build(0.1, 10, 1000), new double[][] {{0, 0.1}, {29, 0.1}, {30, 0.05}, {59, 0.05}, {60, 0.025}});
    // milestones 2,5 epochs of 4 steps: 0.1 * 0.1 ** len([m for m in (8, 20) if m <= t])
    assertTable(spec(Map.of("schedule.name", "multistep", "schedule.milestones", "2, 5")).build(0.1, 4, 1000),
        new double[][] {{0, 0.1}, {7, 0.1}, {8, 0.010000000000000002}, {19, 0.010000000000000002},
            {20, 0.0010000000000000002}});
    // γ = 0.5 per epoch of 10 steps: 0.1 * 0.5 ** (t / 10)
    assertTable(spec(Map.of("schedule.name", "exponential", "schedule.gamma", "0.5")).build(0.1, 10, 1000),
        new double[][] {{0, 0.1}, {5, 0.07071067811865477}, {10, 0.05}, {25, 0.01767766952966369}});
    // k = 1 per epoch of 10 steps: 0.1 / (1 + 1.0 * t / 10)
    assertTable(spec(Map.of("schedule.name", "inverse_time", "schedule.decay", "1")).build(0.1, 10, 1000),
        new double[][] {{0, 0.1}, {5, 0.06666666666666667}, {10, 0.05}, {30, 0.025}});
  }

  @Test
  void specWarmupThenCosineEndsAtTheLastStepOfTheRun() {
    // run of 110 steps, warmup 10 from 0.01: t < 10: 0.01 + 0.09 * t / 10; else cosine(0.1, 100, 0)(t - 10)
    Schedule s = spec(Map.of("schedule.name", "cosine", "schedule.warmup_steps", "10",
        "schedule.warmup_start_lr", "0.01")).build(0.1, 7, 110);
    assertTable(s, new double[][] {
        {0, 0.01}, {9, 0.091}, {10, 0.1}, {11, 0.09997532801828658}, {60, 0.05}, {110, 0.0}});
    // total_steps overrides the run's length
    Schedule t = spec(Map.of("schedule.name", "cosine", "schedule.total_steps", "100")).build(0.1, 7, 5000);
    assertTable(t, new double[][] {{50, 0.05}, {100, 0.0}});
  }

  @Test
  void specWarmupThenSgdr() {
    // period 2 epochs of 5 steps, mult 2, min 0.01, after a 5-step warmup from 0: restarts at 15, 35, 75
    Schedule s = spec(Map.of("schedule.name", "cosine_restarts", "schedule.period", "2", "schedule.period_mult", "2",
        "schedule.min_lr", "0.01", "schedule.warmup_steps", "5")).build(0.1, 5, 1000);
    assertTable(s, new double[][] {
        {0, 0.0}, {4, 0.08}, {5, 0.1}, {14, 0.012202456766718092}, {15, 0.1}, {16, 0.0994459753267812},
        {34, 0.010554024673218806}, {35, 0.1}, {74, 0.010138719982009242}, {75, 0.1}});
    assertTrue(s.isRestart(15) && s.isRestart(35) && s.isRestart(75) && !s.isRestart(5) && !s.isRestart(16));
  }

  @Test
  void specDefaultsAreAConstantRateAndRoundTripThroughSettings() {
    assertEquals(ScheduleSpec.DEFAULT, spec(Map.of()));
    Schedule c = ScheduleSpec.DEFAULT.build(0.03, 10, 100);
    assertTable(c, new double[][] {{0, 0.03}, {99, 0.03}, {10_000, 0.03}});
    ScheduleSpec s = spec(Map.of("schedule.name", "Multistep", "schedule.milestones", "3,9", "schedule.gamma", "0.2",
        "schedule.warmup_steps", "4", "schedule.min_lr", "1e-5"));
    assertEquals("multistep", s.name());
    assertEquals(s, spec(s.toSettings()));
    assertEquals(List.of("schedule.name", "schedule.step_size", "schedule.gamma", "schedule.milestones",
        "schedule.decay", "schedule.period", "schedule.period_mult", "schedule.min_lr", "schedule.warmup_steps",
        "schedule.warmup_start_lr", "schedule.total_steps"), List.copyOf(s.toSettings().keySet()));
  }

  @Test
  void specWithoutWarmupIsTheBareSchedule() {
    Schedule bare = Schedules.cosineWarmRestarts(0.1, 30, 2, 0.0);
    Schedule built = spec(Map.of("schedule.name", "cosine_restarts", "schedule.period", "3", "schedule.period_mult",
        "2")).build(0.1, 10, 10_000);
    for (long t = 0; t < 1000; t += 7) assertEquals(bare.at(t), built.at(t), "step " + t);
    Schedule c = Schedule.constant(0.1);
    assertSame(c, Schedules.warmup(0, 0.0, c));
  }

  // ---- nonsense settings, one line each, naming the key and the value

  static String specError(Map<String, String> settings) {
    return message(() -> spec(settings));
  }

  @Test
  void unknownName() {
    assertEquals("schedule.name = Linear: unknown schedule (known: constant, step, multistep, exponential, "
        + "inverse_time, cosine, cosine_restarts)",
        message(() -> new ScheduleSpec("Linear", 10, 0.1, List.of(), 1, 10, 1, 0, 0, 0, 0)));
    assertEquals("settings: schedule.name = linear: unknown schedule (known: constant, step, multistep, "
        + "exponential, inverse_time, cosine, cosine_restarts)", specError(Map.of("schedule.name", "linear")));
  }

  @Test
  void periodZero() {
    assertEquals("schedule.period = 0: must be at least 1", message(() -> new ScheduleSpec("cosine_restarts", 10, 0.1,
        List.of(), 1, 0, 1, 0, 0, 0, 0)));
    assertEquals("schedule.period = 0: must be at least 1",
        message(() -> Schedules.cosineWarmRestarts(0.1, 0, 2, 0)));
  }

  @Test
  void periodZeroFromAConfigSaysWhereItWasSet() {
    assertEquals("settings: schedule.period = 0: must be at least 1",
        specError(Map.of("schedule.name", "cosine_restarts", "schedule.period", "0")));
  }

  @Test
  void periodMultZero() {
    assertEquals("settings: schedule.period_mult = 0: must be at least 1",
        specError(Map.of("schedule.period_mult", "0")));
    assertEquals("schedule.period_mult = 0: must be at least 1",
        message(() -> Schedules.cosineWarmRestarts(0.1, 10, 0, 0)));
  }

  @Test
  void stepSizeZero() {
    assertEquals("settings: schedule.step_size = 0: must be at least 1", specError(Map.of("schedule.step_size", "0")));
    assertEquals("schedule.step_size = 0: must be at least 1", message(() -> Schedules.stepDecay(0.1, 0.5, 0)));
  }

  @Test
  void gammaZero() {
    assertEquals("settings: schedule.gamma = 0: must be in (0, 1]", specError(Map.of("schedule.gamma", "0")));
  }

  @Test
  void gammaAboveOne() {
    assertEquals("settings: schedule.gamma = 1.5: must be in (0, 1]", specError(Map.of("schedule.gamma", "1.5")));
    assertEquals("schedule.gamma = 1.5: must be in (0, 1]", message(() -> Schedules.exponential(0.1, 1.5)));
  }

  @Test
  void gammaNaN() {
    assertEquals("schedule.gamma = NaN: must be in (0, 1]", message(() -> Schedules.stepDecay(0.1, Double.NaN, 3)));
  }

  @Test
  void negativeDecay() {
    assertEquals("settings: schedule.decay = -0.5: must be at least 0", specError(Map.of("schedule.decay", "-0.5")));
    assertEquals("schedule.decay = -0.5: must be at least 0", message(() -> Schedules.inverseTime(0.1, -0.5)));
  }

  @Test
  void infiniteDecay() {
    assertEquals("settings: schedule.decay = Infinity: must be a finite number",
        specError(Map.of("schedule.decay", "Infinity")));
  }

  @Test
  void milestonesNotAscending() {
    assertEquals("settings: schedule.milestones = 30,20: must be strictly ascending",
        specError(Map.of("schedule.name", "multistep", "schedule.milestones", "30, 20")));
  }

  @Test
  void milestonesRepeated() {
    assertEquals("schedule.milestones = 10,10: must be strictly ascending",
        message(() -> Schedules.multiStep(0.1, 0.1, new long[] {10, 10})));
  }

  @Test
  void milestoneZero() {
    assertEquals("settings: schedule.milestones = 0,5: must be at least 1",
        specError(Map.of("schedule.milestones", "0,5")));
  }

  @Test
  void milestonesNotNumbers() {
    assertEquals("settings: schedule.milestones = 5,ten: not a list of integers",
        specError(Map.of("schedule.milestones", "5,ten")));
  }

  @Test
  void multistepWithoutMilestones() {
    assertEquals("schedule.milestones = (none): multistep needs at least one epoch",
        specError(Map.of("schedule.name", "multistep")));
  }

  @Test
  void negativeMinLr() {
    assertEquals("settings: schedule.min_lr = -0.001: must be at least 0",
        specError(Map.of("schedule.min_lr", "-0.001")));
  }

  @Test
  void minLrAboveLr() {
    ScheduleSpec s = spec(Map.of("schedule.name", "cosine", "schedule.min_lr", "0.5"));
    assertEquals("schedule.min_lr = 0.5: must not exceed optimizer.learning_rate = 0.1",
        message(() -> s.build(0.1, 10, 100)));
    assertEquals("schedule.min_lr = 0.5: must not exceed optimizer.learning_rate = 0.1",
        message(() -> Schedules.cosine(0.1, 100, 0.5)));
  }

  @Test
  void negativeWarmupSteps() {
    assertEquals("settings: schedule.warmup_steps = -1: must be at least 0",
        specError(Map.of("schedule.warmup_steps", "-1")));
  }

  @Test
  void warmupAsLongAsTheRun() {
    ScheduleSpec s = spec(Map.of("schedule.name", "cosine", "schedule.warmup_steps", "100"));
    assertEquals("schedule.warmup_steps = 100: must be less than the total steps (100)",
        message(() -> s.build(0.1, 10, 100)));
  }

  @Test
  void negativeWarmupStartLr() {
    assertEquals("settings: schedule.warmup_start_lr = -0.1: must be at least 0",
        specError(Map.of("schedule.warmup_start_lr", "-0.1")));
  }

  @Test
  void warmupStartLrAboveLr() {
    ScheduleSpec s = spec(Map.of("schedule.warmup_steps", "10", "schedule.warmup_start_lr", "0.2"));
    assertEquals("schedule.warmup_start_lr = 0.2: must not exceed optimizer.learning_rate = 0.1",
        message(() -> s.build(0.1, 10, 100)));
  }

  @Test
  void negativeTotalSteps() {
    assertEquals("settings: schedule.total_steps = -1: must be at least 0",
        specError(Map.of("schedule.total_steps", "-1")));
  }

  @Test
  void totalStepsNotAnInteger() {
    assertEquals("settings: schedule.total_steps = 1e4: not an integer",
        specError(Map.of("schedule.total_steps", "1e4")));
  }

  @Test
  void exponentialRangeArguments() {
    assertEquals("lr_range.min_lr = 0: must be a positive number", message(() -> Schedules.exponentialRange(0, 1, 10)));
    assertEquals("lr_range.min_lr = NaN: must be a positive number",
        message(() -> Schedules.exponentialRange(Double.NaN, 1, 10)));
    assertEquals("lr_range.max_lr = 0.001: must be a finite number above lr_range.min_lr = 0.01",
        message(() -> Schedules.exponentialRange(0.01, 0.001, 10)));
    assertEquals("lr_range.max_lr = Infinity: must be a finite number above lr_range.min_lr = 0.01",
        message(() -> Schedules.exponentialRange(0.01, Double.POSITIVE_INFINITY, 10)));
    assertEquals("lr_range.steps = 1: must be at least 2", message(() -> Schedules.exponentialRange(1e-6, 1, 1)));
  }

  @Test
  void nonPositiveLearningRate() {
    assertEquals("optimizer.learning_rate must be a positive number, got 0.0",
        message(() -> Schedules.cosine(0, 100, 0)));
  }

  @Test
  void epochCountsThatOverflowInSteps() {
    ScheduleSpec s = spec(Map.of("schedule.name", "step", "schedule.step_size", Long.toString(Long.MAX_VALUE / 2)));
    assertEquals("schedule.step_size = 4611686018427387903: too many epochs (10 steps each)",
        message(() -> s.build(0.1, 10, 100)));
  }
}
