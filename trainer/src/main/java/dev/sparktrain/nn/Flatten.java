package dev.sparktrain.nn;

/** Flattens (C,H,W) to a vector of C·H·W: CHW is already row-major, so forward and backward pass data through. */
public final class Flatten extends Layer {
  public Flatten(int size) {
    super(size, size);
  }

  @Override public float[] forward(float[] p, int pOff, float[] x, int n, boolean training) {
    return x;
  }

  @Override public float[] backward(float[] p, int pOff, float[] grad, int gOff, float[] x, float[] gradOut, int n,
                                    boolean needGradIn) {
    return gradOut;
  }
}
