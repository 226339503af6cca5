package dev.sparktrain.train;

import java.util.List;

/**
 * Behaviour a caller adds to a run from code rather than config: extra callbacks, and a hook beside each
 * partition's step. Tests pass their fault injection this way; an embedding program its own listeners. A command
 * that trains several runs at once (compare) gives the same callbacks to every run, from several threads: they
 * must then be thread-safe.
 */
public record Hooks(List<Callback> callbacks, PartitionHook partitionHook) {
  public static final Hooks NONE = new Hooks(List.of(), PartitionHook.NONE);

  public Hooks {
    callbacks = List.copyOf(callbacks);
  }

  public static Hooks of(Callback... callbacks) {
    return new Hooks(List.of(callbacks), PartitionHook.NONE);
  }

  public static Hooks of(PartitionHook hook) {
    return new Hooks(List.of(), hook);
  }
}
