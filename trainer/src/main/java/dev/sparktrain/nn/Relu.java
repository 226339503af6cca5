package dev.sparktrain.nn;

/** The rectifier max(0, x), elementwise; its gradient passes where the input was positive. */
public final class Relu extends Layer {
  public Relu(int size) {
    super(size, size);
  }

  @Override
  public float[] forward(float[] p, int pOff, float[] x, int n, boolean training) {
    ensure(n);
    int len = n * inSize;
    for (int i = 0; i < len; i++) out[i] = Math.max(x[i], 0f);  // vectorizes; NaN stays NaN
    return out;
  }

  @Override
  public float[] backward(float[] p, int pOff, float[] grad, int gOff,
                          float[] x, float[] gradOut, int n, boolean needGradIn) {
    ensure(n);
    int len = n * inSize;
    for (int i = 0; i < len; i++) {
      // branch-free gradOut·[x > 0] (signs are random, so a branch mispredicts half the time): the bits of x as an
      // int are positive exactly when x > 0 (−0 and negatives have the sign bit; +0 is 0), and the mask keeps
      // or clears all of gradOut's bits
      int xi = Float.floatToRawIntBits(x[i]);
      int keep = (-xi & ~xi) >> 31;
      gradIn[i] = Float.intBitsToFloat(Float.floatToRawIntBits(gradOut[i]) & keep);
    }
    return gradIn;
  }
}
