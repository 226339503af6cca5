package dev.sparktrain.nn;

import dev.sparktrain.tensor.Gemm;
import dev.sparktrain.tensor.Rng;
import java.util.ArrayList;
import java.util.List;

/**
 * The runtime of a {@link ModelSpec}: its layers, laid out on one flat parameter vector, with forward, loss and
 * backward over a whole minibatch. Not thread-safe: each task builds its own, and reuses it across batches.
 */
public final class Network {
  private final ModelSpec spec;
  private final List<Layer> layers = new ArrayList<>();
  private final int[] offsets;
  private final int paramCount;
  private final int[] statsOffsets;
  private final int statsCount;
  private float[] gradLogits = new float[0];

  public Network(ModelSpec spec, Gemm gemm) {
    this.spec = spec;
    long total = spec.paramCount();
    if (total > Integer.MAX_VALUE - 8) throw new dev.sparktrain.UserError("model.layers: " + total + " parameters exceed one float array");
    offsets = new int[spec.layers().size()];
    statsOffsets = new int[offsets.length];
    List<Shape> shapes = spec.shapes();
    int off = 0, statsOff = 0;
    for (int i = 0; i < offsets.length; i++) {
      Layer layer = spec.layers().get(i).build(shapes.get(i), new LayerSpec.Context(i, spec.init(), gemm, spec.survival(i)));
      layers.add(layer);
      offsets[i] = off;
      off += layer.paramCount();
      statsOffsets[i] = statsOff;
      statsOff += layer.statsCount();
    }
    paramCount = off;
    statsCount = statsOff;
  }

  /** Doubles of batch statistics a training pass reports (BatchNorm layers); 0 for most networks. */
  public int statsCount() { return statsCount; }

  /** Which parameters are state (BatchNorm running averages), not trained: they get no gradient and no decay. */
  public boolean[] stateMask() {
    boolean[] mask = new boolean[paramCount];
    for (int i = 0; i < layers.size(); i++) layers.get(i).markState(mask, offsets[i]);
    return mask;
  }

  /**
   * Writes into next the running averages updated from prev with one step's batch statistics, summed over all
   * partitions (the driver calls this after the optimizer step); every other entry of next is left alone.
   */
  public void updateRunning(float[] prev, float[] next, double[] stats) {
    if (stats == null) return;
    for (int i = 0; i < layers.size(); i++) layers.get(i).updateRunning(prev, next, offsets[i], stats, statsOffsets[i]);
  }

  /** Where layer i's slice starts in the flat parameter vector. */
  public int offset(int layer) { return offsets[layer]; }

  /** The layer objects, for tests. */
  public List<Layer> layers() { return List.copyOf(layers); }

  public ModelSpec spec() { return spec; }

  public int paramCount() { return paramCount; }

  /** Fresh parameters; layer i draws from the stream (seed, INIT, i), so adding a layer leaves the others alone. */
  public float[] initParams(long seed) {
    float[] p = new float[paramCount];
    for (int i = 0; i < layers.size(); i++) layers.get(i).init(p, offsets[i], Rng.derive(seed, Rng.INIT, i));
    return p;
  }

  /** Which parameters weight decay applies to: every layer's weights; no biases, BN parameters or running averages. */
  public boolean[] decayMask() {
    boolean[] mask = new boolean[paramCount];
    for (int i = 0; i < layers.size(); i++) layers.get(i).markDecayed(mask, offsets[i]);
    return mask;
  }

  /** Inference logits for x (N×inputSize); the returned buffer is reused by the next call. */
  public float[] logits(float[] params, float[] x, int n) {
    float[] h = x;
    for (int i = 0; i < layers.size(); i++) h = layers.get(i).forward(params, offsets[i], h, n, false);
    return h;
  }

  /**
   * Forward in training mode, softmax cross-entropy against labels[labelOff, labelOff+n), and backward:
   * grad (length paramCount) is overwritten with the gradient of the summed loss.
   */
  public SoftmaxCrossEntropy.Stats lossAndGradient(float[] params, float[] x, int[] labels, int labelOff, int n,
                                                   float[] grad) {
    return lossAndGradient(params, x, labels, labelOff, n, grad, StepContext.NONE);
  }

  /** As above, with the step's seed and example ids for the random layers (dropout). */
  public SoftmaxCrossEntropy.Stats lossAndGradient(float[] params, float[] x, int[] labels, int labelOff, int n,
                                                   float[] grad, StepContext context) {
    return lossAndGradient(params, x, labels, labelOff, n, grad, context, null);
  }

  /** As above; adds the batch statistics of the pass (length statsCount) into stats unless it is null. */
  public SoftmaxCrossEntropy.Stats lossAndGradient(float[] params, float[] x, int[] labels, int labelOff, int n,
                                                   float[] grad, StepContext context, double[] stats) {
    return lossAndGradient(params, x, labels, labelOff, n, grad, context, stats, 0);
  }

  /**
   * Where the trainable parameters start when the first {@code frozen} layers are frozen: the gradient of such a
   * pass covers [trainableOffset, paramCount) only.
   */
  public int trainableOffset(int frozen) {
    if (frozen < 0 || frozen >= layers.size()) {
      throw new IllegalArgumentException("frozen layers: " + frozen + " of " + layers.size() + " (the last must train)");
    }
    return offsets[frozen];
  }

  /**
   * As above with the first {@code frozen} layers frozen (fine-tuning): they run as at inference (BatchNorm on its
   * running averages, no dropout), report no batch statistics, and are not back-propagated through; grad has
   * length paramCount − trainableOffset(frozen) and receives the gradient of the trainable layers only.
   */
  public SoftmaxCrossEntropy.Stats lossAndGradient(float[] params, float[] x, int[] labels, int labelOff, int n,
                                                   float[] grad, StepContext context, double[] stats, int frozen) {
    int base = trainableOffset(frozen);
    if (grad.length != paramCount - base) {
      throw new IllegalArgumentException("gradient buffer of " + grad.length + " for " + (paramCount - base) + " trainable parameters");
    }
    for (Layer l : layers) l.setContext(context);
    List<float[]> inputs = new ArrayList<>(layers.size());
    float[] h = x;
    for (int i = 0; i < layers.size(); i++) {
      inputs.add(h);
      h = layers.get(i).forward(params, offsets[i], h, n, i >= frozen);
    }
    int k = spec.numClasses();
    if (gradLogits.length < n * k) gradLogits = new float[n * k];
    SoftmaxCrossEntropy.Stats loss = SoftmaxCrossEntropy.lossAndGradient(h, labels, labelOff, n, k, gradLogits);
    float[] g = gradLogits;
    for (int i = layers.size() - 1; i >= frozen; i--) {
      g = layers.get(i).backward(params, offsets[i], grad, offsets[i] - base, inputs.get(i), g, n, i > frozen);
    }
    double[] into = stats != null ? stats : new double[statsCount];  // always drain, so no stale statistics remain
    for (int i = 0; i < layers.size(); i++) layers.get(i).addStats(into, statsOffsets[i]);
    return loss;
  }
}
