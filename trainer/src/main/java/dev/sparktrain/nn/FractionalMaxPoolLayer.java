package dev.sparktrain.nn;

import dev.sparktrain.tensor.FractionalMaxPool2d;
import dev.sparktrain.tensor.Rng;

/**
 * Fractional max pooling (Graham 2014) over the {@link FractionalMaxPool2d} kernel. In training each example
 * draws its own pseudo-random row and column sequences, from (seed, FRACTIONAL_POOL, step, example, layer), so the
 * regions do not depend on the partitioning and a retried task draws them again. At test time the regions are
 * fixed (u = 0.5 for rows and columns): one deterministic pass, rather than an average over several draws.
 */
public final class FractionalMaxPoolLayer extends Layer {
  static final double TEST_U = 0.5;
  private final FractionalMaxPool2d kernel;
  private final int layerIndex;
  private StepContext context = StepContext.NONE;
  private double[] uRows = new double[0];
  private double[] uCols = new double[0];

  public FractionalMaxPoolLayer(Shape in, double ratio, boolean overlap, int layerIndex) {
    this(new FractionalMaxPool2d(in.c(), in.h(), in.w(), ratio, overlap), layerIndex);
  }

  private FractionalMaxPoolLayer(FractionalMaxPool2d kernel, int layerIndex) {
    super(kernel.inSize(), kernel.outSize());
    this.kernel = kernel;
    this.layerIndex = layerIndex;
  }

  @Override public void setContext(StepContext context) { this.context = context; }

  @Override public float[] forward(float[] p, int pOff, float[] x, int n, boolean training) {
    ensure(n);
    if (uRows.length < n) {
      uRows = new double[n];
      uCols = new double[n];
    }
    for (int e = 0; e < n; e++) {
      if (training) {
        Rng rng = Rng.derive(context.seed(), Rng.FRACTIONAL_POOL, context.step(), context.exampleId(e), layerIndex);
        uRows[e] = rng.nextDouble();
        uCols[e] = rng.nextDouble();
      } else {
        uRows[e] = TEST_U;
        uCols[e] = TEST_U;
      }
    }
    kernel.forward(x, 0, out, 0, n, uRows, uCols);
    return out;
  }

  @Override public float[] backward(float[] p, int pOff, float[] grad, int gOff, float[] x, float[] gradOut, int n,
                                    boolean needGradIn) {
    ensure(n);
    if (needGradIn) kernel.backward(gradOut, 0, gradIn, 0, n);
    return gradIn;
  }
}
