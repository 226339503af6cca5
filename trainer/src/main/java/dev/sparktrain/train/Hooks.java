package dev.sparktrain.train;

import java.util.List;

/**
 * Behaviour a caller adds to a run from code rather than config: extra callbacks, and a hook beside each
 * partition's step. Tests pass their fault injection this way; an embedding program its own listeners. A command
 * that trains several runs at once (compare) gives the same callbacks to every run, from several threads: they
 * must then be thread-safe.
 */
public record Hooks(List<Callback> callbacks, PartitionHook partitionHook, java.util.Set<String> runs) {
  public static final Hooks NONE = new Hooks(List.of(), PartitionHook.NONE);

  /** runs: the names of the runs they apply to (a command that trains several, e.g. ensemble's "member-2"); null: all. */
  public Hooks {
    callbacks = List.copyOf(callbacks);
    runs = runs == null ? null : java.util.Set.copyOf(runs);
  }

  /** Hooks for every run. */
  public Hooks(List<Callback> callbacks, PartitionHook partitionHook) {
    this(callbacks, partitionHook, null);
  }

  /** The same hooks, applied only to the runs of these names. */
  public Hooks onlyFor(String... names) {
    return new Hooks(callbacks, partitionHook, java.util.Set.of(names));
  }

  /** Whether they apply to the run of this name. */
  public boolean appliesTo(String run) {
    return runs == null || runs.contains(run);
  }

  public static Hooks of(Callback... callbacks) {
    return new Hooks(List.of(callbacks), PartitionHook.NONE);
  }

  public static Hooks of(PartitionHook hook) {
    return new Hooks(List.of(), hook);
  }
}
