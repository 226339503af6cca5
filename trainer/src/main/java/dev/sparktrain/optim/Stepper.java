package dev.sparktrain.optim;

/**
 * The driver's handle on one optimizer run: the transform plus its current state. Each step replaces the state
 * record; nothing is mutated in place.
 */
public final class Stepper<S> {
  private final GradientTransform<S> transform;
  private final int size;
  private S state;

  private Stepper(GradientTransform<S> transform, int size, S state) {
    this.transform = transform;
    this.size = size;
    this.state = state;
  }

  public static <S> Stepper<S> start(GradientTransform<S> transform, float[] params) {
    return new Stepper<>(transform, params.length, transform.init(params));
  }

  /**
   * A run resumed from a saved state (see {@code io.OptimizerStateFile}); the state must have the transform's
   * chain of records, which {@link #withTransform}'s check also guards.
   */
  public static <S> Stepper<S> resume(GradientTransform<S> transform, int size, S state) {
    return new Stepper<>(transform, size, transform.init(new float[size])).withTransformState(state);
  }

  private Stepper<S> withTransformState(S saved) {
    if (!sameShape(state, saved)) {
      throw new IllegalArgumentException("the saved state keeps " + shape(saved) + ", this optimizer " + shape(state));
    }
    return new Stepper<>(transform, size, saved);
  }

  /** Applies one update for the mean gradient and returns the new parameters. */
  public float[] step(float[] meanGradient, float[] params) {
    GradientTransform.Step<S> s = transform.update(meanGradient, state, params);
    state = s.state();
    return Optimizers.apply(params, s.updates());
  }

  public S state() { return state; }

  /**
   * This run continued with another transform that keeps the same state, for instance the same optimizer built for
   * a rescaled learning-rate schedule (reduce on plateau): velocities, moments and step counts carry over. The new
   * transform must have the same chain of state records; otherwise this fails now rather than at the next step.
   */
  public Stepper<S> withTransform(GradientTransform<?> next) {
    Object fresh = next.init(new float[size]);
    if (!sameShape(fresh, state)) {
      throw new IllegalArgumentException("the new transform keeps " + shape(fresh) + ", this run " + shape(state));
    }
    @SuppressWarnings("unchecked") // sameShape checked every record class in the chain
    GradientTransform<S> same = (GradientTransform<S>) next;
    return new Stepper<>(same, size, state);
  }

  private static boolean sameShape(Object a, Object b) {
    if (a instanceof GradientTransform.Pair<?, ?> p && b instanceof GradientTransform.Pair<?, ?> q) {
      return sameShape(p.first(), q.first()) && sameShape(p.second(), q.second());
    }
    return a != null && b != null && a.getClass() == b.getClass();
  }

  private static String shape(Object s) {
    if (s instanceof GradientTransform.Pair<?, ?> p) return "(" + shape(p.first()) + ", " + shape(p.second()) + ")";
    return s == null ? "null" : s.getClass().getSimpleName();
  }
}
