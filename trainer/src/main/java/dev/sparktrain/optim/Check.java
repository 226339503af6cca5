package dev.sparktrain.optim;

import dev.sparktrain.UserError;

/**
 * Validates optimizer hyperparameters, failing with a one-line {@link UserError} that names the setting and its
 * value, e.g. {@code optimizer.beta1 = 1.0: must be in [0, 1)}.
 */
final class Check {
  private Check() {}

  /** 0 ≤ x &lt; 1: the decay rates of running averages (momentum, β1, β2, RMSprop's decay). */
  static double unitInterval(String setting, double x) {
    if (!(x >= 0 && x < 1)) throw fail(setting, x, "must be in [0, 1)");
    return x;
  }

  /** x ≥ 0 and finite: ε and weight decay. */
  static double nonNegative(String setting, double x) {
    if (!(x >= 0)) throw fail(setting, x, "must be ≥ 0");
    if (Double.isInfinite(x)) throw fail(setting, x, "must be finite");
    return x;
  }

  /** x &gt; 0: a clipping norm. */
  static double positive(String setting, double x) {
    if (!(x > 0)) throw fail(setting, x, "must be > 0");
    return x;
  }

  private static UserError fail(String setting, double x, String rule) {
    return new UserError(setting + " = " + x + ": " + rule);
  }
}
