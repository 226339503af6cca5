package dev.sparktrain.spark;

import dev.sparktrain.nn.LayerMapping;

/**
 * Where a fit's parameters start: seeded initialisation (train.init_seed), a saved model's layers (fine-tuning,
 * with a {@link LayerMapping}; unmapped layers are seeded), or the newest valid checkpoint of a directory (an
 * exact resume of the same training settings; without a valid checkpoint, a seeded start).
 */
public sealed interface InitialParams {
  record Seeded() implements InitialParams {}

  record FromModel(String path, LayerMapping mapping) implements InitialParams {}

  record Resume(String checkpointDir) implements InitialParams {}

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
