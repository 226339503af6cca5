package dev.sparktrain.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.sparktrain.UserError;
import dev.sparktrain.testing.Tolerance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Nonsense hyperparameters fail at construction with the exact one-line message; good specs build what they say. */
class OptimizerSpecTest {
  static final Schedule LR = Schedule.constant(1e-2);

  static String error(Executable e) {
    String message = assertThrows(UserError.class, e).getMessage();
    assertEquals(-1, message.indexOf('\n'), "one line");
    return message;
  }

  static OptimizerSpec adam(double beta1, double beta2, double eps) {
    return new OptimizerSpec("adam", 0.9, beta1, beta2, eps, 0.99, 0);
  }

  @Test
  void beta1OfOneIsRejected() {
    assertEquals("optimizer.beta1 = 1.0: must be in [0, 1)", error(() -> adam(1.0, 0.999, 1e-8)));
    assertEquals("optimizer.beta1 = 1.2: must be in [0, 1)", error(() -> Optimizers.adam(LR, 1.2, 0.999, 1e-8)));
  }

  @Test
  void beta2OfOneIsRejected() {
    assertEquals("optimizer.beta2 = 1.0: must be in [0, 1)", error(() -> adam(0.9, 1.0, 1e-8)));
    assertEquals("optimizer.beta2 = 1.5: must be in [0, 1)",
        error(() -> Optimizers.adamw(LR, 0.9, 1.5, 1e-8, 0.01)));
  }

  @Test
  void negativeEpsIsRejected() {
    assertEquals("optimizer.eps = -1.0E-8: must be ≥ 0", error(() -> adam(0.9, 0.999, -1e-8)));
    assertEquals("optimizer.eps = -1.0E-8: must be ≥ 0", error(() -> Optimizers.adagrad(LR, -1e-8)));
  }

  @Test
  void nonFiniteEpsIsRejected() {
    assertEquals("optimizer.eps = Infinity: must be finite", error(() -> adam(0.9, 0.999, Double.POSITIVE_INFINITY)));
    assertEquals("optimizer.eps = NaN: must be ≥ 0", error(() -> Optimizers.rmsprop(LR, 0.99, Double.NaN)));
  }

  @Test
  void negativeDecayIsRejected() {
    assertEquals("optimizer.decay = -0.5: must be in [0, 1)", error(() -> Optimizers.rmsprop(LR, -0.5, 1e-8)));
    assertEquals("optimizer.decay = 1.0: must be in [0, 1)",
        error(() -> new OptimizerSpec("rmsprop", 0.9, 0.9, 0.999, 1e-8, 1.0, 0)));
  }

  @Test
  void momentumOfOneIsRejected() {
    assertEquals("optimizer.momentum = 1.0: must be in [0, 1)", error(() -> Optimizers.momentum(LR, 1.0)));
    assertEquals("optimizer.momentum = -0.1: must be in [0, 1)", error(() -> Optimizers.nesterov(LR, -0.1)));
  }

  @Test
  void negativeWeightDecayIsRejected() {
    assertEquals("optimizer.weight_decay = -0.01: must be ≥ 0",
        error(() -> Optimizers.adamw(LR, 0.9, 0.999, 1e-8, -0.01)));
    assertEquals("optimizer.weight_decay = -1.0: must be ≥ 0", error(() -> Blocks.addL2(-1, null)));
  }

  @Test
  void nonPositiveClipNormIsRejected() {
    assertEquals("optimizer.clip_norm = 0.0: must be > 0", error(() -> Blocks.clipByGlobalNorm(0)));
  }

  @Test
  void unknownOptimizerNameIsRejected() {
    String expected = "optimizer.name = adamax: unknown optimizer (known: sgd, momentum, nesterov, adagrad, rmsprop, "
        + "adam, adamw)";
    assertEquals(expected, error(() -> OptimizerSpec.defaults("adamax")));
    assertEquals(expected, error(() -> Optimizers.byName("adamax", LR, 0.9)));
  }

  @Test
  void namesAreCaseInsensitive() {
    assertEquals("nesterov", OptimizerSpec.defaults(" Nesterov ").name());
  }

  @Test
  void weightDecayIsL2ForAllButAdamw() {
    // sgd with λ = 0.1: x' = x − lr·(g + λ·x), the same numbers as addL2 then sgd
    float[] w = OptimizerGoldenTest.W, g = OptimizerGoldenTest.DW, expected = new float[20];
    for (int i = 0; i < 20; i++) expected[i] = (float) (w[i] - 1e-2 * (g[i] + 0.1 * w[i]));
    var sgd = OptimizerSpec.defaults("sgd").withWeightDecay(0.1).build(LR);
    Tolerance.assertClose(expected, Stepper.start(sgd, w).step(g, w), 0, 1e-7, "sgd + L2");
  }
}
