package dev.sparktrain.optim;

import static dev.sparktrain.optim.GradientTransform.chain;
import static dev.sparktrain.optim.OptimizerGoldenTest.DW;
import static dev.sparktrain.optim.OptimizerGoldenTest.W;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.sparktrain.testing.Tolerance;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The shared blocks (clipping, L2, decoupled decay, freezing) and {@link ParamMask}, against values computed outside
 * this code base (python3, plain floats) on the inputs of {@link OptimizerGoldenTest}. The mask {@code first15}
 * treats the 4×5 matrix as a 3×5 weight block followed by a bias row of 5.
 */
class OptimizerBlocksTest {
  static final boolean[] FIRST_15 = ParamMask.of(20, new int[] {0, 15});

  /** dw + 0.1·w on the first 15 entries, dw on the last 5. */
  static final float[] DW_PLUS_DECAY = {-0.640000000f, -0.582105263f, -0.524210526f, -0.466315789f, -0.408421053f,
      -0.350526316f, -0.292631579f, -0.234736842f, -0.176842105f, -0.118947368f, -0.061052632f, -0.003157895f,
      0.054736842f, 0.112631579f, 0.170526316f, 0.189473684f, 0.242105263f, 0.294736842f, 0.347368421f, 0.400000000f};

  /** The updates of one step from the initial state. */
  static <S> float[] once(GradientTransform<S> t, float[] g, float[] w) {
    return t.update(g, t.init(w), w).updates();
  }

  @Test
  void clipByGlobalNormScalesTheWholeVector() {
    // ‖dw‖₂ = 1.429022485182754; g·min(1, 0.5/‖g‖)
    float[] expected = {-0.209933716f, -0.191518477f, -0.173103239f, -0.154688001f, -0.136272763f, -0.117857525f,
        -0.099442286f, -0.081027048f, -0.062611810f, -0.044196572f, -0.025781333f, -0.007366095f, 0.011049143f,
        0.029464381f, 0.047879619f, 0.066294858f, 0.084710096f, 0.103125334f, 0.121540572f, 0.139955810f};
    Tolerance.assertClose(expected, once(Blocks.clipByGlobalNorm(0.5), DW, W), 0, 1e-6, "clipped");
  }

  @Test
  void clipByGlobalNormLeavesSmallGradientsAlone() {
    assertArrayEquals(DW, once(Blocks.clipByGlobalNorm(1.43), DW, W));
    assertArrayEquals(new float[20], once(Blocks.clipByGlobalNorm(1), new float[20], W));
  }

  @Test
  void addL2AddsLambdaTimesWeightsOnlyWhereMasked() {
    float[] g = once(Blocks.addL2(0.1, FIRST_15), DW, W);
    Tolerance.assertClose(DW_PLUS_DECAY, g, 0, 1e-6, "l2");
    for (int i = 15; i < 20; i++) {
      assertEquals(Float.floatToRawIntBits(DW[i]), Float.floatToRawIntBits(g[i]), "masked-out gradient " + i);
    }
    Tolerance.assertClose(once(Blocks.addL2(0.1, ParamMask.allExcept(20)), DW, W), once(Blocks.addL2(0.1, null), DW,
        W), 0, 0, "null mask = all");
  }

  @Test
  void addL2IsTheGradientOfHalfLambdaNormSquared() {
    // ½λ‖w‖² has gradient λw: a central difference of the penalty matches the block's addition for a zero gradient
    double lambda = 0.3;
    float[] added = once(Blocks.addL2(lambda, null), new float[20], W);
    for (int i = 0; i < 20; i++) {
      double h = 1e-3, plus = 0.5 * lambda * (W[i] + h) * (W[i] + h), minus = 0.5 * lambda * (W[i] - h) * (W[i] - h);
      assertEquals((plus - minus) / (2 * h), added[i], 1e-6);
    }
  }

  @Test
  void decoupledWeightDecayGolden() {
    Tolerance.assertClose(DW_PLUS_DECAY, once(Blocks.decoupledWeightDecay(0.1, FIRST_15), DW, W), 0, 1e-6, "decay");
    // inside AdamW the decay is α·λ·w, added after the adaptive scaling: adamw − adam = −lr·λ·w where decayed, 0 elsewhere
    float[] adam = once(Optimizers.adam(Schedule.constant(1e-2), 0.9, 0.999, 1e-8), DW, W);
    float[] adamw = once(Optimizers.adamw(Schedule.constant(1e-2), 0.9, 0.999, 1e-8, 0.1, FIRST_15), DW, W);
    for (int i = 0; i < 20; i++) {
      assertEquals(i < 15 ? -1e-2 * 0.1 * W[i] : 0, adamw[i] - adam[i], 1e-8, "coordinate " + i);
    }
  }

  @Test
  void freezeKeepsFrozenParametersBitIdenticalOverManySteps() {
    float[] w0 = W.clone();
    w0[3] = -0.0f; // a sign bit that a +0 update would flip
    boolean[] frozen = ParamMask.of(20, new int[] {0, 5}, new int[] {15, 20});
    var t = chain(Optimizers.adamw(Schedule.constant(0.1), 0.9, 0.999, 1e-8, 0.5), Blocks.freeze(frozen));
    float[] w = run(t, w0, 500);
    for (int i = 0; i < 20; i++) {
      if (frozen[i]) {
        assertEquals(Float.floatToRawIntBits(w0[i]), Float.floatToRawIntBits(w[i]), "frozen parameter " + i);
      } else {
        assertNotEquals(w0[i], w[i], "trainable parameter " + i);
      }
    }
  }

  @Test
  void freezeBeforeDecoupledDecayWouldLeakWhichIsWhyItGoesLast() {
    boolean[] frozen = ParamMask.of(20, new int[] {0, 5});
    var wrongOrder = chain(Blocks.scaleByAdam(0.9, 0.999, 1e-8), chain(Blocks.freeze(frozen),
        chain(Blocks.decoupledWeightDecay(0.5, null), Blocks.scaleByLearningRate(Schedule.constant(0.1)))));
    float[] w = run(wrongOrder, W, 10);
    assertNotEquals(W[0], w[0]);
  }

  /** n steps on random gradients (seed 7), every 50th a thousand times larger. */
  static <S> float[] run(GradientTransform<S> t, float[] w0, int n) {
    Random rnd = new Random(7);
    Stepper<S> s = Stepper.start(t, w0);
    float[] w = w0;
    for (int k = 0; k < n; k++) {
      float[] g = new float[w.length];
      for (int i = 0; i < g.length; i++) g[i] = (float) (rnd.nextGaussian() * (k % 50 == 0 ? 1e3 : 1));
      w = s.step(g, w);
    }
    return w;
  }

  @Test
  void paramMaskBuildsFromRangesAndRejectsBadOnes() {
    assertArrayEquals(new boolean[] {false, true, true, false, true}, ParamMask.of(5, new int[] {1, 3}, new int[] {4, 5}));
    assertArrayEquals(new boolean[] {true, false, false, true, true}, ParamMask.allExcept(5, new int[] {1, 3}));
    assertThrows(IllegalArgumentException.class, () -> ParamMask.of(5, new int[] {3, 6}));
    assertThrows(IllegalArgumentException.class, () -> ParamMask.of(5, new int[] {3, 2}));
    var wrongSize = Blocks.freeze(new boolean[3]);
    assertThrows(IllegalArgumentException.class, () -> wrongSize.init(W));
  }
}
