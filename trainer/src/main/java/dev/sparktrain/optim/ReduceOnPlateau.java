package dev.sparktrain.optim;

import dev.sparktrain.UserError;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reduce-on-plateau: a learning-rate scale that shrinks by {@code factor} when the validation loss stops
 * improving, as PyTorch's ReduceLROnPlateau (mode "min", threshold mode "rel"). It is fed once per epoch, after
 * validation, and each {@link #observe} returns the next state; a record is never changed.
 * <pre>
 * better   = loss &lt; best − threshold·|best|
 * best     ← loss if better;  bad ← better ? 0 : bad + 1
 * if cooldownLeft &gt; 0:  cooldownLeft ← cooldownLeft − 1;  bad ← 0
 * if bad &gt; patience:   scale ← max(scale·factor, minScale);  cooldownLeft ← cooldown;  bad ← 0</pre>
 * So the first reduction comes on the (patience + 1)-th epoch in a row without improvement, and after a
 * reduction the next {@code cooldown} epochs count no bad epochs. The scale starts at 1 and best at
 * {@link Double#MAX_VALUE} (not infinity, so that the state is plain finite numbers), so any finite first loss
 * is an improvement; a NaN loss never is. With {@code |best|} in the threshold the rule also works for negative
 * losses, where PyTorch's {@code best·(1 − threshold)} would demand a larger loss; for positive losses the two
 * agree.
 *
 * <p>With a step schedule the rate of step t is {@code schedule.at(t) · scale()} ({@link #lr}, {@link #applyTo}).
 * The floor minScale = min_lr / learning_rate bounds the plateau's own reduction, lr·scale ≥ min_lr, as in
 * PyTorch; a decaying schedule multiplies on top of that and follows its own floor. PyTorch's defaults are
 * factor 0.1, patience 10, threshold 1e-4, cooldown 0, min_lr 0. State memory: nine numbers; {@link #toState}
 * and {@link #fromState} carry them through a checkpoint exactly.
 */
public record ReduceOnPlateau(double factor, int patience, double threshold, int cooldown, double minScale,
    double scale, double best, int badEpochs, int cooldownLeft) {

  public ReduceOnPlateau {
    if (!(factor > 0 && factor < 1)) throw bad("plateau.factor", factor, "must be in (0, 1)");
    if (patience < 0) throw bad("plateau.patience", patience, "must be at least 0");
    if (!(threshold >= 0 && threshold < 1)) throw bad("plateau.threshold", threshold, "must be in [0, 1)");
    if (cooldown < 0) throw bad("plateau.cooldown", cooldown, "must be at least 0");
    if (!(minScale >= 0 && minScale <= 1)) throw bad("plateau state: min_scale", minScale, "must be in [0, 1]");
    if (!(scale >= minScale && scale <= 1)) throw bad("plateau state: scale", scale, "must be in [min_scale, 1]");
    if (Double.isNaN(best)) throw bad("plateau state: best", best, "must be a number");
    if (badEpochs < 0) throw bad("plateau state: bad_epochs", badEpochs, "must be at least 0");
    if (cooldownLeft < 0 || cooldownLeft > cooldown) {
      throw bad("plateau state: cooldown_left", cooldownLeft, "must be in [0, cooldown]");
    }
  }

  /**
   * The state before the first epoch, for a run whose optimizer.learning_rate is lr. Requires 0 &lt; factor &lt; 1,
   * patience ≥ 0, 0 ≤ threshold &lt; 1 (relative), cooldown ≥ 0 (epochs) and 0 ≤ minLr ≤ lr.
   */
  public static ReduceOnPlateau start(double lr, double factor, int patience, double threshold, int cooldown,
      double minLr) {
    Schedules.requireLr(lr);
    Schedules.requireAtLeast("plateau.min_lr", minLr, 0);
    if (minLr > lr) {
      throw new UserError("plateau.min_lr = " + Schedules.format(minLr) + ": must not exceed optimizer.learning_rate = "
          + Schedules.format(lr));
    }
    return new ReduceOnPlateau(factor, patience, threshold, cooldown, minLr / lr, 1.0, Double.MAX_VALUE, 0, 0);
  }

  /** The state after one more epoch whose validation loss is valLoss. */
  public ReduceOnPlateau observe(double valLoss) {
    boolean better = valLoss < best - threshold * Math.abs(best);
    double nextBest = better ? valLoss : best;
    int bad = better ? 0 : badEpochs + 1;
    int cool = cooldownLeft;
    if (cool > 0) {
      cool--;
      bad = 0;
    }
    double nextScale = scale;
    if (bad > patience) {
      nextScale = Math.max(scale * factor, minScale);
      cool = cooldown;
      bad = 0;
    }
    return new ReduceOnPlateau(factor, patience, threshold, cooldown, minScale, nextScale, nextBest, bad, cool);
  }

  /** The learning rate of a step: {@code schedule.at(step) · scale()}. */
  public double lr(Schedule schedule, long step) {
    return schedule.at(step) * scale;
  }

  /**
   * The schedule times this state's scale, fixed at its current value: rebuild the optimizer with it after each
   * {@link #observe}. The optimizer's own state (step count, velocity) carries over, since a transform holds none.
   * Restarts are those of the schedule.
   */
  public Schedule applyTo(Schedule schedule) {
    double s = scale;
    return new Schedule() {
      @Override public double at(long step) { return schedule.at(step) * s; }

      @Override public boolean isRestart(long step) { return schedule.isRestart(step); }
    };
  }

  /** Every number of the record by name, in declaration order, for a checkpoint. */
  public Map<String, Double> toState() {
    Map<String, Double> m = new LinkedHashMap<>();
    m.put("factor", factor);
    m.put("patience", (double) patience);
    m.put("threshold", threshold);
    m.put("cooldown", (double) cooldown);
    m.put("min_scale", minScale);
    m.put("scale", scale);
    m.put("best", best);
    m.put("bad_epochs", (double) badEpochs);
    m.put("cooldown_left", (double) cooldownLeft);
    return Collections.unmodifiableMap(m);
  }

  /** The record that {@link #toState} wrote; a missing or malformed entry is a one-line error naming it. */
  public static ReduceOnPlateau fromState(Map<String, Double> m) {
    return new ReduceOnPlateau(get(m, "factor"), count(m, "patience"), get(m, "threshold"), count(m, "cooldown"),
        get(m, "min_scale"), get(m, "scale"), get(m, "best"), count(m, "bad_epochs"), count(m, "cooldown_left"));
  }

  private static double get(Map<String, Double> m, String key) {
    Double v = m.get(key);
    if (v == null) throw new UserError("plateau state: " + key + " is missing");
    return v;
  }

  private static int count(Map<String, Double> m, String key) {
    double v = get(m, key);
    if (v != Math.rint(v) || Math.abs(v) > Integer.MAX_VALUE) {
      throw bad("plateau state: " + key, v, "must be an integer");
    }
    return (int) v;
  }

  private static UserError bad(String key, double value, String rule) {
    return new UserError(key + " = " + Schedules.format(value) + ": " + rule);
  }
}
