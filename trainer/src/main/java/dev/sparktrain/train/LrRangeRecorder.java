package dev.sparktrain.train;

import dev.sparktrain.optim.Schedule;
import dev.sparktrain.optim.Schedules;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Runs and records the learning-rate range test (Smith 2017, "Cyclical Learning Rates for Training Neural
 * Networks", section 3.3): at train start it sets the loop's schedule to {@link Schedules#exponentialRange}, after
 * each step it records (step, lr, loss, smoothed loss), it stops the run after {@code steps} steps or when the loss
 * diverges, and it suggests a learning rate from the curve.
 *
 * <p>The smoothed loss is the bias-corrected exponential moving average of the step losses (as in Adam), with
 * β = {@value #BETA}:
 * <pre>
 * avg₀ = 0,   avg_n = β · avg_(n−1) + (1 − β) · loss_n,   smoothed_n = avg_n / (1 − βⁿ)</pre>
 * The run stops as diverged at the first step n &gt; 1 whose smoothed loss exceeds {@value #DIVERGENCE} × the
 * lowest smoothed loss of the steps before it. A step whose loss is not finite is not recorded and ends the range
 * (when the loop's {@link FiniteCheck} failed such a step first, the caller says so with {@link #stopAtNonFinite}).
 *
 * <p>The suggestions ({@link #suggestion}):
 * <ul>
 *   <li>{@code minLossLr}: the rate of the step with the lowest smoothed loss;</li>
 *   <li>{@code suggestedLr} = minLossLr / 10, a rate one decade below where the loss stops falling;</li>
 *   <li>{@code steepestLr}: the rate where the smoothed loss falls fastest per unit of log lr, by the central
 *       difference (s_(i+1) − s_(i−1)) / (ln η_(i+1) − ln η_(i−1)) at each interior point of the curve left after
 *       dropping its first ⌊n/10⌋ points (where the average has seen few steps); NaN when no difference is
 *       negative.</li>
 * </ul>
 * The average lags the raw loss by about β / (1 − β) = 49 steps, so both rates lie a little to the right of the
 * raw curve's features. Thread-safe.
 */
public final class LrRangeRecorder implements Callback {
  /** The smoothing factor of the loss's moving average. */
  public static final double BETA = 0.98;
  /** The run stops when the smoothed loss exceeds this multiple of the best so far. */
  public static final double DIVERGENCE = 4;
  private static final int REPORT_EVERY = 10;

  /** One step of the range (step 0-based, as the schedule counts it). */
  public record Point(long step, double lr, double loss, double smoothedLoss) {}

  /** The rates the curve suggests (see the class comment); NaN when there are too few points. */
  public record Suggestion(double suggestedLr, double steepestLr, double minLossLr) {}

  private final Schedule schedule;
  private final int steps;
  private final Progress progress;
  private final List<Point> points = new ArrayList<>();
  private long nextStep;
  private double average;
  private double best = Double.POSITIVE_INFINITY;
  private String stopReason;

  /** The range from minLr to maxLr over steps steps (lr_range.*), reporting every 10 steps to progress. */
  public LrRangeRecorder(double minLr, double maxLr, int steps, Progress progress) {
    this.schedule = Schedules.exponentialRange(minLr, maxLr, steps);
    this.steps = steps;
    this.progress = progress;
  }

  @Override
  public synchronized void onTrainStart(TrainStart e, LoopControl loop) {
    nextStep = e.start().step();
    loop.replaceSchedule(schedule);
  }

  @Override
  public synchronized void onStepEnd(StepEnd e, LoopControl loop) {
    nextStep = e.step() + 1;
    if (!Double.isFinite(e.loss())) {
      stop(loop, nonFinite(e.step(), e.lr()));
      return;
    }
    int n = points.size() + 1;
    average = BETA * average + (1 - BETA) * e.loss();
    double smoothed = average / (1 - Math.pow(BETA, n));
    points.add(new Point(e.step(), e.lr(), e.loss(), smoothed));
    if (n % REPORT_EVERY == 0) {
      progress.info(String.format(Locale.ROOT, "lr range: step %d/%d  lr %.3g  loss %.4f  smoothed %.4f", n, steps,
          e.lr(), e.loss(), smoothed));
    }
    if (n > 1 && smoothed > DIVERGENCE * best) {
      stop(loop, String.format(Locale.ROOT, "diverged after %d steps at lr %.3g: the smoothed loss %.4g exceeds %.0f × "
          + "the best, %.4g", n, e.lr(), smoothed, DIVERGENCE, best));
    } else if (n >= steps) {
      stop(loop, "ran the " + steps + " steps of lr_range.steps");
    }
    best = Math.min(best, smoothed);
  }

  /**
   * Ends the range at the step after the last one recorded, which the loop's finite check failed before this
   * recorder saw it; the points so far stand. Returns the stop reason.
   */
  public synchronized String stopAtNonFinite() {
    stopReason = nonFinite(nextStep, schedule.at(nextStep));
    return stopReason;
  }

  private String nonFinite(long step, double lr) {
    return String.format(Locale.ROOT, "the loss or gradient was not finite at step %d (lr %.3g); the range ends after "
        + "the %d steps before it", step + 1, lr, points.size());
  }

  private void stop(LoopControl loop, String reason) {
    stopReason = reason;
    loop.stop(reason);
  }

  /** Why the range ended, or null while it runs. */
  public synchronized String stopReason() {
    return stopReason;
  }

  /** The points recorded so far, in step order. */
  public synchronized List<Point> points() {
    return List.copyOf(points);
  }

  /** The rates the curve so far suggests. */
  public synchronized Suggestion suggestion() {
    if (points.isEmpty()) return new Suggestion(Double.NaN, Double.NaN, Double.NaN);
    Point lowest = points.get(0);
    for (Point p : points) if (p.smoothedLoss() < lowest.smoothedLoss()) lowest = p;
    return new Suggestion(lowest.lr() / 10, steepestLr(), lowest.lr());
  }

  private double steepestLr() {
    int from = points.size() / 10;  // the first 10% are dropped
    double steepest = Double.NaN, slope = 0;
    for (int i = from + 1; i + 1 < points.size(); i++) {
      Point before = points.get(i - 1), after = points.get(i + 1);
      double run = Math.log(after.lr()) - Math.log(before.lr());
      if (!(run > 0)) continue;
      double s = (after.smoothedLoss() - before.smoothedLoss()) / run;
      if (s < slope) {
        slope = s;
        steepest = points.get(i).lr();
      }
    }
    return steepest;
  }

  @Override
  public String callbackName() {
    return "lr range";
  }
}
