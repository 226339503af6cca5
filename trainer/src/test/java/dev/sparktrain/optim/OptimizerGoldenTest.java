package dev.sparktrain.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktrain.optim.Blocks.AdamState;
import dev.sparktrain.optim.Blocks.MeanSquare;
import dev.sparktrain.optim.Blocks.NoState;
import dev.sparktrain.optim.Blocks.StepCount;
import dev.sparktrain.optim.Blocks.SumOfSquares;
import dev.sparktrain.optim.Blocks.Velocity;
import dev.sparktrain.optim.GradientTransform.Pair;
import dev.sparktrain.testing.Tolerance;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * One update of each optimizer, from a non-zero starting state, against values computed from the published formula
 * in double precision outside this code base (python3, plain floats). Inputs: w = linspace(−0.4, 0.6, 20) and
 * dw = linspace(−0.6, 0.4, 20), a 4×5 matrix flattened; states v = m = linspace(0.6, 0.9, 20) and
 * cache = linspace(0.7, 0.5, 20); lr = 1e-2, ρ = 0.9, ε = 1e-8. Every comparison is to 1e-6 absolute.
 */
class OptimizerGoldenTest {
  static float[] linspace(double a, double b, int n) {
    float[] x = new float[n];
    for (int i = 0; i < n; i++) x[i] = (float) (a + (b - a) * i / (n - 1));
    return x;
  }

  static final float[] W = linspace(-0.4, 0.6, 20), DW = linspace(-0.6, 0.4, 20), V = linspace(0.6, 0.9, 20),
      M = linspace(0.6, 0.9, 20), CACHE = linspace(0.7, 0.5, 20);
  static final Schedule LR = Schedule.constant(1e-2);

  /** The factories return {@code GradientTransform<?>}; a test that builds a state by hand names its shape. */
  @SuppressWarnings("unchecked")
  static <S> GradientTransform<S> typed(GradientTransform<?> t) {
    return (GradientTransform<S>) t;
  }

  @Test
  void sgd() {
    // x − lr·g
    float[] expected = {-0.394000000f, -0.341894737f, -0.289789474f, -0.237684211f, -0.185578947f, -0.133473684f,
        -0.081368421f, -0.029263158f, 0.022842105f, 0.074947368f, 0.127052632f, 0.179157895f, 0.231263158f,
        0.283368421f, 0.335473684f, 0.387578947f, 0.439684211f, 0.491789474f, 0.543894737f, 0.596000000f};
    Stepper<?> s = Stepper.start(Optimizers.sgd(LR), W);
    Tolerance.assertClose(expected, s.step(DW, W), 0, 1e-6, "sgd");
  }

  @Test
  void momentumFromNonZeroVelocity() {
    // v' = ρ·v + g;  x' = x − lr·v'
    float[] expectedV = {-0.060000000f, 0.006842105f, 0.073684211f, 0.140526316f, 0.207368421f, 0.274210526f,
        0.341052632f, 0.407894737f, 0.474736842f, 0.541578947f, 0.608421053f, 0.675263158f, 0.742105263f,
        0.808947368f, 0.875789474f, 0.942631579f, 1.009473684f, 1.076315789f, 1.143157895f, 1.210000000f};
    float[] expectedW = {-0.399400000f, -0.347436842f, -0.295473684f, -0.243510526f, -0.191547368f, -0.139584211f,
        -0.087621053f, -0.035657895f, 0.016305263f, 0.068268421f, 0.120231579f, 0.172194737f, 0.224157895f,
        0.276121053f, 0.328084211f, 0.380047368f, 0.432010526f, 0.483973684f, 0.535936842f, 0.587900000f};
    GradientTransform<Pair<Velocity, StepCount>> momentum = typed(Optimizers.momentum(LR, 0.9));
    var step = momentum.update(DW, new Pair<>(new Velocity(V.clone()), new StepCount(0)), W);
    Tolerance.assertClose(expectedV, step.state().first().v(), 0, 1e-6, "velocity");
    Tolerance.assertClose(expectedW, Optimizers.apply(W, step.updates()), 0, 1e-6, "weights");
    assertEquals(1, step.state().second().step());
  }

