package dev.sparktrain.train;

import java.io.PrintStream;
import java.time.Duration;

/**
 * Progress on stderr: one line per epoch, and a redrawn bar when stderr is a terminal. Stdout is reserved for
 * the command's result.
 */
public final class Progress {
  private final PrintStream err;
  private final boolean bar;
  private final String prefix;
  private final long start = System.nanoTime();
  private long lastDraw;

  public Progress(PrintStream err, boolean bar) {
    this(err, bar, "");
  }

  private Progress(PrintStream err, boolean bar, String prefix) {
    this.err = err;
    this.bar = bar;
    this.prefix = prefix;
  }

  /** Progress that goes nowhere: the default of a library call that does not ask for any. */
  public static Progress quiet() {
    return new Progress(new PrintStream(java.io.OutputStream.nullOutputStream()), false);
  }

  /** Lines prefixed with a run's name and no bar, for runs that share the console (compare). */
  public Progress forRun(String name) {
    return new Progress(err, false, prefix + name + ": ");
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

  public void iteration(int epoch, int epochs, int t, int iterations, double meanLoss) {
    if (!bar) return;
    long now = System.nanoTime();
    if (now - lastDraw < 100_000_000L && t + 1 < iterations) return;
    lastDraw = now;
    int width = 30, done = (int) ((long) width * (t + 1) / iterations);
    err.printf("\r  epoch %d/%d [%s%s] %d/%d loss %.4f ", epoch, epochs, "#".repeat(done),
        ".".repeat(width - done), t + 1, iterations, meanLoss);
    err.flush();
  }

  public void epoch(int epoch, int epochs, double trainLoss, double valAccuracy, double examplesPerSecond, double lr) {
    if (bar) err.print("\r\033[K");
    err.printf("%sepoch %d/%d  train_loss %.4f  val_acc %s  %,.0f ex/s  lr %.3g  elapsed %s%n", prefix, epoch, epochs,
        trainLoss, Double.isNaN(valAccuracy) ? "-" : String.format("%.4f", valAccuracy), examplesPerSecond, lr,
        elapsed());
  }

  public void info(String message) {
    if (bar) err.print("\r\033[K");
    err.println(prefix + message);
  }

  public String elapsed() {
    Duration d = Duration.ofNanos(System.nanoTime() - start);
    return String.format("%dm%02ds", d.toMinutes(), d.toSecondsPart());
  }
}
