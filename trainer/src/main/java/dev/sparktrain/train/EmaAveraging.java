package dev.sparktrain.train;

import java.nio.FloatBuffer;
import java.util.Locale;
import java.util.Map;

/**
 * Polyak averaging as an exponential moving average of the whole parameter vector, BatchNorm running statistics
 * included, usable with any optimizer (ema.decay, ema.start_step):
 * <pre>
 * after step t (1-based):  t ≤ s:  no average yet
 *                          t = s+1: a ← θ_t
 *                          t > s+1: a ← d·a + (1 − d)·θ_t      (float32, element by element)
 * </pre>
 * The average is validated at each epoch's end when a validation is given, kept in checkpoints (so a resumed run
 * continues it bit for bit), and handed to the fit's result beside the raw weights. Memory: one float per
 * parameter.
 */
public final class EmaAveraging implements Callback {
  private final float decay;
  private final long startStep;
  private final TrainingLoop.Validation validation;
  private final Progress progress;
  private float[] average;
  private Metrics lastValidation;

  /** validation (may be null) scores the average at each epoch's end, logged through progress. */
  public EmaAveraging(double decay, long startStep, TrainingLoop.Validation validation, Progress progress) {
    if (!(decay > 0 && (float) decay < 1f)) {
      throw new IllegalArgumentException("ema.decay must be in (0, 1) as a float32: " + decay);
    }
    if (startStep < 0) throw new IllegalArgumentException("ema.start_step must be ≥ 0: " + startStep);
    this.decay = (float) decay;
    this.startStep = startStep;
    this.validation = validation;
    this.progress = progress;
  }

  @Override
  public void onTrainStart(TrainStart e, LoopControl loop) {
    Map<String, float[]> saved = e.start().callbackVectors().get(callbackName());
    if (saved != null && saved.get("average") == null) {
      throw new dev.sparktrain.UserError("--resume: the checkpoint's EMA state has no 'average' vector");
    }
    average = saved == null ? null : saved.get("average").clone();
  }

  @Override
  public void onStepEnd(StepEnd e, LoopControl loop) {
    if (e.step() < startStep) return;
    FloatBuffer p = e.params();
    if (average == null) {
      average = new float[p.limit()];
      p.get(0, average);
      return;
    }
    float d = decay, c = 1f - decay;
    float[] a = average;
    for (int i = 0; i < a.length; i++) a[i] = d * a[i] + c * p.get(i);
  }

  @Override
  public void onEpochEnd(EpochEnd e, LoopControl loop) {
    if (validation == null || average == null) return;
    lastValidation = validation.run(average.clone(), e.epoch());
    progress.info(String.format(Locale.ROOT, "epoch %d/%d  ema val_acc %.4f  val_loss %.4f", e.epoch() + 1, e.epochs(),
        lastValidation.accuracy(), lastValidation.loss()));
  }

  /** A copy of the averaged parameters, or null before ema.start_step. */
  public float[] average() {
    return average == null ? null : average.clone();
  }

  /** The average's validation metrics at the last epoch's end, or null. */
  public Metrics lastValidation() {
    return lastValidation;
  }

  @Override
  public Map<String, float[]> checkpointVectors() {
    return average == null ? null : Map.of("average", average);
  }

  @Override
  public String callbackName() {
    return "ema";
  }
}
