package dev.sparktrain.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparktrain.UserError;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Reduce-on-plateau against sequences computed outside this code base by a Python transcription of PyTorch's
 * ReduceLROnPlateau (mode "min", relative threshold, with |best|) that tracks the learning rate itself, not a
 * scale: each row is the state after one epoch, {lr / lr₀, bad epochs, cooldown left, best}.
 */
class ReduceOnPlateauTest {
  static final double LR = 0.1;

  /** Feeds the losses one epoch at a time and checks the state after each. */
  static ReduceOnPlateau assertSequence(ReduceOnPlateau p, double[] losses, double[][] expected) {
    for (int e = 0; e < losses.length; e++) {
      ReduceOnPlateau next = p.observe(losses[e]);
      assertNotSame(p, next);
      p = next;
      double[] row = expected[e];
      String at = "epoch " + (e + 1) + ": " + p;
      if (!(Math.abs(p.scale() - row[0]) <= 1e-12 * row[0])) fail(at + ": scale should be " + row[0]);
      assertEquals((int) row[1], p.badEpochs(), at + ": bad epochs");
      assertEquals((int) row[2], p.cooldownLeft(), at + ": cooldown left");
      assertEquals(row[3], p.best(), at + ": best");
    }
    return p;
  }

  @Test
  void improvingLossKeepsTheRate() {
    assertSequence(ReduceOnPlateau.start(LR, 0.5, 2, 1e-4, 0, 0.0), new double[] {1.0, 0.9, 0.8, 0.7, 0.6},
        new double[][] {{1, 0, 0, 1.0}, {1, 0, 0, 0.9}, {1, 0, 0, 0.8}, {1, 0, 0, 0.7}, {1, 0, 0, 0.6}});
  }

  @Test
  void reducesOnTheEpochAfterPatienceRunsOut() {
    // patience 2: the third epoch in a row without improvement halves the rate, and the count starts again
    assertSequence(ReduceOnPlateau.start(LR, 0.5, 2, 1e-4, 0, 0.0), new double[] {1, 1, 1, 1, 1, 1, 1, 1},
        new double[][] {{1, 0, 0, 1}, {1, 1, 0, 1}, {1, 2, 0, 1}, {0.5, 0, 0, 1}, {0.5, 1, 0, 1}, {0.5, 2, 0, 1},
            {0.25, 0, 0, 1}, {0.25, 1, 0, 1}});
  }

  @Test
  void cooldownSkipsCountingAfterAReduction() {
    // patience 0 would reduce every flat epoch; a cooldown of 2 makes it every third
    assertSequence(ReduceOnPlateau.start(LR, 0.5, 0, 1e-4, 2, 0.0), new double[] {1, 1, 1, 1, 1, 1, 1},
        new double[][] {{1, 0, 0, 1}, {0.5, 0, 2, 1}, {0.5, 0, 1, 1}, {0.5, 0, 0, 1}, {0.25, 0, 2, 1},
            {0.25, 0, 1, 1}, {0.25, 0, 0, 1}});
  }

  @Test
  void theRateStopsAtMinLr() {
    // factor 0.1 from 0.1 with min_lr 0.002: 0.1 → 0.01 → 0.002 (not 0.001), then stays
    ReduceOnPlateau p = assertSequence(ReduceOnPlateau.start(LR, 0.1, 0, 0.0, 0, 0.002),
        new double[] {1, 2, 2, 2, 2, 2},
        new double[][] {{1, 0, 0, 1}, {0.10000000000000002, 0, 0, 1}, {0.02, 0, 0, 1}, {0.02, 0, 0, 1},
            {0.02, 0, 0, 1}, {0.02, 0, 0, 1}});
    assertTrue(Math.abs(p.lr(Schedule.constant(LR), 1234) - 0.002) < 1e-15);
  }

  @Test
  void theThresholdIsRelativeToTheBest() {
    // threshold 0.1: 0.95 is not below 1 − 0.1·1 = 0.9; 0.89 is; 0.85 is not below 0.89 − 0.089 = 0.801; 0.8 is
    assertSequence(ReduceOnPlateau.start(LR, 0.5, 0, 0.1, 0, 0.0), new double[] {1.0, 0.95, 0.89, 0.85, 0.8},
        new double[][] {{1, 0, 0, 1.0}, {0.5, 0, 0, 1.0}, {0.5, 0, 0, 0.89}, {0.25, 0, 0, 0.89},
            {0.25, 0, 0, 0.8}});
  }

  @Test
  void aNaNLossIsNeverAnImprovement() {
    ReduceOnPlateau p = ReduceOnPlateau.start(LR, 0.5, 1, 1e-4, 0, 0.0).observe(1.0).observe(Double.NaN);
    assertEquals(1, p.badEpochs());
    assertEquals(1.0, p.best());
    assertEquals(0.5, p.observe(Double.NaN).scale());
  }