  @Test
  void nesterovFromNonZeroVelocity() {
    // v' = ρ·v − lr·g;  x' = x + v' + ρ·(v' − v)   (v in parameter units, learning rate included)
    float[] expectedV = {0.546000000f, 0.559684211f, 0.573368421f, 0.587052632f, 0.600736842f, 0.614421053f,
        0.628105263f, 0.641789474f, 0.655473684f, 0.669157895f, 0.682842105f, 0.696526316f, 0.710210526f,
        0.723894737f, 0.737578947f, 0.751263158f, 0.764947368f, 0.778631579f, 0.792315789f, 0.806000000f};
    float[] expectedW = {0.097400000f, 0.161821053f, 0.226242105f, 0.290663158f, 0.355084211f, 0.419505263f,
        0.483926316f, 0.548347368f, 0.612768421f, 0.677189474f, 0.741610526f, 0.806031579f, 0.870452632f,
        0.934873684f, 0.999294737f, 1.063715789f, 1.128136842f, 1.192557895f, 1.256978947f, 1.321400000f};
    GradientTransform<Pair<StepCount, Velocity>> nesterov = typed(Optimizers.nesterov(LR, 0.9));
    var step = nesterov.update(DW, new Pair<>(new StepCount(0), new Velocity(V.clone())), W);
    Tolerance.assertClose(expectedV, step.state().second().v(), 0, 1e-6, "velocity");
    Tolerance.assertClose(expectedW, Optimizers.apply(W, step.updates()), 0, 1e-6, "weights");
  }

  @Test
  void adagradFromNonZeroSum() {
    // G' = G + g²;  x' = x − lr·g / (√G' + ε), G = cache
    float[] expectedG = {1.060000000f, 0.989085873f, 0.923711911f, 0.863878116f, 0.809584488f, 0.760831025f,
        0.717617729f, 0.679944598f, 0.647811634f, 0.621218837f, 0.600166205f, 0.584653740f, 0.574681440f,
        0.570249307f, 0.571357341f, 0.578005540f, 0.590193906f, 0.607922438f, 0.631191136f, 0.660000000f};
    float[] expectedW = {-0.394172285f, -0.341864620f, -0.289589228f, -0.237348632f, -0.185145088f, -0.132980372f,
        -0.080855518f, -0.028770526f, 0.023275946f, 0.075286848f, 0.127266917f, 0.179222701f, 0.231162381f,
        0.283095375f, 0.335031742f, 0.386981484f, 0.438953839f, 0.490956681f, 0.542996122f, 0.595076340f};
    GradientTransform<Pair<SumOfSquares, StepCount>> adagrad = typed(Optimizers.adagrad(LR, 1e-8));
    var step = adagrad.update(DW, new Pair<>(new SumOfSquares(CACHE.clone()), new StepCount(0)), W);
    Tolerance.assertClose(expectedG, step.state().first().sum(), 0, 1e-6, "sum of squares");
    Tolerance.assertClose(expectedW, Optimizers.apply(W, step.updates()), 0, 1e-6, "weights");
  }

  @Test
  void rmspropFromNonZeroMeanSquare() {
    // s' = 0.99·s + 0.01·g²;  x' = x − lr·g / (√s' + ε), s = cache
    float[] expectedS = {0.696600000f, 0.685575069f, 0.674605540f, 0.663691413f, 0.652832687f, 0.642029363f,
        0.631281440f, 0.620588920f, 0.609951801f, 0.599370083f, 0.588843767f, 0.578372853f, 0.567957341f,
        0.557597230f, 0.547292521f, 0.537043213f, 0.526849307f, 0.516710803f, 0.506627701f, 0.496600000f};
    float[] expectedW = {-0.392811149f, -0.340757648f, -0.288713337f, -0.236678479f, -0.184653350f, -0.132638239f,
        -0.080633446f, -0.028639288f, 0.023343908f, 0.075315797f, 0.127276018f, 0.179224192f, 0.231159923f,
        0.283082794f, 0.334992368f, 0.386888186f, 0.438769763f, 0.490636589f, 0.542488128f, 0.594323814f};
    GradientTransform<Pair<MeanSquare, StepCount>> rmsprop = typed(Optimizers.rmsprop(LR, 0.99, 1e-8));
    var step = rmsprop.update(DW, new Pair<>(new MeanSquare(CACHE.clone()), new StepCount(0)), W);
    Tolerance.assertClose(expectedS, step.state().first().meanSquare(), 0, 1e-6, "mean square");
    Tolerance.assertClose(expectedW, Optimizers.apply(W, step.updates()), 0, 1e-6, "weights");
  }

