package dev.sparktrain.optim;

import dev.sparktrain.UserError;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The {@code schedule.*} settings of a run, validated as they are read, and the {@link Schedule} they build.
 *
 * <p>Units follow the key names and PyTorch's habit of stepping schedulers once per epoch: {@code step_size},
 * {@code milestones} and {@code period} count epochs, and {@code gamma} and {@code decay} are rates per epoch;
 * {@code warmup_steps} and {@code total_steps} count optimizer steps. {@link #build} converts epochs to steps
 * with the run's steps per epoch, so the decaying schedules move smoothly within an epoch where their formula
 * is smooth (exponential, inverse time, the cosines) and in stairs at epoch boundaries otherwise.
 *
 * <p>{@code warmup_steps > 0} wraps any of them in {@link Schedules#warmup}; the wrapped schedule's epochs then
 * count from the end of the warmup. For {@code cosine} the decay ends at the run's last step, so it lasts
 * {@code total_steps − warmup_steps} steps, as in optax's warmup_cosine_decay_schedule.
 *
 * @param name one of {@link #NAMES}
 * @param stepSize {@code schedule.step_size}: epochs between decays of {@code step}
 * @param gamma {@code schedule.gamma}: the factor of {@code step}, {@code multistep} and {@code exponential}
 * @param milestones {@code schedule.milestones}: the epochs at which {@code multistep} decays, ascending
 * @param decay {@code schedule.decay}: k of {@code inverse_time}, per epoch
 * @param period {@code schedule.period}: the first cycle of {@code cosine_restarts}, in epochs
 * @param periodMult {@code schedule.period_mult}: how much longer each cycle of {@code cosine_restarts} is
 * @param minLr {@code schedule.min_lr}: the floor of {@code cosine} and {@code cosine_restarts}
 * @param warmupSteps {@code schedule.warmup_steps}: linear warmup length; 0 for none
 * @param warmupStartLr {@code schedule.warmup_start_lr}: the rate at step 0 of the warmup
 * @param totalSteps {@code schedule.total_steps}: the length of {@code cosine} including warmup; 0 for the run
 */
public record ScheduleSpec(String name, long stepSize, double gamma, List<Long> milestones, double decay,
    long period, long periodMult, double minLr, long warmupSteps, double warmupStartLr, long totalSteps) {

  /** The schedule names, as written in {@code schedule.name}. */
  public static final List<String> NAMES =
      List.of("constant", "step", "multistep", "exponential", "inverse_time", "cosine", "cosine_restarts");

  /** The defaults, in one place: a constant rate; the other values apply when a name picks them. */
  public static final ScheduleSpec DEFAULT =
      new ScheduleSpec("constant", 10, 0.1, List.of(), 1.0, 10, 1, 0.0, 0, 0.0, 0);

  public ScheduleSpec {
    String known = name.trim().toLowerCase(Locale.ROOT);
    if (!NAMES.contains(known)) {
      throw new UserError("schedule.name = " + name.trim() + ": unknown schedule (known: " + String.join(", ", NAMES)
          + ")");
    }
    name = known;
    milestones = List.copyOf(milestones);
    Schedules.requireAtLeast("schedule.step_size", stepSize, 1);
    Schedules.requireGamma(gamma);
    Schedules.requireMilestones(milestoneArray(milestones));
    if (name.equals("multistep") && milestones.isEmpty()) {
      throw new UserError("schedule.milestones = (none): multistep needs at least one epoch");
    }
    Schedules.requireAtLeast("schedule.decay", decay, 0);
    Schedules.requireAtLeast("schedule.period", period, 1);
    Schedules.requireAtLeast("schedule.period_mult", periodMult, 1);
    Schedules.requireAtLeast("schedule.min_lr", minLr, 0);
    Schedules.requireAtLeast("schedule.warmup_steps", warmupSteps, 0);
    Schedules.requireAtLeast("schedule.warmup_start_lr", warmupStartLr, 0);
    Schedules.requireAtLeast("schedule.total_steps", totalSteps, 0);
  }

  /**
   * The schedule for a run whose optimizer.learning_rate is lr, with stepsPerEpoch updates per epoch and
   * runSteps updates in all. Settings that depend on lr or on the run's length are checked here: min_lr and
   * warmup_start_lr must not exceed lr, and warmup_steps must be less than the total steps.
   */
  public Schedule build(double lr, long stepsPerEpoch, long runSteps) {
    if (stepsPerEpoch < 1 || runSteps < 1) {
      throw new IllegalArgumentException("steps per epoch and run steps must be positive, got " + stepsPerEpoch
          + " and " + runSteps);
    }
    Schedules.requireLr(lr);
    Schedules.requireMinLr(minLr, lr);
    long total = totalSteps > 0 ? totalSteps : runSteps;
    if (warmupSteps >= total) {
      throw new UserError("schedule.warmup_steps = " + warmupSteps + ": must be less than the total steps ("
          + total + ")");
    }
    Schedule main = switch (name) {
      case "constant" -> Schedule.constant(lr);
      case "step" -> Schedules.stepDecay(lr, gamma, steps("schedule.step_size", stepSize, stepsPerEpoch));
      case "multistep" -> Schedules.multiStep(lr, gamma, milestoneSteps(stepsPerEpoch));
      case "exponential" -> Schedules.exponential(lr, gamma, stepsPerEpoch);
      case "inverse_time" -> Schedules.inverseTime(lr, decay, stepsPerEpoch);
      case "cosine" -> Schedules.cosine(lr, total - warmupSteps, minLr);
      case "cosine_restarts" ->
          Schedules.cosineWarmRestarts(lr, steps("schedule.period", period, stepsPerEpoch), periodMult, minLr);
      default -> throw new IllegalStateException(name);
    };
    return Schedules.warmup(warmupSteps, warmupStartLr, main);
  }

  /** The settings that reproduce this spec, every key written out, for the resolved config of a saved model. */
  public Map<String, String> toSettings() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("schedule.name", name);
    m.put("schedule.step_size", Long.toString(stepSize));
    m.put("schedule.gamma", Double.toString(gamma));
    m.put("schedule.milestones", Schedules.commaList(milestoneArray(milestones)));
    m.put("schedule.decay", Double.toString(decay));
    m.put("schedule.period", Long.toString(period));
    m.put("schedule.period_mult", Long.toString(periodMult));
    m.put("schedule.min_lr", Double.toString(minLr));
    m.put("schedule.warmup_steps", Long.toString(warmupSteps));
    m.put("schedule.warmup_start_lr", Double.toString(warmupStartLr));
    m.put("schedule.total_steps", Long.toString(totalSteps));
    return m;
  }

  private long[] milestoneSteps(long stepsPerEpoch) {
    long[] m = milestoneArray(milestones);
    for (int i = 0; i < m.length; i++) m[i] = steps("schedule.milestones", m[i], stepsPerEpoch);
    return m;
  }

  private static long steps(String key, long epochs, long stepsPerEpoch) {
    try {
      return Math.multiplyExact(epochs, stepsPerEpoch);
    } catch (ArithmeticException e) {
      throw new UserError(key + " = " + epochs + ": too many epochs (" + stepsPerEpoch + " steps each)");
    }
  }

  private static long[] milestoneArray(List<Long> milestones) {
    return milestones.stream().mapToLong(Long::longValue).toArray();
  }
}
