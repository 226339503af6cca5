package dev.sparktrain.train;

import java.io.PrintStream;
import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * Progress on stderr: one line per epoch and, inside an epoch, a bar redrawn in place (at most {@link #BAR_NANOS}
 * apart) when stderr is a terminal, else a plain line at most every progress.every_seconds (0: none). Stdout is
 * reserved for the command's result.
 */
public final class Progress {
  /** The bar is redrawn at most 4 times a second: often enough to look live, rarely enough to cost nothing. */
  static final long BAR_NANOS = 250_000_000L;

  /**
   * Where a run is inside an epoch: epoch (1-based) of epochs, iterations done of the epoch's, steps done of the
   * run's, the epoch's mean loss so far, its examples per second, and the seconds left in the epoch and the run.
   */
  public record Step(int epoch, int epochs, int iteration, int iterations, long step, long steps, double meanLoss,
                     double examplesPerSecond, double epochSecondsLeft, double runSecondsLeft) {}

  private final PrintStream err;
  private final boolean bar;
  private final String prefix;
  private final LongSupplier nanos;
  private final long everyNanos;
  private final long start;
  private long lastDraw = Long.MIN_VALUE / 2, lastLine;

  public Progress(PrintStream err, boolean bar) {
    this(err, bar, "", System::nanoTime, 0);
  }

  /** With a clock (nanoseconds) and the plain lines' interval: for tests, and the withers. */
  public Progress(PrintStream err, boolean bar, String prefix, LongSupplier nanos, double everySeconds) {
    if (!(everySeconds >= 0) || !Double.isFinite(everySeconds)) {
      throw new IllegalArgumentException("progress.every_seconds = " + everySeconds + ": must be a number ≥ 0");
    }
    this.err = err;
    this.bar = bar;
    this.prefix = prefix;
    this.nanos = nanos;
    this.everyNanos = (long) (everySeconds * 1e9);
    this.start = nanos.getAsLong();
    this.lastLine = start;
  }

  /** Progress that goes nowhere: the default of a library call that does not ask for any. */
  public static Progress quiet() {
    return new Progress(new PrintStream(java.io.OutputStream.nullOutputStream()), false);
  }

  /** Lines prefixed with a run's name and no bar, for runs that share the console (compare). */
  public Progress forRun(String name) {
    return new Progress(err, false, prefix + name + ": ", nanos, everyNanos / 1e9);
  }

  /** The same progress with plain lines inside an epoch at most every this many seconds (0: none). */
  public Progress withEvery(double everySeconds) {
    return new Progress(err, bar, prefix, nanos, everySeconds);
  }

  /**
   * Progress on err, with a bar only when err is the process's stderr on an interactive terminal. Java cannot
   * ask whether stderr alone is a terminal, so the launcher tells it: SPARKTRAIN_PROGRESS=bar (scripts/ set it
   * when {@code [ -t 2 ]}) or =lines; without it, a bar only when System.console() exists.
   */
  public static Progress standard(PrintStream err) {
    String mode = System.getenv("SPARKTRAIN_PROGRESS");
    boolean terminal = mode != null ? mode.equals("bar") : System.console() != null && System.getenv("CI") == null;
    return new Progress(err, err == System.err && terminal);
  }

  /** The clock this progress measures with (nanoseconds), for the callback that computes rates and ETAs. */
  public long nanos() {
    return nanos.getAsLong();
  }

  /** After a step: redraws the bar (terminal) or prints a plain line (otherwise), if it is time to. */
  public synchronized void step(Step s) {
    long now = nanos.getAsLong();
    boolean last = s.iteration() >= s.iterations();
    if (bar) {
      if (now - lastDraw < BAR_NANOS && !last) return;
      lastDraw = now;
      int width = 24, done = (int) ((long) width * s.iteration() / s.iterations());
      err.printf("\r%s  epoch %d/%d [%s%s] %d/%d  step %,d/%,d  %,.0f ex/s  loss %.4f  eta %s (run %s)\033[K", prefix,
          s.epoch(), s.epochs(), "#".repeat(done), ".".repeat(width - done), s.iteration(), s.iterations(), s.step(),
          s.steps(), s.examplesPerSecond(), s.meanLoss(), duration(s.epochSecondsLeft()), duration(s.runSecondsLeft()));
      err.flush();
    } else if (everyNanos > 0 && now - lastLine >= everyNanos && !last) {
      lastLine = now;
      err.printf("%s  epoch %d/%d  iteration %d/%d  step %,d/%,d  %,.0f ex/s  loss %.4f  eta epoch %s  run %s  elapsed %s%n",
          prefix, s.epoch(), s.epochs(), s.iteration(), s.iterations(), s.step(), s.steps(), s.examplesPerSecond(),
          s.meanLoss(), duration(s.epochSecondsLeft()), duration(s.runSecondsLeft()), elapsed());
    }
  }

  public synchronized void epoch(int epoch, int epochs, double trainLoss, double valAccuracy, double examplesPerSecond,
                                 double lr) {
    if (bar) err.print("\r\033[K");
    lastLine = nanos.getAsLong();
    err.printf("%sepoch %d/%d  train_loss %.4f  val_acc %s  %,.0f ex/s  lr %.3g  elapsed %s%n", prefix, epoch, epochs,
        trainLoss, Double.isNaN(valAccuracy) ? "-" : String.format("%.4f", valAccuracy), examplesPerSecond, lr,
        elapsed());
  }

  public synchronized void info(String message) {
    if (bar) err.print("\r\033[K");
    err.println(prefix + message);
  }

  public String elapsed() {
    return duration((nanos.getAsLong() - start) / 1e9);
  }

  /** 0m07s, 12m03s, 2h05m; "?" before anything was measured. */
  static String duration(double seconds) {
    if (!Double.isFinite(seconds) || seconds < 0) return "?";
    Duration d = Duration.ofMillis((long) (seconds * 1000));
    if (d.toHours() > 0) return String.format("%dh%02dm", d.toHours(), d.toMinutesPart());
    return String.format("%dm%02ds", d.toMinutes(), d.toSecondsPart());
  }
}
