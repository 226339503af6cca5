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
    for (int i = 0; i < len; i++) out[i] = x[i] > 0f ? x[i] : 0f;
    return out;
  }

  @Override
  public float[] backward(float[] p, int pOff, float[] grad, int gOff,
                          float[] x, float[] gradOut, int n, boolean needGradIn) {
    ensure(n);
    int len = n * inSize;
    for (int i = 0; i < len; i++) gradIn[i] = x[i] > 0f ? gradOut[i] : 0f;
    return gradIn;
  }
}