  /** m' = 0.9·m + 0.1·g, m = linspace(0.6, 0.9, 20). */
  static final float[] ADAM_M = {0.480000000f, 0.499473684f, 0.518947368f, 0.538421053f, 0.557894737f, 0.577368421f,
      0.596842105f, 0.616315789f, 0.635789474f, 0.655263158f, 0.674736842f, 0.694210526f, 0.713684211f, 0.733157895f,
      0.752631579f, 0.772105263f, 0.791578947f, 0.811052632f, 0.830526316f, 0.850000000f};
  /** v' = 0.999·v + 0.001·g², v = cache. */
  static final float[] ADAM_V = {0.699660000f, 0.689083823f, 0.678513186f, 0.667948089f, 0.657388532f, 0.646834515f,
      0.636286039f, 0.625743102f, 0.615205706f, 0.604673850f, 0.594147535f, 0.583626759f, 0.573111524f, 0.562601828f,
      0.552097673f, 0.541599058f, 0.531105983f, 0.520618449f, 0.510136454f, 0.499660000f};

  @Test
  void adamAtStepFiveFromNonZeroMoments() {
    // count 4 before the step, so t = 5: x' = x − lr·(m'/(1 − 0.9⁵)) / (√(v'/(1 − 0.999⁵)) + ε)
    float[] expectedW = {-0.400989883f, -0.348406338f, -0.295823594f, -0.243241678f, -0.190660620f, -0.138080453f,
        -0.085501209f, -0.032922923f, 0.019654367f, 0.072230622f, 0.124805802f, 0.177379860f, 0.229952752f,
        0.282524427f, 0.335094833f, 0.387663913f, 0.440231607f, 0.492797853f, 0.545362580f, 0.597925718f};
    GradientTransform<Pair<AdamState, StepCount>> adam = typed(Optimizers.adam(LR, 0.9, 0.999, 1e-8));
    var step = adam.update(DW, new Pair<>(new AdamState(4, M.clone(), CACHE.clone()), new StepCount(4)), W);
    Tolerance.assertClose(ADAM_M, step.state().first().mu(), 0, 1e-6, "m");
    Tolerance.assertClose(ADAM_V, step.state().first().nu(), 0, 1e-6, "v");
    assertEquals(5, step.state().first().count());
    Tolerance.assertClose(expectedW, Optimizers.apply(W, step.updates()), 0, 1e-6, "weights");
  }

  @Test
  void adamwAtStepFiveFromNonZeroMoments() {
    // as Adam, λ = 0.1: x' = x − lr·((m'/(1 − 0.9⁵)) / (√(v'/(1 − 0.999⁵)) + ε) + λ·x)
    float[] expectedW = {-0.400589883f, -0.348058970f, -0.295528857f, -0.242999573f, -0.190471147f, -0.137943611f,
        -0.085416998f, -0.032891344f, 0.019633314f, 0.072156938f, 0.124679486f, 0.177200913f, 0.229721173f,
        0.282240217f, 0.334757991f, 0.387274439f, 0.439789502f, 0.492303116f, 0.544815212f, 0.597325718f};
    GradientTransform<Pair<AdamState, Pair<NoState, StepCount>>> adamw =
        typed(Optimizers.adamw(LR, 0.9, 0.999, 1e-8, 0.1));
    var state = new Pair<>(new AdamState(4, M.clone(), CACHE.clone()), new Pair<>(new NoState(), new StepCount(4)));
    var step = adamw.update(DW, state, W);
    Tolerance.assertClose(ADAM_M, step.state().first().mu(), 0, 1e-6, "m");
    Tolerance.assertClose(ADAM_V, step.state().first().nu(), 0, 1e-6, "v");
    Tolerance.assertClose(expectedW, Optimizers.apply(W, step.updates()), 0, 1e-6, "weights");
  }

