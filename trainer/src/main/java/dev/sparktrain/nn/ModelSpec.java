package dev.sparktrain.nn;

import dev.sparktrain.UserError;
import java.util.List;

/**
 * The architecture of a classifier: input size, layers, number of classes and initialization. It validates in
 * its constructor, and its text form is what configs and model headers hold.
 */
public record ModelSpec(int inputSize, List<LayerSpec> layers, int numClasses, Init init)
    implements java.io.Serializable {
  public ModelSpec {
    if (inputSize <= 0) throw new UserError("model input size must be positive, got " + inputSize);
    if (numClasses < 2) throw new UserError("data.num_classes must be at least 2, got " + numClasses);
    layers = List.copyOf(layers);
    int size = inputSize;
    for (LayerSpec l : layers) size = l.outSize(size);
    if (size != numClasses) {
      throw new UserError("model.layers ends with " + size + " outputs but data.num_classes = " + numClasses);
    }
  }

  public static ModelSpec parse(int inputSize, String layers, int numClasses, Init init) {
    return new ModelSpec(inputSize, LayerSpec.parseList(layers, "model.layers"), numClasses, init);
  }

  public String layersText() {
    return LayerSpec.format(layers);
  }

  public long paramCount() {
    long total = 0;
    int size = inputSize;
    for (LayerSpec l : layers) {
      if (l instanceof LayerSpec.Dense d) total += (long) size * d.units() + d.units();
      size = l.outSize(size);
    }
    return total;
  }
}
