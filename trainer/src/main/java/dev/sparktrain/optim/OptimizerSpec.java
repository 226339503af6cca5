package dev.sparktrain.optim;

import dev.sparktrain.UserError;
import java.util.List;
import java.util.Locale;

/**
 * An optimizer chosen by name with its hyperparameters other than the learning rate, validated on construction so
 * that a bad config fails before training starts. {@link #build} turns it into a transform for a schedule.
 *
 * <p>Each optimizer reads only its own settings: momentum (momentum, nesterov), eps (adagrad, rmsprop, adam, adamw),
 * decay (rmsprop), beta1 and beta2 (adam, adamw). All are validated whatever the name, so a config never holds a
 * nonsense value that is merely unused. weightDecay is decoupled decay for adamw and an L2 term
 * ({@link Blocks#addL2}, added to the gradient first) for the others, as PyTorch's {@code weight_decay}; 0 adds no
 * block.
 *
 * @param name one of {@link #NAMES}, case-insensitive (stored in lower case)
 */
public record OptimizerSpec(String name, double momentum, double beta1, double beta2, double eps, double decay,
    double weightDecay) {

  /** The known optimizer names, in the order error messages list them. */
  public static final List<String> NAMES = List.of("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw");

  /** The defaults, in one place: momentum ρ, Adam's β1 and β2, ε, RMSprop's decay, and AdamW's λ (others: 0). */
  public static final double MOMENTUM = 0.9, BETA1 = 0.9, BETA2 = 0.999, EPS = 1e-8, DECAY = 0.99,
      ADAMW_WEIGHT_DECAY = 0.01;

  public OptimizerSpec {
    String normalized = name == null ? null : name.trim().toLowerCase(Locale.ROOT);
    if (!NAMES.contains(normalized)) {
      throw new UserError("optimizer.name = " + name + ": unknown optimizer (known: " + String.join(", ", NAMES) + ")");
    }
    name = normalized;
    Check.unitInterval("optimizer.momentum", momentum);
    Check.unitInterval("optimizer.beta1", beta1);
    Check.unitInterval("optimizer.beta2", beta2);
    Check.nonNegative("optimizer.eps", eps);
    Check.unitInterval("optimizer.decay", decay);
    Check.nonNegative("optimizer.weight_decay", weightDecay);
  }

  /** The named optimizer with every hyperparameter at its default. */
  public static OptimizerSpec defaults(String name) {
    OptimizerSpec spec = new OptimizerSpec(name, MOMENTUM, BETA1, BETA2, EPS, DECAY, 0);
    return spec.name().equals("adamw") ? spec.withWeightDecay(ADAMW_WEIGHT_DECAY) : spec;
  }

  /** This spec with another weight decay λ. */
  public OptimizerSpec withWeightDecay(double lambda) {
    return new OptimizerSpec(name, momentum, beta1, beta2, eps, decay, lambda);
  }

  /** The optimizer for a learning-rate schedule, weight decay (if any) applied to every parameter. */
  public GradientTransform<?> build(Schedule lr) {
    return build(lr, null);
  }

  /**
   * The optimizer for a learning-rate schedule, weight decay (if any) applied where {@code decayMask} is true (null:
   * everywhere); see {@link ParamMask}.
   */
  public GradientTransform<?> build(Schedule lr, boolean[] decayMask) {
    GradientTransform<?> base = switch (name) {
      case "sgd" -> Optimizers.sgd(lr);
      case "momentum" -> Optimizers.momentum(lr, momentum);
      case "nesterov" -> Optimizers.nesterov(lr, momentum);
      case "adagrad" -> Optimizers.adagrad(lr, eps);
      case "rmsprop" -> Optimizers.rmsprop(lr, decay, eps);
      case "adam" -> Optimizers.adam(lr, beta1, beta2, eps);
      case "adamw" -> Optimizers.adamw(lr, beta1, beta2, eps, weightDecay, decayMask);
      default -> throw new IllegalStateException(name); // the constructor admits only NAMES
    };
    if (weightDecay == 0 || name.equals("adamw")) return base;
    return GradientTransform.chain(Blocks.addL2(weightDecay, decayMask), base);
  }
}
