package dev.sparktrain.optim;

/**
 * The driver's handle on one optimizer run: the transform plus its current state. Each step replaces the state
 * record; nothing is mutated in place.
 */
public final class Stepper<S> {
  private final GradientTransform<S> transform;
  private S state;

  private Stepper(GradientTransform<S> transform, float[] params) {
    this.transform = transform;
    this.state = transform.init(params);
  }

  public static <S> Stepper<S> start(GradientTransform<S> transform, float[] params) {
    return new Stepper<>(transform, params);
  }

  /** Applies one update for the mean gradient and returns the new parameters. */
  public float[] step(float[] meanGradient, float[] params) {
    GradientTransform.Step<S> s = transform.update(meanGradient, state, params);
    state = s.state();
    return Optimizers.apply(params, s.updates());
  }

  public S state() { return state; }
}
