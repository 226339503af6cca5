package dev.sparktrain.nn;

import dev.sparktrain.UserError;

/** Weight initializations: zero-mean normal with the standard deviation of He et al. 2015 or Glorot &amp; Bengio 2010. */
public enum Init {
  /** std = sqrt(2 / fan_in), for ReLU networks (He et al. 2015). */
  HE,
  /** std = sqrt(2 / (fan_in + fan_out)) (Glorot &amp; Bengio 2010). */
  XAVIER;

  public double std(int fanIn, int fanOut) {
    return this == HE ? Math.sqrt(2.0 / fanIn) : Math.sqrt(2.0 / (fanIn + fanOut));
  }

  public static Init parse(String s, String setting) {
    return switch (s.trim().toLowerCase(java.util.Locale.ROOT)) {
      case "he" -> HE;
      case "xavier", "glorot" -> XAVIER;
      default -> throw new UserError(setting + " = " + s + ": unknown initialization (choose he or xavier)");
    };
  }
}