  @Test
  void negativeLossesImproveByGoingLower() {
    ReduceOnPlateau p = ReduceOnPlateau.start(LR, 0.5, 0, 0.1, 0, 0.0).observe(-1.0);
    assertEquals(0, p.observe(-1.2).badEpochs(), "−1.2 < −1 − 0.1·1");
    assertEquals(0.5, p.observe(-1.05).scale(), "−1.05 is within the threshold");
  }

  @Test
  void combinesWithAStepScheduleByMultiplication() {
    Schedule step = Schedules.stepDecay(LR, 0.5, 10);
    ReduceOnPlateau p = ReduceOnPlateau.start(LR, 0.1, 0, 0, 0, 0).observe(1).observe(1);
    // 0.1 * 0.5 ** (25 // 10) * 0.1
    assertEquals(0.0025000000000000005, p.lr(step, 25), 1e-18);
    Schedule applied = p.applyTo(step);
    assertEquals(p.lr(step, 25), applied.at(25));
    Schedules.CosineWarmRestarts sgdr = Schedules.cosineWarmRestarts(LR, 10, 2, 0);
    assertTrue(p.applyTo(sgdr).isRestart(30));
  }

  @Test
  void stateRoundTripsExactlyThroughAMapAndJson() throws Exception {
    ReduceOnPlateau p = ReduceOnPlateau.start(LR, 0.3, 1, 1e-3, 3, 1e-4);
    assertEquals(p, ReduceOnPlateau.fromState(p.toState()), "fresh state, best = Double.MAX_VALUE");
    for (double loss : new double[] {0.7, 0.69, 0.7, 0.71, 0.72}) p = p.observe(loss);
    assertTrue(p.scale() < 1 && p.cooldownLeft() > 0, "a reduction and a cooldown in progress: " + p);
    ObjectMapper json = new ObjectMapper();
    String text = json.writeValueAsString(p.toState());
    ReduceOnPlateau back = ReduceOnPlateau.fromState(json.readValue(text, new TypeReference<Map<String, Double>>() {}));
    assertEquals(p, back);
    ReduceOnPlateau a = p, b = back;
    for (double loss : new double[] {0.8, 0.6, 0.6, 0.6, 0.6, 0.6}) {
      a = a.observe(loss);
      b = b.observe(loss);
      assertEquals(a, b);
    }
  }

  // ---- nonsense, one line each

  static String message(Runnable r) {
    return assertThrows(UserError.class, r::run).getMessage();
  }

  @Test
  void factorOne() {
    assertEquals("plateau.factor = 1: must be in (0, 1)", message(() -> ReduceOnPlateau.start(LR, 1, 10, 1e-4, 0, 0)));
  }

  @Test
  void factorZero() {
    assertEquals("plateau.factor = 0: must be in (0, 1)", message(() -> ReduceOnPlateau.start(LR, 0, 10, 1e-4, 0, 0)));
  }

  @Test
  void negativePatience() {
    assertEquals("plateau.patience = -1: must be at least 0",
        message(() -> ReduceOnPlateau.start(LR, 0.1, -1, 1e-4, 0, 0)));
  }

  @Test
  void thresholdOne() {
    assertEquals("plateau.threshold = 1: must be in [0, 1)",
        message(() -> ReduceOnPlateau.start(LR, 0.1, 10, 1, 0, 0)));
  }

  @Test
  void negativeCooldown() {
    assertEquals("plateau.cooldown = -2: must be at least 0",
        message(() -> ReduceOnPlateau.start(LR, 0.1, 10, 1e-4, -2, 0)));
  }

  @Test
  void minLrAboveLr() {
    assertEquals("plateau.min_lr = 0.5: must not exceed optimizer.learning_rate = 0.1",
        message(() -> ReduceOnPlateau.start(LR, 0.1, 10, 1e-4, 0, 0.5)));
  }

  @Test
  void negativeMinLr() {
    assertEquals("plateau.min_lr = -0.001: must be at least 0",
        message(() -> ReduceOnPlateau.start(LR, 0.1, 10, 1e-4, 0, -0.001)));
  }

  @Test
  void stateMissingAnEntry() {
    Map<String, Double> m = new HashMap<>(ReduceOnPlateau.start(LR, 0.1, 10, 1e-4, 0, 0).toState());
    m.remove("best");
    assertEquals("plateau state: best is missing", message(() -> ReduceOnPlateau.fromState(m)));
  }

  @Test
  void stateWithAFractionalCount() {
    Map<String, Double> m = new HashMap<>(ReduceOnPlateau.start(LR, 0.1, 10, 1e-4, 0, 0).toState());
    m.put("bad_epochs", 1.5);
    assertEquals("plateau state: bad_epochs = 1.5: must be an integer", message(() -> ReduceOnPlateau.fromState(m)));
  }

  @Test
  void stateWithAScaleBelowItsFloor() {
    Map<String, Double> m = new HashMap<>(ReduceOnPlateau.start(LR, 0.1, 10, 1e-4, 0, 0.01).toState());
    m.put("scale", 0.05);
    assertEquals("plateau state: scale = 0.05: must be in [min_scale, 1]", message(() -> ReduceOnPlateau.fromState(m)));
  }
}
