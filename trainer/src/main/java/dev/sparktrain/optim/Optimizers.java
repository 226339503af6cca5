package dev.sparktrain.optim;

import static dev.sparktrain.optim.GradientTransform.chain;

/**
 * Named optimizers, each a short chain of {@link Blocks}, and the one place that applies updates to parameters.
 *
 * <p>Every factory returns a transform whose updates are added to the parameters ({@link #apply}); α_t is the
 * schedule's value at the step. Memory is the optimizer state per parameter, beyond the parameters and the
 * gradient themselves. Extra blocks compose around a named optimizer:
 * {@code chain(Blocks.clipByGlobalNorm(1), chain(Optimizers.adam(...), Blocks.freeze(frozen)))}.
 */
public final class Optimizers {
  private Optimizers() {}

  /**
   * Plain stochastic gradient descent.
   * <pre>
   * x ← x − α_t·g
   * Memory: 0 floats per parameter (a step counter).</pre>
   */
  public static GradientTransform<?> sgd(Schedule lr) {
    return Blocks.scaleByLearningRate(lr);
  }

  /**
   * SGD with momentum (Polyak 1964), in PyTorch's form.
   * <pre>
   * v ← ρ·v + g                      (v₀ = 0)
   * x ← x − α_t·v
   * Default ρ = 0.9.  Memory: 1 float per parameter.</pre>
   * Convention: Sutskever et al. (2013) write v ← ρ·v − α·g, x ← x + v, with the learning rate inside the velocity.
   * The two agree while α is constant; under a schedule this form applies today's α to the whole velocity, and
   * Sutskever's keeps each gradient at the α of its own step.
   */
  public static GradientTransform<?> momentum(Schedule lr, double rho) {
    return chain(Blocks.trace(rho), Blocks.scaleByLearningRate(lr));
  }

  /**
   * Nesterov's accelerated gradient (Nesterov 1983; Sutskever et al. 2013), in the change-of-variables form of
   * Bengio, Boulanger-Lewandowski &amp; Pascanu (2013), which needs the gradient only at the current point.
   * <pre>
   * v ← ρ·v − α_t·∇f(x)              (v₀ = 0)
   * x ← x + v + ρ·(v − v_prev)       = x + ρ²·v_prev − (1 + ρ)·α_t·∇f(x)
   * Default ρ = 0.9.  Memory: 1 float per parameter.</pre>
   * Convention: Sutskever's lookahead form v ← ρ·v − α·∇f(x + ρ·v), x ← x + v evaluates the gradient at a shifted
   * point; tracking x + ρ·v instead gives the rule above. PyTorch's {@code nesterov=True} (v ← ρ·v + g,
   * x ← x − α·(g + ρ·v)) is the same rule with the velocity in gradient units, v_here = −α·v_torch, while α is
   * constant. Here v holds the learning rate, so the first step is x − (1 + ρ)·α_0·g.
   */
  public static GradientTransform<?> nesterov(Schedule lr, double rho) {
    return chain(Blocks.scaleByLearningRate(lr), Blocks.nesterovTrace(rho));
  }

  /**
   * AdaGrad (Duchi, Hazan &amp; Singer 2011).
   * <pre>
   * G ← G + g²                       (G₀ = 0)
   * x ← x − α_t·g / (√G + ε)         (ε outside the root)
   * Default ε = 1e-8.  Memory: 1 float per parameter.</pre>
   * Convention: PyTorch also puts ε outside the root but defaults it to 1e-10; Keras starts G at 0.1 instead of 0.
   * The first step is ≈ α·sign(g); later steps shrink as G grows, so AdaGrad wants a larger α than Adam.
   */
  public static GradientTransform<?> adagrad(Schedule lr, double eps) {
    return chain(Blocks.scaleByRss(eps), Blocks.scaleByLearningRate(lr));
  }

