package dev.sparktrain.optim;

/**
 * A pure gradient transformation: {@code init} makes the state, {@code update} maps (updates, state, params) to
 * new updates and a new state. Neither mutates its arguments, so a state can be checkpointed and replayed.
 *
 * @param <S> the state record
 */
public interface GradientTransform<S> {
  S init(float[] params);

  Step<S> update(float[] updates, S state, float[] params);

  /** The transformed updates and the next state. */
  record Step<S>(float[] updates, S state) {}

  /** Two transforms applied one after the other; the state is the pair of their states. */
  static <A, B> GradientTransform<Pair<A, B>> chain(GradientTransform<A> first, GradientTransform<B> second) {
    return new GradientTransform<>() {
      @Override public Pair<A, B> init(float[] params) {
        return new Pair<>(first.init(params), second.init(params));
      }

      @Override public Step<Pair<A, B>> update(float[] updates, Pair<A, B> state, float[] params) {
        Step<A> a = first.update(updates, state.first(), params);
        Step<B> b = second.update(a.updates(), state.second(), params);
        return new Step<>(b.updates(), new Pair<>(a.state(), b.state()));
      }
    };
  }

  /** The state of a chain. */
  record Pair<A, B>(A first, B second) {}
}