  @Test
  void epsilonSitsOutsideTheRoot() {
    // ε = 1e-8 is invisible beside √G ≈ 1; with ε = 0.5 the goldens above, with g/(√· + ε), tell it from g/√(· + ε).
    // adagrad: x − lr·g/(√G' + 0.5);  rmsprop: x − lr·g/(√s' + 0.5);  adam (t = 5): x − lr·m̂/(√v̂ + 0.5)
    float[] adagradW = {-0.396077311f, -0.343705937f, -0.291350783f, -0.239012429f, -0.186691270f, -0.134387446f,
        -0.082100767f, -0.029830637f, 0.022424015f, 0.074664790f, 0.126893839f, 0.179113842f, 0.231327938f,
        0.283539606f, 0.335752496f, 0.387970243f, 0.440196278f, 0.492433660f, 0.544684952f, 0.596952158f};
    float[] rmspropW = {-0.395504357f, -0.343246654f, -0.290992647f, -0.238742409f, -0.186496013f, -0.134253536f,
        -0.082015057f, -0.029780660f, 0.022449573f, 0.074675552f, 0.126897188f, 0.179114385f, 0.231327047f,
        0.283535072f, 0.335738355f, 0.387936787f, 0.440130254f, 0.492318639f, 0.544501820f, 0.596679667f};
    float[] adamW = {-0.400949778f, -0.348363979f, -0.295778911f, -0.243194601f, -0.190611073f, -0.138028357f,
        -0.085446482f, -0.032865479f, 0.019714619f, 0.072293778f, 0.124871961f, 0.177449129f, 0.230025241f,
        0.282600253f, 0.335174120f, 0.387746792f, 0.440318217f, 0.492888339f, 0.545457098f, 0.598024431f};
    GradientTransform<Pair<SumOfSquares, StepCount>> adagrad = typed(Optimizers.adagrad(LR, 0.5));
    GradientTransform<Pair<MeanSquare, StepCount>> rmsprop = typed(Optimizers.rmsprop(LR, 0.99, 0.5));
    GradientTransform<Pair<AdamState, StepCount>> adam = typed(Optimizers.adam(LR, 0.9, 0.999, 0.5));
    var a = adagrad.update(DW, new Pair<>(new SumOfSquares(CACHE.clone()), new StepCount(0)), W);
    var r = rmsprop.update(DW, new Pair<>(new MeanSquare(CACHE.clone()), new StepCount(0)), W);
    var m = adam.update(DW, new Pair<>(new AdamState(4, M.clone(), CACHE.clone()), new StepCount(4)), W);
    Tolerance.assertClose(adagradW, Optimizers.apply(W, a.updates()), 0, 1e-6, "adagrad");
    Tolerance.assertClose(rmspropW, Optimizers.apply(W, r.updates()), 0, 1e-6, "rmsprop");
    Tolerance.assertClose(adamW, Optimizers.apply(W, m.updates()), 0, 1e-6, "adam");
  }

  @Test
  void adamFirstStepIsTheLearningRateThanksToBiasCorrection() {
    GradientTransform<Pair<AdamState, StepCount>> adam = typed(Optimizers.adam(LR, 0.9, 0.999, 1e-8));
    var step = adam.update(DW, adam.init(W), W);
    for (int i = 0; i < W.length; i++) {
      // t = 1: m̂ = g and v̂ = g², so |Δx| = lr·|g| / (|g| + ε) ≈ lr wherever |g| ≫ ε (here |g| ≥ 0.02)
      assertEquals(1e-2, Math.abs(step.updates()[i]), 1e-2 * 1e-3, "coordinate " + i);
      // Without correction, m = 0.1·g and v = 0.001·g²: the step would be lr·0.1/√0.001 ≈ 3.16·lr, the "much
      // larger initial steps" Kingma & Ba warn of for β2 near 1.
      double m = step.state().first().mu()[i], v = step.state().first().nu()[i];
      double uncorrected = 1e-2 * Math.abs(m) / (Math.sqrt(v) + 1e-8);
      assertEquals(0.1 / Math.sqrt(0.001), uncorrected / 1e-2, 1e-4, "uncorrected, coordinate " + i);
      assertTrue(uncorrected > 3 * Math.abs(step.updates()[i]));
    }
  }

  @Test
  void momentumMethodsStartFromZeroVelocity() {
    GradientTransform<Pair<Velocity, StepCount>> momentum = typed(Optimizers.momentum(LR, 0.9));
    GradientTransform<Pair<StepCount, Velocity>> nesterov = typed(Optimizers.nesterov(LR, 0.9));
    assertArrayEquals(new float[20], momentum.init(W).first().v());
    assertArrayEquals(new float[20], nesterov.init(W).second().v());
  }

