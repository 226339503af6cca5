package dev.sparktrain.nn;

import dev.sparktrain.UserError;
import java.util.ArrayList;
import java.util.List;

/**
 * The architecture of a classifier: input shape, layers, number of classes, initialization, and the survival
 * probability of the last residual block under stochastic depth (1 = off). It validates in its constructor, and
 * its text form is what configs and model headers hold.
 *
 * <p>Stochastic depth follows Huang et al.'s linear rule: with L residual blocks, block l (1-based) survives with
 * p_l = 1 − (l / L)·(1 − p_L).
 */
public record ModelSpec(Shape inputShape, List<LayerSpec> layers, int numClasses, Init init, double finalSurvival)
    implements java.io.Serializable {
  public ModelSpec {
    if (numClasses < 2) throw new UserError("data.num_classes must be at least 2, got " + numClasses);
    if (!(finalSurvival > 0 && finalSurvival <= 1)) {
      throw new UserError("model.stochastic_depth = " + finalSurvival + ": the last block's survival probability must be in (0, 1]");
    }
    layers = List.copyOf(layers);
    Shape shape = inputShape;
    for (LayerSpec l : layers) shape = l.outShape(shape);
    if (!shape.isFlat() || shape.c() != numClasses) {
      throw new UserError("model.layers ends with " + (shape.isFlat() ? shape.c() + " outputs" : "shape " + shape)
          + " but data.num_classes = " + numClasses);
    }
  }

  public ModelSpec(int inputSize, List<LayerSpec> layers, int numClasses, Init init) {
    this(flatInput(inputSize), layers, numClasses, init, 1.0);
  }

  private static Shape flatInput(int inputSize) {
    if (inputSize <= 0) throw new UserError("model input size must be positive, got " + inputSize);
    return Shape.flat(inputSize);
  }

  public static ModelSpec parse(int inputSize, String layers, int numClasses, Init init) {
    return new ModelSpec(inputSize, LayerSpec.parseList(layers, "model.layers"), numClasses, init);
  }

  public static ModelSpec parse(Shape input, String layers, int numClasses, Init init, double finalSurvival) {
    return new ModelSpec(input, LayerSpec.parseList(layers, "model.layers"), numClasses, init, finalSurvival);
  }

  public int inputSize() {
    return inputShape.size();
  }

  public String layersText() {
    return LayerSpec.format(layers);
  }

  /** The input shape of each layer, and at the end the output shape. */
  public List<Shape> shapes() {
    List<Shape> s = new ArrayList<>();
    Shape shape = inputShape;
    s.add(shape);
    for (LayerSpec l : layers) s.add(shape = l.outShape(shape));
    return s;
  }

  public long paramCount() {
    long total = 0;
    List<Shape> shapes = shapes();
    for (int i = 0; i < layers.size(); i++) total += layers.get(i).paramCount(shapes.get(i));
    return total;
  }

  /** The survival probability of layer i: p_l for the l-th residual block, 1 for every other layer. */
  public double survival(int layerIndex) {
    if (!(layers.get(layerIndex) instanceof LayerSpec.Residual)) return 1;
    int total = 0, l = 0;
    for (int i = 0; i < layers.size(); i++) {
      if (layers.get(i) instanceof LayerSpec.Residual) {
        total++;
        if (i <= layerIndex) l++;
      }
    }
    return 1 - (double) l / total * (1 - finalSurvival);
  }
}
