package dev.sparktrain.optim;

/**
 * The building blocks that named optimizers chain together. Each is a pure {@link GradientTransform} over its own
 * immutable state record; the arrays inside a state are never written after the record is made.
 *
 * <p>Where a block sits in a chain decides what it means:
 * <ul>
 *   <li>{@link #addL2} and {@link #clipByGlobalNorm} act on the raw gradient, so they go first;
 *   <li>{@link #trace} and {@link #nesterovTrace} before {@link #scaleByLearningRate} keep the velocity in gradient
 *       units (PyTorch); after it they keep it in parameter units, learning rate included (Sutskever et al. 2013);
 *   <li>{@link #decoupledWeightDecay} goes after the adaptive scaling and before the learning rate;
 *   <li>{@link #freeze} goes last, so that nothing after it can move a frozen parameter.
 * </ul>
 * Arithmetic is done in double per element and rounded to float once, on the way out.
 */
public final class Blocks {
  private Blocks() {}

  /** The state of a block that keeps none. */
  public record NoState() {}

  /** The step count of a learning-rate scale. */
  public record StepCount(long step) {}

  /** The velocity of a momentum trace. */
  public record Velocity(float[] v) {}

  /** AdaGrad's running sum of squared gradients, G. */
  public record SumOfSquares(float[] sum) {}

  /** RMSprop's exponential moving average of squared gradients, s. */
  public record MeanSquare(float[] meanSquare) {}

  /** Adam's state: the number of updates made so far, and the first and second moment estimates m and v. */
  public record AdamState(long count, float[] mu, float[] nu) {}

  private static final NoState NONE = new NoState();

  /** updates ← −lr(step)·updates, then step ← step + 1. */
  public static GradientTransform<StepCount> scaleByLearningRate(Schedule lr) {
    return new GradientTransform<>() {
      @Override public StepCount init(float[] params) { return new StepCount(0); }

      @Override public Step<StepCount> update(float[] g, StepCount s, float[] params) {
        float scale = (float) -lr.at(s.step());
        float[] u = new float[g.length];
        Elementwise.forEach(g.length, (from, to) -> {
          for (int i = from; i < to; i++) u[i] = scale * g[i];
        });
        return new Step<>(u, new StepCount(s.step() + 1));
      }
    };
  }

  /**
   * A momentum trace: v ← ρ·v + u, updates ← v. The velocity starts at zero.
   * Chained before a learning-rate scale this is PyTorch's SGD momentum; chained after one it is Sutskever's form
   * v ← ρv − αg, x ← x + v. The two agree whenever α is constant.
   */
  public static GradientTransform<Velocity> trace(double rho) {
    double r = Check.unitInterval("optimizer.momentum", rho);
    return new GradientTransform<>() {
      @Override public Velocity init(float[] params) { return new Velocity(new float[params.length]); }

      @Override public Step<Velocity> update(float[] g, Velocity s, float[] params) {
        float[] v = new float[g.length], prev = s.v();
        float rf = (float) r;
        Elementwise.forEach(g.length, (from, to) -> {
          for (int i = from; i < to; i++) v[i] = rf * prev[i] + g[i];
        });
        return new Step<>(v, new Velocity(v));
      }
    };
  }

  /**
   * A Nesterov trace: v ← ρ·v_prev + u, updates ← v + ρ(v − v_prev) = ρ²·v_prev + (1 + ρ)·u. The velocity starts at
   * zero. After a learning-rate scale (u = −α_t g) this is the change-of-variables form of Nesterov's method
   * (Bengio et al. 2013); before one it is PyTorch's {@code nesterov=True}, updates ← g + ρ·v.
   */
  public static GradientTransform<Velocity> nesterovTrace(double rho) {
    double r = Check.unitInterval("optimizer.momentum", rho);
    return new GradientTransform<>() {
      @Override public Velocity init(float[] params) { return new Velocity(new float[params.length]); }

      @Override public Step<Velocity> update(float[] u, Velocity s, float[] params) {
        float[] v = new float[u.length], out = new float[u.length], vPrev = s.v();
        float rf = (float) r;
        Elementwise.forEach(u.length, (from, to) -> {
          for (int i = from; i < to; i++) {
            float prev = vPrev[i], next = rf * prev + u[i];
            v[i] = next;
            out[i] = next + rf * (next - prev);
          }
        });
        return new Step<>(out, new Velocity(v));
      }
    };
  }

