package dev.sparktrain.tensor;

import static dev.sparktrain.tensor.KernelTestData.assertGradient;
import static dev.sparktrain.tensor.KernelTestData.dot;
import static dev.sparktrain.tensor.KernelTestData.gaussian;

import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Both convolutions' dX, dW and db match central differences of L = Σ y ⊙ R for a fixed random R, so the naive
 * twin that the parity test trusts is itself checked against the definition of a derivative.
 */
class Conv2dGradientTest {
  interface Kernel {
    void forward(float[] x, float[] w, float[] b, float[] y, int n);

    void backward(float[] x, float[] w, float[] dy, float[] dw, float[] db, float[] dx, int n);
  }

  static Stream<Arguments> cases() {
    Conv2dShape[] shapes = {
        new Conv2dShape(2, 5, 6, 3, 3, 3, 1, 1),
        new Conv2dShape(3, 7, 7, 2, 3, 3, 2, 1),
        new Conv2dShape(1, 5, 5, 1, 5, 5, 1, 2),
        new Conv2dShape(2, 6, 5, 2, 3, 1, 2, 0),
        new Conv2dShape(3, 4, 4, 2, 1, 1, 1, 0)};
    Stream.Builder<Arguments> b = Stream.builder();
    for (Conv2dShape s : shapes) {
      Conv2d fast = new Conv2d(s, BlasGemm.INSTANCE);
      NaiveConv2d naive = new NaiveConv2d(s);
      b.add(Arguments.of("im2col", s, (Kernel) new Kernel() {
        public void forward(float[] x, float[] w, float[] bias, float[] y, int n) {
          fast.forward(x, 0, w, 0, bias, 0, y, 0, n);
        }

        public void backward(float[] x, float[] w, float[] dy, float[] dw, float[] db, float[] dx, int n) {
          fast.backward(x, 0, w, 0, dy, 0, dw, 0, db, 0, dx, 0, n);
        }
      }));
      b.add(Arguments.of("naive", s, (Kernel) new Kernel() {
        public void forward(float[] x, float[] w, float[] bias, float[] y, int n) {
          naive.forward(x, 0, w, 0, bias, 0, y, 0, n);
        }

        public void backward(float[] x, float[] w, float[] dy, float[] dw, float[] db, float[] dx, int n) {
          naive.backward(x, 0, w, 0, dy, 0, dw, 0, db, 0, dx, 0, n);
        }
      }));
    }
    return b.build();
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("cases")
  void gradientsMatchCentralDifferences(String name, Conv2dShape shape, Kernel kernel) {
    int n = 2;
    Rng rng = new Rng(shape.hashCode());
    float[] x = gaussian(rng, n * shape.inSize()), w = gaussian(rng, shape.weightSize()), b = gaussian(rng, shape.k());
    float[] r = gaussian(rng, n * shape.outSize()), y = new float[r.length];
    float[] dw = new float[w.length], db = new float[b.length], dx = new float[x.length];
    kernel.backward(x, w, r, dw, db, dx, n);

    assertGradient(dx, x, 1e-2f, xi -> { kernel.forward(xi, w, b, y, n); return dot(y, 0, r); }, "dX");
    assertGradient(dw, w, 1e-2f, wi -> { kernel.forward(x, wi, b, y, n); return dot(y, 0, r); }, "dW");
    assertGradient(db, b, 1e-2f, bi -> { kernel.forward(x, w, bi, y, n); return dot(y, 0, r); }, "db");
  }
}