  @Test
  void momentumFirstStepIsSgd() {
    float[] viaMomentum = Stepper.start(Optimizers.momentum(LR, 0.9), W).step(DW, W);
    float[] viaSgd = Stepper.start(Optimizers.sgd(LR), W).step(DW, W);
    assertArrayEquals(viaSgd, viaMomentum);
  }

  @Test
  void nesterovFirstStepIsOnePlusRhoTimesSgd() {
    // v₀ = 0: v = −lr·g, x' = x + v + ρ·v = x − lr·(1 + ρ)·g
    float[] expected = new float[20];
    for (int i = 0; i < 20; i++) expected[i] = (float) (W[i] - 1e-2 * 1.9 * DW[i]);
    Tolerance.assertClose(expected, Stepper.start(Optimizers.nesterov(LR, 0.9), W).step(DW, W), 0, 1e-7, "nesterov");
  }

  @Test
  void updatesDoNotMutateInputsOrEarlierStates() {
    for (String name : OptimizerSpec.NAMES) {
      GradientTransform<Object> t = typed(OptimizerSpec.defaults(name).build(LR));
      float[] w = W.clone(), g = DW.clone();
      Object s0 = t.init(w);
      Object s1 = t.update(g, s0, w).state();
      String before = deepToString(s1);
      var s2 = t.update(g, s1, w);
      assertArrayEquals(W, w, name);
      assertArrayEquals(DW, g, name);
      assertEquals(before, deepToString(s1), name + ": the previous state changed");
      assertNotEquals(before, deepToString(s2.state()), name + ": the state did not move");
    }
  }

  @Test
  void zeroEpsilonAndZeroGradientGiveZeroButNanStaysNan() {
    // first steps for g = 1, ε = 0: adagrad −α·1/√1, rmsprop −α·1/√0.01 (no bias correction), adam −α·1/√1
    float[] g = {0f, Float.NaN, 1f};
    var cases = List.of(Optimizers.adagrad(LR, 0), Optimizers.rmsprop(LR, 0.99, 0), Optimizers.adam(LR, 0.9, 0.999, 0));
    float[] thirds = {-0.01f, -0.1f, -0.01f};
    for (int c = 0; c < cases.size(); c++) {
      float[] w = Stepper.start(cases.get(c), new float[3]).step(g, new float[3]);
      assertEquals(0f, w[0], "case " + c);
      assertTrue(Float.isNaN(w[1]), "case " + c);
      assertEquals(thirds[c], w[2], 1e-6, "case " + c);
    }
  }

  /** A state's printable form with its arrays expanded (records print arrays by identity). */
  static String deepToString(Object state) {
    if (state instanceof Pair<?, ?> p) return "(" + deepToString(p.first()) + ", " + deepToString(p.second()) + ")";
    if (state instanceof Velocity v) return Arrays.toString(v.v());
    if (state instanceof SumOfSquares s) return Arrays.toString(s.sum());
    if (state instanceof MeanSquare s) return Arrays.toString(s.meanSquare());
    if (state instanceof AdamState a) {
      return a.count() + Arrays.toString(a.mu()) + Arrays.toString(a.nu());
    }
    return String.valueOf(state);
  }

  @Test
  void everyNameBuildsAndDefaultsMatchTheJavadoc() {
    assertEquals(List.of("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"), OptimizerSpec.NAMES);
    OptimizerSpec adam = OptimizerSpec.defaults("Adam");
    assertEquals(new OptimizerSpec("adam", 0.9, 0.9, 0.999, 1e-8, 0.99, 0), adam);
    assertEquals(0.01, OptimizerSpec.defaults("adamw").weightDecay());
    // byName (the trainer's entry point) builds the same optimizer as the factory with the defaults
    float[] viaByName = Stepper.start(Optimizers.byName("adam", LR, 0.5), W).step(DW, W);
    float[] viaFactory = Stepper.start(Optimizers.adam(LR, 0.9, 0.999, 1e-8), W).step(DW, W);
    assertArrayEquals(viaFactory, viaByName);
  }
}