  /** AdaGrad's scaling: G ← G + g², updates ← g / (√G + ε). G starts at zero; ε sits outside the root. */
  public static GradientTransform<SumOfSquares> scaleByRss(double eps) {
    Check.nonNegative("optimizer.eps", eps);
    return new GradientTransform<>() {
      @Override public SumOfSquares init(float[] params) { return new SumOfSquares(new float[params.length]); }

      @Override public Step<SumOfSquares> update(float[] g, SumOfSquares s, float[] params) {
        float[] sum = new float[g.length], out = new float[g.length], prev = s.sum();
        float e = (float) eps;
        Elementwise.forEach(g.length, (from, to) -> {
          for (int i = from; i < to; i++) {
            float gi = g[i], total = prev[i] + gi * gi;
            sum[i] = total;
            out[i] = gi / ((float) Math.sqrt(total) + e);
          }
        });
        if (e == 0) zeroWhereUndefined(out, sum);
        return new Step<>(out, new SumOfSquares(sum));
      }
    };
  }

  /** RMSprop's scaling: s ← ρ·s + (1 − ρ)·g², updates ← g / (√s + ε). s starts at zero; ε sits outside the root. */
  public static GradientTransform<MeanSquare> scaleByRms(double decay, double eps) {
    double rho = Check.unitInterval("optimizer.decay", decay);
    Check.nonNegative("optimizer.eps", eps);
    return new GradientTransform<>() {
      @Override public MeanSquare init(float[] params) { return new MeanSquare(new float[params.length]); }

      @Override public Step<MeanSquare> update(float[] g, MeanSquare s, float[] params) {
        float[] ms = new float[g.length], out = new float[g.length], prev = s.meanSquare();
        float r = (float) rho, r1 = (float) (1 - rho), e = (float) eps;
        Elementwise.forEach(g.length, (from, to) -> {
          for (int i = from; i < to; i++) {
            float gi = g[i], avg = r * prev[i] + r1 * gi * gi;
            ms[i] = avg;
            out[i] = gi / ((float) Math.sqrt(avg) + e);
          }
        });
        if (e == 0) zeroWhereUndefined(out, ms);
        return new Step<>(out, new MeanSquare(ms));
      }
    };
  }

  /**
   * Adam's scaling with bias correction. With t = count + 1:
   * <pre>
   * m ← β1·m + (1 − β1)·g          m̂ = m / (1 − β1^t)
   * v ← β2·v + (1 − β2)·g²         v̂ = v / (1 − β2^t)
   * updates ← m̂ / (√v̂ + ε)        (ε outside the root)</pre>
   */
  public static GradientTransform<AdamState> scaleByAdam(double beta1, double beta2, double eps) {
    double b1 = Check.unitInterval("optimizer.beta1", beta1);
    double b2 = Check.unitInterval("optimizer.beta2", beta2);
    Check.nonNegative("optimizer.eps", eps);
    return new GradientTransform<>() {
      @Override public AdamState init(float[] params) {
        return new AdamState(0, new float[params.length], new float[params.length]);
      }

      @Override public Step<AdamState> update(float[] g, AdamState s, float[] params) {
        long t = s.count() + 1;
        double c1 = 1 - Math.pow(b1, t), c2 = 1 - Math.pow(b2, t);
        float[] mu = new float[g.length], nu = new float[g.length], out = new float[g.length];
        float[] m0 = s.mu(), v0 = s.nu();
        // float32 throughout, with the step's constants folded in double first: m̂/(√v̂ + ε) = (m/c1)/(√v·(1/√c2) + ε)
        float f1 = (float) b1, g1 = (float) (1 - b1), f2 = (float) b2, g2 = (float) (1 - b2);
        float ic1 = (float) (1 / c1), isc2 = (float) (1 / Math.sqrt(c2)), e = (float) eps;
        Elementwise.forEach(g.length, (from, to) -> {
          for (int i = from; i < to; i++) {
            float gi = g[i], m = f1 * m0[i] + g1 * gi, v = f2 * v0[i] + g2 * gi * gi;
            mu[i] = m;
            nu[i] = v;
            out[i] = (m * ic1) / ((float) Math.sqrt(v) * isc2 + e);
          }
        });
        if (e == 0) zeroWhereUndefined(out, nu);
        return new Step<>(out, new AdamState(t, mu, nu));
      }
    };
  }

  /**
   * L2 regularisation, the loss term ½λ‖W‖²: updates ← updates + λ·w where {@code mask} is true (null: everywhere).
   * It changes the gradient, so it goes first in a chain, before any adaptive scaling sees the gradient. Biases and
   * normalisation parameters are conventionally excluded; build the mask with {@link ParamMask}.
   */
  public static GradientTransform<NoState> addL2(double lambda, boolean[] mask) {
    return addScaledParams("addL2", lambda, mask);
  }

