package dev.sparktrain.train;

/**
 * Accuracy, mean loss and example count of a model over a set of examples; NaN where there were none. The
 * confusion matrix, when the pass counted one, has a row per true class and a column per predicted class.
 */
public record Metrics(double accuracy, double loss, long count, long[][] confusion) {
  public static final Metrics NONE = new Metrics(Double.NaN, Double.NaN, 0);

  /** Without a confusion matrix. */
  public Metrics(double accuracy, double loss, long count) {
    this(accuracy, loss, count, null);
  }

  /** From the sums of a pass: loss sum, correct predictions, examples. */
  public static Metrics of(double lossSum, long correct, long count) {
    return of(lossSum, correct, count, null);
  }

  /** Adds the confusion counts {@code from} into {@code into} (both K×K, row = true class). */
  public static void addCounts(long[][] into, long[][] from) {
    for (int i = 0; i < into.length; i++) for (int j = 0; j < into[i].length; j++) into[i][j] += from[i][j];
  }

  /** As above, with the pass's confusion counts (confusion[true][predicted]), or null. */
  public static Metrics of(double lossSum, long correct, long count, long[][] confusion) {
    return count == 0 ? NONE : new Metrics((double) correct / count, lossSum / count, count, confusion);
  }
}
