package dev.sparktrain.optim;

import dev.sparktrain.UserError;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The named learning-rate schedules and the two ways to combine them ({@link #join} and {@link #warmup}), in
 * the manner of optax: every schedule is a pure function of the optimizer step t (0-based, one step per
 * update), so nothing about it needs saving in a checkpoint beyond the step count.
 *
 * <p>Units: every length here is in optimizer steps. {@link ScheduleSpec} converts the config's epoch counts
 * into steps. Rates are validated as they are built; the messages name the config key a value comes from
 * ({@code schedule.gamma = 2: must be in (0, 1]}), because that is where a user can fix it.
 */
public final class Schedules {
  private Schedules() {}

  /**
   * Step decay: the rate is multiplied by γ every stepSize steps (PyTorch's StepLR).
   * <pre>η(t) = η₀ · γ^⌊t / stepSize⌋</pre>
   * Requires 0 &lt; γ ≤ 1 and stepSize ≥ 1. The first reduced value is at t = stepSize.
   */
  public static Schedule stepDecay(double lr, double gamma, long stepSize) {
    requireLr(lr);
    requireGamma(gamma);
    requireAtLeast("schedule.step_size", stepSize, 1);
    return t -> lr * Math.pow(gamma, (double) (t / stepSize));
  }

  /**
   * Multi-step decay: the rate is multiplied by γ at each milestone (PyTorch's MultiStepLR; the ResNet recipe
   * of He et al. 2016, "Deep Residual Learning for Image Recognition", divides by 10 at fixed iterations).
   * <pre>η(t) = η₀ · γ^|{m ∈ milestones : m ≤ t}|</pre>
   * The milestones must be strictly ascending and at least 1; the rate at t = m is already reduced. No milestones
   * gives a constant rate.
   */
  public static Schedule multiStep(double lr, double gamma, long[] milestones) {
    requireLr(lr);
    requireGamma(gamma);
    long[] m = milestones.clone();
    requireMilestones(m);
    return t -> lr * Math.pow(gamma, countAtMost(m, t));
  }

  /** Per-step exponential decay, {@code exponential(lr, gamma, 1)}. */
  public static Schedule exponential(double lr, double gamma) {
    return exponential(lr, gamma, 1);
  }

  /**
   * Exponential decay by γ per transitionSteps steps (optax's exponential_decay, not staircased).
   * <pre>η(t) = η₀ · γ^(t / transitionSteps)</pre>
   * With transitionSteps = 1 this is γ per step. With transitionSteps = steps per epoch, γ is a per-epoch rate:
   * the value at each epoch boundary equals PyTorch's ExponentialLR stepped once per epoch, and within an epoch
   * it falls geometrically instead of in a stair. Requires 0 &lt; γ ≤ 1.
   */
  public static Schedule exponential(double lr, double gamma, long transitionSteps) {
    requireLr(lr);
    requireGamma(gamma);
    requirePositiveSteps(transitionSteps);
    return t -> lr * Math.pow(gamma, (double) t / transitionSteps);
  }

  /** Per-step inverse-time decay, {@code inverseTime(lr, k, 1)}. */
  public static Schedule inverseTime(double lr, double k) {
    return inverseTime(lr, k, 1);
  }

  /**
   * Inverse-time decay, the 1/t rate of stochastic approximation (Robbins &amp; Monro 1951; Bottou 2012,
   * "Stochastic Gradient Descent Tricks", recommends η₀ / (1 + η₀λt)).
   * <pre>η(t) = η₀ / (1 + k · t / transitionSteps)</pre>
   * k ≥ 0 is the decay per transitionSteps steps (per step when 1, per epoch when the steps per epoch); k = 0 is
   * a constant rate. The rate halves at t = transitionSteps / k.
   */
  public static Schedule inverseTime(double lr, double k, long transitionSteps) {
    requireLr(lr);
    requireAtLeast("schedule.decay", k, 0);
    requirePositiveSteps(transitionSteps);
    return t -> lr / (1 + k * t / transitionSteps);
  }

  /**
   * One half-cosine from lr down to minLr over totalSteps, then minLr: a single cycle of SGDR (Loshchilov &amp;
   * Hutter 2017, "SGDR: Stochastic Gradient Descent with Warm Restarts", eq. 5; optax's cosine_decay_schedule).
   * <pre>
   * η(t) = η_min + (η₀ − η_min) · (1 + cos(π · t / T)) / 2    for t &lt; T
   * η(t) = η_min                                             for t ≥ T</pre>
   * Requires T = totalSteps ≥ 1 and 0 ≤ minLr ≤ lr. The two pieces meet at t = T.
   */
  public static Schedule cosine(double lr, long totalSteps, double minLr) {
    requireLr(lr);
    requireAtLeast("schedule.total_steps", totalSteps, 1);
    requireMinLr(minLr, lr);
    return t -> t >= totalSteps ? minLr : minLr + (lr - minLr) * (1 + Math.cos(Math.PI * t / totalSteps)) / 2;
  }

  /**
   * Cosine annealing with warm restarts, SGDR (Loshchilov &amp; Hutter 2017, eq. 5; PyTorch's
   * CosineAnnealingWarmRestarts stepped per update). Cycle i lasts T_i = T₀ · mult^i steps and starts at
   * S_i = T₀ + T₀·mult + … + T₀·mult^(i−1), so the restarts are at T₀, T₀ + T₀·mult, …
   * <pre>η(t) = η_min + (η₀ − η_min) · (1 + cos(π · (t − S_i) / T_i)) / 2    for S_i ≤ t &lt; S_(i+1)</pre>
   * At a restart the rate jumps back to η₀; the step before it is the lowest of its cycle (η_min is reached
   * only in the limit). Requires period T₀ ≥ 1, mult ≥ 1 (integer, so that restarts fall on steps) and
   * 0 ≤ minLr ≤ lr. The result reports its restarts for snapshot ensembles (Huang et al. 2017).
   */
  public static CosineWarmRestarts cosineWarmRestarts(double lr, long period, long periodMult, double minLr) {
    return new CosineWarmRestarts(lr, period, periodMult, minLr);
  }

  /** SGDR's schedule, with its cycle boundaries exposed. See {@link Schedules#cosineWarmRestarts}. */
  public record CosineWarmRestarts(double lr, long period, long periodMult, double minLr) implements Schedule {
    public CosineWarmRestarts {
      requireLr(lr);
      requireAtLeast("schedule.period", period, 1);
      requireAtLeast("schedule.period_mult", periodMult, 1);
      requireMinLr(minLr, lr);
    }

    @Override public double at(long step) {
      long[] cycle = cycleOf(step);
      return minLr + (lr - minLr) * (1 + Math.cos(Math.PI * (step - cycle[0]) / cycle[1])) / 2;
    }

    @Override public boolean isRestart(long step) {
      return step > 0 && cycleOf(step)[0] == step;
    }

    /** The restart steps S₁ &lt; S₂ &lt; … that are ≤ step, in order (step 0 is not a restart). */
    public long[] restartsUpTo(long step) {
      List<Long> out = new java.util.ArrayList<>();
      long start = period, length = grow(period);
      while (start <= step) {
        out.add(start);
        if (start > Long.MAX_VALUE - length) break;
        start += length;
        length = grow(length);
      }
      return out.stream().mapToLong(Long::longValue).toArray();
    }

    /** {start, length} of the cycle that contains step. */
    private long[] cycleOf(long step) {
      if (periodMult == 1) return new long[] {step / period * period, period};
      long start = 0, length = period;
      while (step - start >= length) {
        start += length;
        length = grow(length);
      }
      return new long[] {start, length};
    }

    private long grow(long length) {
      return length > Long.MAX_VALUE / periodMult ? Long.MAX_VALUE : length * periodMult;
    }
  }

  /**
   * The learning-rate range test's rate (Smith 2017, "Cyclical Learning Rates for Training Neural Networks",
   * section 3.3): from lo at t = 0 up to hi at t = steps − 1 in equal ratios, then hi.
   * <pre>
   * η(t) = lo · (hi / lo)^(t / (steps − 1))    for t &lt; steps
   * η(t) = hi                                 for t ≥ steps</pre>
   * Consecutive steps differ by the constant factor (hi / lo)^(1 / (steps − 1)). Requires 0 &lt; lo &lt; hi, both
   * finite, and steps ≥ 2; the messages name the lr_range.* settings the values come from.
   */
  public static Schedule exponentialRange(double lo, double hi, long steps) {
    if (!(lo > 0) || Double.isInfinite(lo)) {
      throw new UserError("lr_range.min_lr = " + format(lo) + ": must be a positive number");
    }
    if (!(hi > lo) || Double.isInfinite(hi)) {
      throw new UserError("lr_range.max_lr = " + format(hi) + ": must be a finite number above lr_range.min_lr = "
          + format(lo));
    }
    requireAtLeast("lr_range.steps", steps, 2);
    double ratio = hi / lo, last = steps - 1;
    return t -> t >= last ? hi : lo * Math.pow(ratio, t / last);
  }

  /**
   * A straight line from {@code from} at t = 0 to {@code to} at t = steps, then {@code to} (optax's
   * linear_schedule).
   * <pre>η(t) = from + (to − from) · min(t, steps) / steps</pre>
   */
  public static Schedule linear(double from, double to, long steps) {
    requirePositiveSteps(steps);
    return t -> t >= steps ? to : from + (to - from) * t / steps;
  }

  /**
   * Linear warmup, then {@code after} started afresh: the gradual warmup of Goyal et al. 2017 ("Accurate, Large
   * Minibatch SGD"), built as optax builds it, {@code join([linear(startLr, after.at(0), W), after], [W])}.
   * <pre>
   * η(t) = startLr + (after(0) − startLr) · t / W    for t &lt; W
   * η(t) = after(t − W)                              for t ≥ W</pre>
   * Step W itself gets after(0), the peak, which is also where the line ends, so the joint is continuous; step
   * W − 1 gets startLr + (after(0) − startLr)·(W − 1)/W. Everything in {@code after} (decay epochs, restarts,
   * total length) is counted from the end of the warmup. Requires W ≥ 0 (0 returns after unchanged) and
   * 0 ≤ startLr ≤ after(0).
   */
  public static Schedule warmup(long warmupSteps, double startLr, Schedule after) {
    requireAtLeast("schedule.warmup_steps", warmupSteps, 0);
    requireAtLeast("schedule.warmup_start_lr", startLr, 0);
    double peak = after.at(0);
    if (startLr > peak) {
      throw new UserError("schedule.warmup_start_lr = " + format(startLr)
          + ": must not exceed optimizer.learning_rate = " + format(peak));
    }
    if (warmupSteps == 0) return after;
    return join(List.of(linear(startLr, peak, warmupSteps), after), new long[] {warmupSteps});
  }

  /**
   * Schedules one after another, each restarted at its boundary (optax's join_schedules): with boundaries
   * b₁ &lt; b₂ &lt; …, steps [0, b₁) use s₀(t), steps [b₁, b₂) use s₁(t − b₁), and so on; a boundary belongs to
   * the schedule it starts. Restarts of the pieces are shifted the same way; the boundaries are not restarts.
   *
   * @throws IllegalArgumentException unless there is one boundary fewer than schedules, ascending and ≥ 1
   */
  public static Schedule join(List<Schedule> schedules, long[] boundaries) {
    return new Join(List.copyOf(schedules), boundaries.clone());
  }

  private static final class Join implements Schedule {
    private final List<Schedule> pieces;
    private final long[] boundaries;

    Join(List<Schedule> pieces, long[] boundaries) {
      if (pieces.isEmpty() || boundaries.length != pieces.size() - 1) {
        throw new IllegalArgumentException(pieces.size() + " schedules need " + (pieces.size() - 1)
            + " boundaries, got " + boundaries.length);
      }
      for (int i = 0; i < boundaries.length; i++) {
        if (boundaries[i] < 1 || (i > 0 && boundaries[i] <= boundaries[i - 1])) {
          throw new IllegalArgumentException("boundaries must be ascending and at least 1: "
              + Arrays.toString(boundaries));
        }
      }
      this.pieces = pieces;
      this.boundaries = boundaries;
    }

    @Override public double at(long step) {
      int i = countAtMost(boundaries, step);
      return pieces.get(i).at(step - (i == 0 ? 0 : boundaries[i - 1]));
    }

    @Override public boolean isRestart(long step) {
      int i = countAtMost(boundaries, step);
      long local = step - (i == 0 ? 0 : boundaries[i - 1]);
      return local > 0 && pieces.get(i).isRestart(local);
    }
  }

  /** How many of the strictly ascending values are ≤ t. */
  static int countAtMost(long[] ascending, long t) {
    int i = Arrays.binarySearch(ascending, t);
    return i >= 0 ? i + 1 : -i - 1;
  }

  // Checks shared with ScheduleSpec and ReduceOnPlateau; each message is "key = value: rule".

  static void requireLr(double lr) {
    Schedule.constant(lr); // the one place the learning-rate rule and its message live
  }

  static void requireGamma(double gamma) {
    if (!(gamma > 0 && gamma <= 1)) throw new UserError("schedule.gamma = " + format(gamma) + ": must be in (0, 1]");
  }

  static void requireMinLr(double minLr, double lr) {
    requireAtLeast("schedule.min_lr", minLr, 0);
    if (minLr > lr) {
      throw new UserError("schedule.min_lr = " + format(minLr) + ": must not exceed optimizer.learning_rate = "
          + format(lr));
    }
  }

  static void requireMilestones(long[] m) {
    for (int i = 0; i < m.length; i++) {
      if (m[i] < 1) throw new UserError("schedule.milestones = " + commaList(m) + ": must be at least 1");
      if (i > 0 && m[i] <= m[i - 1]) {
        throw new UserError("schedule.milestones = " + commaList(m) + ": must be strictly ascending");
      }
    }
  }

  static void requireAtLeast(String key, long x, long min) {
    if (x < min) throw new UserError(key + " = " + x + ": must be at least " + min);
  }

  static void requireAtLeast(String key, double x, double min) {
    if (!Double.isFinite(x)) throw new UserError(key + " = " + format(x) + ": must be a finite number");
    if (x < min) throw new UserError(key + " = " + format(x) + ": must be at least " + format(min));
  }

  private static void requirePositiveSteps(long steps) {
    if (steps < 1) throw new IllegalArgumentException("a schedule's length in steps must be at least 1, got " + steps);
  }

  /** A number as a user would write it: 2 rather than 2.0. */
  static String format(double x) {
    return x == Math.rint(x) && Math.abs(x) < 1e15 ? Long.toString((long) x) : Double.toString(x);
  }

  static String commaList(long[] values) {
    return Arrays.stream(values).mapToObj(Long::toString).collect(Collectors.joining(","));
  }
}
