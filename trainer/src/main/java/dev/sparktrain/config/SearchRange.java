package dev.sparktrain.config;

import dev.sparktrain.UserError;
import java.util.Locale;

/**
 * One dimension of a random search, written {@code lo:hi} in a config (search.learning_rate = 1e-4:1e-1): sampled
 * log-uniformly for scale parameters (learning rate, weight decay), uniformly for others (dropout). A range whose
 * lo equals hi is a fixed value.
 */
public record SearchRange(double lo, double hi, boolean logScale) {
  public SearchRange {
    if (!(Double.isFinite(lo) && Double.isFinite(hi) && lo <= hi)) {
      throw new IllegalArgumentException("range " + lo + ":" + hi + ": needs finite lo ≤ hi");
    }
    if (logScale && !(lo > 0)) throw new IllegalArgumentException("log-uniform range " + lo + ":" + hi + ": needs lo > 0");
  }

  /** Parses lo:hi for the setting key (where: where it was set), checking lo and hi against min ≤ lo ≤ hi < max. */
  static SearchRange parse(String text, boolean logScale, double min, double max, String where) {
    String[] parts = text.trim().split(":");
    if (parts.length != 2) throw new UserError(where + " = " + text + ": expected a range lo:hi, e.g. 1e-4:1e-1");
    double lo, hi;
    try {
      lo = Double.parseDouble(parts[0].trim());
      hi = Double.parseDouble(parts[1].trim());
    } catch (NumberFormatException e) {
      throw new UserError(where + " = " + text + ": expected a range lo:hi of numbers");
    }
    if (!(lo <= hi) || !(lo >= min) || !(hi < max) || (logScale && !(lo > 0))) {
      throw new UserError(where + " = " + text + ": needs " + (logScale ? "0 < " : min + " ≤ ") + "lo ≤ hi"
          + (Double.isInfinite(max) ? "" : " < " + max));
    }
    return new SearchRange(lo, hi, logScale);
  }

  /** The value at u ∈ [0, 1): lo·(hi/lo)^u on a log scale, lo + (hi − lo)·u otherwise. */
  public double at(double u) {
    if (lo == hi) return lo;
    return logScale ? lo * Math.pow(hi / lo, u) : lo + (hi - lo) * u;
  }

  @Override
  public String toString() {
    return String.format(Locale.ROOT, "%s:%s", fmt(lo), fmt(hi));
  }

  private static String fmt(double v) {
    return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
  }
}
