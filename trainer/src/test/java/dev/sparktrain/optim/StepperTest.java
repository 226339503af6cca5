package dev.sparktrain.optim;

import static dev.sparktrain.optim.OptimizerGoldenTest.DW;
import static dev.sparktrain.optim.OptimizerGoldenTest.W;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.sparktrain.optim.Blocks.AdamState;
import dev.sparktrain.optim.Blocks.StepCount;
import dev.sparktrain.optim.GradientTransform.Pair;
import org.junit.jupiter.api.Test;

/** A run of steps, and swapping its transform (a new learning rate) while keeping the optimizer state. */
class StepperTest {
  @Test
  void withTransformKeepsTheStateAndUsesTheNewRate() {
    Stepper<?> run = Stepper.start(Optimizers.adam(Schedule.constant(1e-2), 0.9, 0.999, 1e-8), W);
    float[] w = run.step(DW, W);
    w = run.step(DW, w);
    Object before = run.state();
    // the same state continued at half the rate moves exactly half as far as at the old rate
    Stepper<?> halved = run.withTransform(Optimizers.adam(Schedule.constant(5e-3), 0.9, 0.999, 1e-8));
    Stepper<?> same = run.withTransform(Optimizers.adam(Schedule.constant(1e-2), 0.9, 0.999, 1e-8));
    assertSame(before, halved.state());
    float[] a = halved.step(DW, w), b = same.step(DW, w);
    for (int i = 0; i < W.length; i++) assertEquals((b[i] - w[i]) / 2, a[i] - w[i], 1e-8, "coordinate " + i);
    @SuppressWarnings("unchecked")
    Pair<AdamState, StepCount> s = (Pair<AdamState, StepCount>) halved.state();
    assertEquals(3, s.first().count()); // the bias correction carried on from step 2
    assertEquals(3, s.second().step());
  }

  @Test
  void withTransformRejectsAnotherStateShape() {
    Stepper<?> run = Stepper.start(Optimizers.adam(Schedule.constant(1e-2), 0.9, 0.999, 1e-8), W);
    var e = assertThrows(IllegalArgumentException.class,
        () -> run.withTransform(Optimizers.momentum(Schedule.constant(1e-2), 0.9)));
    assertEquals("the new transform keeps (Velocity, StepCount), this run (AdamState, StepCount)", e.getMessage());
  }

  @Test
  void stepsDoNotMutateTheirArguments() {
    float[] w = W.clone(), g = DW.clone();
    Stepper.start(Optimizers.nesterov(Schedule.constant(1e-2), 0.9), w).step(g, w);
    assertArrayEquals(W, w);
    assertArrayEquals(DW, g);
  }
}
