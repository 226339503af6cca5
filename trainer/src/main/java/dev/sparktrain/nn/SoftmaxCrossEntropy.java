package dev.sparktrain.nn;

/**
 * Softmax followed by cross-entropy against integer labels, computed stably through log-sum-exp.
 *
 * <p>Shapes: logits N×K, labels N. The gradient is per example, not divided by N: partitions return sums and
 * the driver divides by the total example count.
 */
public final class SoftmaxCrossEntropy {
  private SoftmaxCrossEntropy() {}

  /** Loss and accuracy counts of a batch. */
  public record Stats(double lossSum, long correct) {}

  /**
   * Writes ∂L/∂logits = softmax(logits) − onehot(label) into grad (if non-null) and returns the summed loss and
   * the number of correct argmax predictions.
   */
  public static Stats lossAndGradient(float[] logits, int[] labels, int labelOff, int n, int k, float[] grad) {
    double loss = 0;
    long correct = 0;
    for (int i = 0; i < n; i++) {
      int row = i * k;
      int label = labels[labelOff + i];
      float max = logits[row];
      int argmax = 0;
      for (int j = 1; j < k; j++) {
        if (logits[row + j] > max) {
          max = logits[row + j];
          argmax = j;
        }
      }
      double sum = 0;
      for (int j = 0; j < k; j++) sum += Math.exp(logits[row + j] - max);
      double logSum = Math.log(sum);
      loss += logSum - (logits[row + label] - max);
      if (argmax == label) correct++;
      if (grad != null) {
        for (int j = 0; j < k; j++) grad[row + j] = (float) Math.exp(logits[row + j] - max - logSum);
        grad[row + label] -= 1f;
      }
    }
    return new Stats(loss, correct);
  }

  /** Writes the softmax probabilities of each row of logits into probs. */
  public static void softmax(float[] logits, int n, int k, float[] probs) {
    for (int i = 0; i < n; i++) {
      int row = i * k;
      float max = logits[row];
      for (int j = 1; j < k; j++) max = Math.max(max, logits[row + j]);
      double sum = 0;
      for (int j = 0; j < k; j++) sum += Math.exp(logits[row + j] - max);
      for (int j = 0; j < k; j++) probs[row + j] = (float) (Math.exp(logits[row + j] - max) / sum);
    }
  }
}
