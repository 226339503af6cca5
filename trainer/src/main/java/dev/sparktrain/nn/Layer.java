package dev.sparktrain.nn;

/**
 * The runtime of one layer: forward and backward over a batch of N examples, on a slice of the flat parameter
 * vector. Buffers are owned by the layer and reused across calls; they only grow.
 */
public abstract class Layer {
  protected final int inSize;
  protected final int outSize;
  /** Forward output, N×outSize. */
  protected float[] out = new float[0];
  /** Gradient with respect to the input, N×inSize. */
  protected float[] gradIn = new float[0];

  protected Layer(int inSize, int outSize) {
    this.inSize = inSize;
    this.outSize = outSize;
  }

  public int inSize() { return inSize; }

  public int outSize() { return outSize; }

  public int paramCount() { return 0; }

  /**
   * Marks in mask[off, off+paramCount) the parameters that weight decay applies to. The default marks none:
   * biases (and later normalization parameters) are excluded, weights opt in.
   */
  public void markDecayed(boolean[] mask, int off) {}

  /** Fills this layer's slice params[off, off+paramCount) with its initial values. */
  public void init(float[] params, int off, dev.sparktrain.tensor.Rng rng) {}

  /** Computes out(N×outSize) from x(N×inSize); returns the output buffer. */
  public abstract float[] forward(float[] params, int pOff, float[] x, int n, boolean training);

  /**
   * Given x (the forward input) and gradOut = ∂L/∂out (N×outSize), writes this layer's parameter gradient
   * into grad[gOff, gOff+paramCount) (overwriting) and, if needGradIn, ∂L/∂x into gradIn; returns gradIn.
   */
  public abstract float[] backward(float[] params, int pOff, float[] grad, int gOff,
                                   float[] x, float[] gradOut, int n, boolean needGradIn);

  /** The step the next training forward belongs to; random layers draw their noise from it. */
  public void setContext(StepContext context) {}

  /**
   * How many doubles of batch statistics a training forward reports (BatchNorm: count, then per-channel sums
   * and sums of squares); the driver sums them over partitions and updates the running averages with them.
   */
  public int statsCount() { return 0; }

  /** Adds the statistics of the latest training forward into dst[off, off+statsCount()). */
  public void addStats(double[] dst, int off) {}

  /**
   * Updates the running averages held in this layer's parameter slice of {@code next} from the previous values in
   * {@code prev} and the batch statistics summed over all partitions. Only layers with statistics do anything.
   */
  public void updateRunning(float[] prev, float[] next, int pOff, double[] stats, int off) {}

  /** Marks parameters that are state rather than trainable (running averages): no gradient, no decay. */
  public void markState(boolean[] mask, int off) {}

  protected final void ensure(int n) {
    if (out.length < n * outSize) out = new float[n * outSize];
    if (gradIn.length < n * inSize) gradIn = new float[n * inSize];
  }
}
