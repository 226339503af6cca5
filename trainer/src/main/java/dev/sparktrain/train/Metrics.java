package dev.sparktrain.train;

/** Accuracy, mean loss and example count of a model over a set of examples; NaN where there were none. */
public record Metrics(double accuracy, double loss, long count) {
  public static final Metrics NONE = new Metrics(Double.NaN, Double.NaN, 0);

  /** From the sums of a pass: loss sum, correct predictions, examples. */
  public static Metrics of(double lossSum, long correct, long count) {
    return count == 0 ? NONE : new Metrics((double) correct / count, lossSum / count, count);
  }
}
