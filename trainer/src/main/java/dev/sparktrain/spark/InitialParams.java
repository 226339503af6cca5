package dev.sparktrain.spark;

import dev.sparktrain.nn.LayerMapping;

/**
 * Where a fit's parameters start: seeded initialisation (train.init_seed), a saved model's layers (fine-tuning,
 * with a {@link LayerMapping}; unmapped layers are seeded), or the newest valid checkpoint of a directory (an
 * exact resume of the same training settings; without a valid checkpoint, a seeded start), or a previous fit's
 * final parameters and optimizer state (a warm start: the second phase of a fine-tuning, with its own schedule).
 */
public sealed interface InitialParams {
  record Seeded() implements InitialParams {}

  record FromModel(String path, LayerMapping mapping) implements InitialParams {}

  record Resume(String checkpointDir) implements InitialParams {}

  /** params and the optimizer state that produced them; the state must be of the same optimizer chain. */
  record Warm(float[] params, Object optimizerState) implements InitialParams {}

  /** Where a fit ended, to go on from it with new settings (fewer frozen layers, a new schedule). */
  static InitialParams warm(TrainedModel previous) {
    if (previous.optimizerState() == null) throw new IllegalArgumentException("the model has no optimizer state");
    return new Warm(previous.params(), previous.optimizerState());
  }

  static InitialParams seeded() {
    return new Seeded();
  }

  static InitialParams fromModel(String path, LayerMapping mapping) {
    return new FromModel(path, mapping);
  }

  static InitialParams resume(String checkpointDir) {
    return new Resume(checkpointDir);
  }
}
