package dev.sparktrain.optim;

import dev.sparktrain.UserError;
import java.util.Locale;

/** Named optimizers, each a short chain of {@link Blocks}, and the one place that applies updates to parameters. */
public final class Optimizers {
  private Optimizers() {}

  /**
   * Plain stochastic gradient descent.
   * <pre>x ← x − α·g</pre>
   * State: a step counter. Memory: none per parameter.
   */
  public static GradientTransform<?> sgd(Schedule lr) {
    return Blocks.scaleByLearningRate(lr);
  }

  /**
   * SGD with momentum (Polyak 1964; as in Sutskever et al. 2013 and PyTorch).
   * <pre>
   * v ← ρ·v + g        (v₀ = 0)
   * x ← x − α·v</pre>
   * Default ρ = 0.9. Memory: one float per parameter.
   */
  public static GradientTransform<?> momentum(Schedule lr, double rho) {
    return GradientTransform.chain(Blocks.trace(rho), Blocks.scaleByLearningRate(lr));
  }

  /** Builds an optimizer by its config name; unknown names are a one-line error naming the setting. */
  public static GradientTransform<?> byName(String name, Schedule lr, double momentum) {
    return switch (name.trim().toLowerCase(Locale.ROOT)) {
      case "sgd" -> sgd(lr);
      case "momentum" -> momentum(lr, momentum);
      default -> throw new UserError("optimizer.name = " + name + ": unknown optimizer (known: sgd, momentum)");
    };
  }

  /** params + updates, as a new array. */
  public static float[] apply(float[] params, float[] updates) {
    float[] out = new float[params.length];
    for (int i = 0; i < params.length; i++) out[i] = params[i] + updates[i];
    return out;
  }
}
