package dev.sparktrain.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.sparktrain.UserError;
import dev.sparktrain.testing.Tolerance;
import org.junit.jupiter.api.Test;

/**
 * One update of each optimizer against values computed by hand from the published formula (in double
 * precision, outside this code base), on asymmetric inputs: w = linspace(−0.4, 0.6, 20), dw = linspace(−0.6,
 * 0.4, 20), a 4×5 matrix flattened, and a non-zero starting velocity v = linspace(0.6, 0.9, 20); lr = 1e-2, ρ = 0.9.
 */
class OptimizerGoldenTest {
  static float[] linspace(double a, double b, int n) {
    float[] x = new float[n];
    for (int i = 0; i < n; i++) x[i] = (float) (a + (b - a) * i / (n - 1));
    return x;
  }

  static final float[] W = linspace(-0.4, 0.6, 20), DW = linspace(-0.6, 0.4, 20), V = linspace(0.6, 0.9, 20);

  @Test
  void sgd() {
    float[] expected = {-0.394000000f, -0.341894737f, -0.289789474f, -0.237684211f, -0.185578947f, -0.133473684f,
        -0.081368421f, -0.029263158f, 0.022842105f, 0.074947368f, 0.127052632f, 0.179157895f, 0.231263158f,
        0.283368421f, 0.335473684f, 0.387578947f, 0.439684211f, 0.491789474f, 0.543894737f, 0.596000000f};
    Stepper<?> s = Stepper.start(Optimizers.sgd(Schedule.constant(1e-2)), W);
    Tolerance.assertClose(expected, s.step(DW, W), 0, 1e-6, "sgd");
  }

  @Test
  void momentumFromNonZeroVelocity() {
    float[] expectedV = {-0.060000000f, 0.006842105f, 0.073684211f, 0.140526316f, 0.207368421f, 0.274210526f,
        0.341052632f, 0.407894737f, 0.474736842f, 0.541578947f, 0.608421053f, 0.675263158f, 0.742105263f,
        0.808947368f, 0.875789474f, 0.942631579f, 1.009473684f, 1.076315789f, 1.143157895f, 1.210000000f};
    float[] expectedW = {-0.399400000f, -0.347436842f, -0.295473684f, -0.243510526f, -0.191547368f, -0.139584211f,
        -0.087621053f, -0.035657895f, 0.016305263f, 0.068268421f, 0.120231579f, 0.172194737f, 0.224157895f,
        0.276121053f, 0.328084211f, 0.380047368f, 0.432010526f, 0.483973684f, 0.535936842f, 0.587900000f};
    var momentum = GradientTransform.chain(Blocks.trace(0.9), Blocks.scaleByLearningRate(Schedule.constant(1e-2)));
    var state = new GradientTransform.Pair<>(new Blocks.Velocity(V.clone()), new Blocks.StepCount(0));
    var step = momentum.update(DW, state, W);
    Tolerance.assertClose(expectedV, step.state().first().v(), 0, 1e-6, "velocity");
    Tolerance.assertClose(expectedW, Optimizers.apply(W, step.updates()), 0, 1e-6, "weights");
    assertEquals(1, step.state().second().step());
  }

  @Test
  void momentumStartsFromZeroVelocityAndFirstStepIsSgd() {
    var momentum = GradientTransform.chain(Blocks.trace(0.9), Blocks.scaleByLearningRate(Schedule.constant(1e-2)));
    var state = momentum.init(W);
    assertArrayEquals(new float[20], state.first().v());
    float[] viaMomentum = Optimizers.apply(W, momentum.update(DW, state, W).updates());
    float[] viaSgd = Stepper.start(Optimizers.sgd(Schedule.constant(1e-2)), W).step(DW, W);
    assertArrayEquals(viaSgd, viaMomentum);
  }

  @Test
  void updatesDoNotMutateInputs() {
    float[] w = W.clone(), g = DW.clone(), v = V.clone();
    var t = Blocks.trace(0.9);
    t.update(g, new Blocks.Velocity(v), w);
    assertArrayEquals(W, w);
    assertArrayEquals(DW, g);
    assertArrayEquals(V, v);
  }

  @Test
  void nonsenseHyperparametersNameTheSetting() {
    assertEquals("optimizer.learning_rate must be a positive number, got -0.1",
        assertThrows(UserError.class, () -> Schedule.constant(-0.1)).getMessage());
    assertEquals("optimizer.momentum must be in [0, 1), got 1.0",
        assertThrows(UserError.class, () -> Blocks.trace(1.0)).getMessage());
    assertThrows(UserError.class, () -> Optimizers.byName("adamw", Schedule.constant(1), 0.9));
  }
}
