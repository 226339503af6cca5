package dev.sparktrain.optim;

import dev.sparktrain.UserError;

/** The building blocks that named optimizers chain together. */
public final class Blocks {
  private Blocks() {}

  /** The step count of a learning-rate scale. */
  public record StepCount(long step) {}

  /** The velocity of a momentum trace. */
  public record Velocity(float[] v) {}

  /** updates ← −lr(step)·updates, then step ← step + 1. */
  public static GradientTransform<StepCount> scaleByLearningRate(Schedule lr) {
    return new GradientTransform<>() {
      @Override public StepCount init(float[] params) { return new StepCount(0); }

      @Override public Step<StepCount> update(float[] g, StepCount s, float[] params) {
        float scale = (float) -lr.at(s.step());
        float[] u = new float[g.length];
        for (int i = 0; i < g.length; i++) u[i] = scale * g[i];
        return new Step<>(u, new StepCount(s.step() + 1));
      }
    };
  }

  /**
   * A momentum trace: v ← ρ·v + g, updates ← v. The velocity starts at zero.
   * Chained before a learning-rate scale this is PyTorch's SGD momentum, which equals Sutskever's form
   * v ← ρv − αg, x ← x + v whenever α is constant.
   */
  public static GradientTransform<Velocity> trace(double rho) {
    if (!(rho >= 0 && rho < 1)) throw new UserError("optimizer.momentum must be in [0, 1), got " + rho);
    float r = (float) rho;
    return new GradientTransform<>() {
      @Override public Velocity init(float[] params) { return new Velocity(new float[params.length]); }

      @Override public Step<Velocity> update(float[] g, Velocity s, float[] params) {
        float[] v = new float[g.length];
        for (int i = 0; i < g.length; i++) v[i] = r * s.v()[i] + g[i];
        return new Step<>(v, new Velocity(v));
      }
    };
  }
}