  /**
   * RMSprop (Tieleman &amp; Hinton 2012, Coursera lecture 6.5).
   * <pre>
   * s ← ρ·s + (1 − ρ)·g²             (s₀ = 0)
   * x ← x − α_t·g / (√s + ε)         (ε outside the root)
   * Defaults ρ = 0.99, ε = 1e-8.  Memory: 1 float per parameter.</pre>
   * Convention: ρ = 0.99 and this ε placement follow PyTorch (its {@code alpha}); Keras defaults ρ to 0.9. There is no
   * bias correction, so the first steps are larger than α (by 1/√(1 − ρ) = 10 at step one with ρ = 0.99).
   */
  public static GradientTransform<?> rmsprop(Schedule lr, double decay, double eps) {
    return chain(Blocks.scaleByRms(decay, eps), Blocks.scaleByLearningRate(lr));
  }

  /**
   * Adam (Kingma &amp; Ba 2015), with bias correction.
   * <pre>
   * m ← β1·m + (1 − β1)·g            (m₀ = 0)
   * v ← β2·v + (1 − β2)·g²           (v₀ = 0)
   * m̂ = m / (1 − β1^t),  v̂ = v / (1 − β2^t)      (t = 1 on the first step)
   * x ← x − α_t·m̂ / (√v̂ + ε)         (ε outside the root)
   * Defaults β1 = 0.9, β2 = 0.999, ε = 1e-8.  Memory: 2 floats per parameter.</pre>
   * Convention: ε sits outside the root, as in the paper's Algorithm 1 and PyTorch. TensorFlow's form folds the
   * correction into the step size, α·√(1 − β2^t)/(1 − β1^t)·m / (√v + ε̂); that is this rule with
   * ε = ε̂ / √(1 − β2^t), so the same number means a larger ε early in training. Thanks to the correction the first
   * step is ≈ α per coordinate wherever |g| ≫ ε.
   */
  public static GradientTransform<?> adam(Schedule lr, double beta1, double beta2, double eps) {
    return chain(Blocks.scaleByAdam(beta1, beta2, eps), Blocks.scaleByLearningRate(lr));
  }

  /**
   * AdamW: Adam with decoupled weight decay (Loshchilov &amp; Hutter 2019), decaying every parameter.
   * See {@link #adamw(Schedule, double, double, double, double, boolean[])}.
   */
  public static GradientTransform<?> adamw(Schedule lr, double beta1, double beta2, double eps, double weightDecay) {
    return adamw(lr, beta1, beta2, eps, weightDecay, null);
  }

  /**
   * AdamW: Adam with decoupled weight decay (Loshchilov &amp; Hutter 2019), decaying the parameters where
   * {@code decayMask} is true (null: all; build it with {@link ParamMask}).
   * <pre>
   * m, v, m̂, v̂ as in Adam
   * x ← x − α_t·(m̂ / (√v̂ + ε) + λ·x)
   * Defaults β1 = 0.9, β2 = 0.999, ε = 1e-8, λ = 0.01 (PyTorch's).  Memory: 2 floats per parameter.</pre>
   * Convention: the decay is not divided by √v̂ (which is what "decoupled" means: Adam plus an L2 term would be). It
   * is scaled by α_t, as in PyTorch's AdamW; the paper writes x ← x − η_t·(α·m̂/(√v̂ + ε) + λ·x) with a separate
   * schedule multiplier η_t, so its λ equals α·λ here.
   */
  public static GradientTransform<?> adamw(Schedule lr, double beta1, double beta2, double eps, double weightDecay,
      boolean[] decayMask) {
    return chain(Blocks.scaleByAdam(beta1, beta2, eps),
        chain(Blocks.decoupledWeightDecay(weightDecay, decayMask), Blocks.scaleByLearningRate(lr)));
  }

  /**
   * Builds an optimizer by its config name, with the given momentum (used by momentum and nesterov) and the
   * {@link OptimizerSpec#defaults} for everything else. Unknown names are a one-line error naming the setting.
   */
  public static GradientTransform<?> byName(String name, Schedule lr, double momentum) {
    OptimizerSpec d = OptimizerSpec.defaults(name);
    return new OptimizerSpec(d.name(), momentum, d.beta1(), d.beta2(), d.eps(), d.decay(), d.weightDecay()).build(lr);
  }

  /** params + updates, as a new array. */
  public static float[] apply(float[] params, float[] updates) {
    float[] out = new float[params.length];
    Elementwise.forEach(params.length, (from, to) -> {
      for (int i = from; i < to; i++) out[i] = params[i] + updates[i];
    });
    return out;
  }
}
