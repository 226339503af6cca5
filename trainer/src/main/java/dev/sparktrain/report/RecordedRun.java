package dev.sparktrain.report;

import java.util.List;
import java.util.Map;

/**
 * One run as its metrics file records it: the start record's name, time, config and provenance, the steps and
 * epochs in order (one record per step and per epoch; a resumed run's repeats keep the last), and the end
 * record, or null when the run has not ended (still running, or the file was cut short). Missing numbers are NaN.
 */
public record RecordedRun(String name, String file, String time, Map<String, String> config,
    Map<String, String> provenance, List<Step> steps, List<Epoch> epochs, End end) {

  public RecordedRun {
    config = ordered(config);
    provenance = ordered(provenance);
    steps = List.copyOf(steps);
    epochs = List.copyOf(epochs);
  }

  /** An unmodifiable copy that keeps the file's order. */
  static Map<String, String> ordered(Map<String, String> m) {
    return java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(m));
  }

  /** A copy under another name (two files may record runs of the same name). */
  public RecordedRun named(String other) {
    return new RecordedRun(other, file, time, config, provenance, steps, epochs, end);
  }

  /** The test set's figures, or null when the run has none. */
  public Test test() {
    return end == null ? null : end.test();
  }

  /** A step: global 1-based index, 1-based epoch, the minibatch loss, rate, gradient norm, throughput, time since the start. */
  public record Step(long step, int epoch, double loss, double lr, double gradNorm, double examplesPerSecond,
      double seconds) {}

  /** An epoch: 1-based index, train and validation loss and accuracy, the rate, the epoch's duration in seconds. */
  public record Epoch(int epoch, double trainLoss, double trainAccuracy, double validationLoss,
      double validationAccuracy, double lr, double seconds) {}

  /** The end record: total seconds, the command's result (numbers and text as written), the test figures or null. */
  public record End(double seconds, Map<String, String> result, Test test) {
    public End {
      result = ordered(result);
    }
  }

  /**
   * Test-set figures: accuracy, loss, the number of examples (NaN when not recorded), and the class labels with
   * the confusion counts (row = true, column = predicted), or no labels and a null matrix when the run recorded none.
   */
  public record Test(double accuracy, double loss, double examples, List<String> classes, long[][] confusion) {
    public Test {
      classes = List.copyOf(classes);
    }

    /** Whether the run recorded a confusion matrix. */
    public boolean hasConfusion() {
      return confusion != null;
    }

    /** Each class's accuracy (its diagonal count over its row's sum), NaN for a class with no examples. */
    public double[] perClassAccuracy() {
      if (confusion == null) return new double[0];
      double[] acc = new double[classes.size()];
      for (int i = 0; i < acc.length; i++) {
        long row = 0;
        for (long c : confusion[i]) row += c;
        acc[i] = row == 0 ? Double.NaN : (double) confusion[i][i] / row;
      }
      return acc;
    }
  }
}