  /**
   * Decoupled weight decay (Loshchilov &amp; Hutter 2019): updates ← updates + λ·w where {@code mask} is true (null:
   * everywhere). The same sum as {@link #addL2}, placed after the adaptive scaling and before the learning-rate
   * scale, so that the decay is not divided by √v̂ and every parameter decays at the rate α·λ.
   */
  public static GradientTransform<NoState> decoupledWeightDecay(double lambda, boolean[] mask) {
    return addScaledParams("decoupledWeightDecay", lambda, mask);
  }

  private static GradientTransform<NoState> addScaledParams(String block, double lambda, boolean[] mask) {
    double l = Check.nonNegative("optimizer.weight_decay", lambda);
    boolean[] m = mask == null ? null : mask.clone();
    return new GradientTransform<>() {
      @Override public NoState init(float[] params) {
        ParamMask.checkSize(m, params.length, block);
        return NONE;
      }

      @Override public Step<NoState> update(float[] u, NoState s, float[] params) {
        ParamMask.checkSize(m, params.length, block);
        float[] out = new float[u.length];
        float lf = (float) l;
        Elementwise.forEach(u.length, (from, to) -> {
          if (m == null) {
            for (int i = from; i < to; i++) out[i] = u[i] + lf * params[i];
          } else {
            for (int i = from; i < to; i++) out[i] = m[i] ? u[i] + lf * params[i] : u[i];
          }
        });
        return new Step<>(out, NONE);
      }
    };
  }

  /**
   * Clipping by global norm: updates ← updates · min(1, maxNorm / ‖updates‖₂), the norm taken over all parameters
   * together, so the direction is kept. Placed first, it clips the raw gradient.
   */
  public static GradientTransform<NoState> clipByGlobalNorm(double maxNorm) {
    double max = Check.positive("optimizer.clip_norm", maxNorm);
    return new GradientTransform<>() {
      @Override public NoState init(float[] params) { return NONE; }

      @Override public Step<NoState> update(float[] u, NoState s, float[] params) {
        double sum = 0;
        for (float x : u) sum += (double) x * x;
        double norm = Math.sqrt(sum), scale = norm > max ? max / norm : 1;
        float[] out = new float[u.length];
        for (int i = 0; i < u.length; i++) out[i] = (float) (u[i] * scale);
        return new Step<>(out, NONE);
      }
    };
  }

  /**
   * Freezing for transfer learning: updates ← 0 where {@code frozen} is true. It must go LAST in a chain: any block
   * after it (a learning-rate scale adding nothing, but a decoupled weight decay adding λ·w) could move a frozen
   * parameter again. Frozen parameters then stay bit-identical, whatever their gradient.
   */
  public static GradientTransform<NoState> freeze(boolean[] frozen) {
    boolean[] f = frozen.clone();
    return new GradientTransform<>() {
      @Override public NoState init(float[] params) {
        ParamMask.checkSize(f, params.length, "freeze");
        return NONE;
      }

      @Override public Step<NoState> update(float[] u, NoState s, float[] params) {
        ParamMask.checkSize(f, params.length, "freeze");
        float[] out = new float[u.length];
        // −0, not +0: x + (−0) is x for every x, whereas (−0) + (+0) is +0, which would flip a frozen −0's sign bit.
        for (int i = 0; i < u.length; i++) out[i] = f[i] ? -0.0f : u[i];
        return new Step<>(out, NONE);
      }
    };
  }

  /**
   * Per-parameter learning-rate multipliers (discriminative fine-tuning): updates ← m ⊙ updates. Placed after the
   * learning-rate scale and any decoupled weight decay, it scales a layer's whole step, as a per-layer learning
   * rate does; before {@link #freeze}.
   */
  public static GradientTransform<NoState> scaleByMultipliers(float[] multipliers) {
    float[] m = multipliers.clone();
    for (float v : m) {
      if (!(v >= 0) || !Float.isFinite(v)) throw new IllegalArgumentException("learning-rate multiplier " + v);
    }
    return new GradientTransform<>() {
      @Override public NoState init(float[] params) {
        if (m.length != params.length) throw new IllegalArgumentException("multipliers: " + m.length + " for " + params.length + " parameters");
        return NONE;
      }

      @Override public Step<NoState> update(float[] u, NoState s, float[] params) {
        float[] out = new float[u.length];
        Elementwise.forEach(u.length, (from, to) -> {
          for (int i = from; i < to; i++) out[i] = m[i] * u[i];
        });
        return new Step<>(out, NONE);
      }
    };
  }

  /**
   * With ε = 0 a coordinate whose gradient has always been 0 divides 0 by 0: its update is 0, not NaN. A NaN from
   * a diverged gradient (its denominator is NaN, not 0) stays NaN, so that it shows in the parameters.
   */
  private static void zeroWhereUndefined(float[] out, float[] squares) {
    for (int i = 0; i < out.length; i++) if (squares[i] == 0f) out[i] = 0f;
  }
}
