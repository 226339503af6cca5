package dev.sparktrain.tensor;

import static dev.sparktrain.tensor.KernelTestData.assertGuardsIntact;
import static dev.sparktrain.tensor.KernelTestData.gaussian;
import static dev.sparktrain.tensor.KernelTestData.guarded;
import static dev.sparktrain.tensor.KernelTestData.slice;

import dev.sparktrain.testing.Tolerance;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The im2col convolution agrees with the naive seven-loop one, forward and all three gradients, over awkward
 * shapes (odd sizes, one channel, one filter, 1×1 to 5×5 and non-square kernels, strides 1 and 2, pads 0 to 2),
 * at non-zero offsets, writing nothing outside its output slices and nothing stale from a previous call.
 */
class Conv2dParityTest {
  private static final double REL = 1e-4, ABS = 1e-4;

  static Stream<Arguments> cases() {
    Stream.Builder<Arguments> b = Stream.builder();
    for (int r : new int[] {1, 3, 5}) {
      for (int stride : new int[] {1, 2}) {
        for (int pad : new int[] {0, 1, 2}) {
          // n, then Conv2dShape(c, h, w, k, r, s, stride, pad)
          b.add(Arguments.of(1, new Conv2dShape(1, 7, 5, 1, r, r, stride, pad)));
          b.add(Arguments.of(3, new Conv2dShape(3, 5, 9, 4, r, r, stride, pad)));
        }
      }
    }
    b.add(Arguments.of(2, new Conv2dShape(3, 6, 7, 2, 3, 1, 1, 1)));
    b.add(Arguments.of(2, new Conv2dShape(2, 9, 4, 3, 1, 5, 2, 2)));
    b.add(Arguments.of(1, new Conv2dShape(1, 1, 1, 1, 1, 1, 1, 0)));
    b.add(Arguments.of(3, new Conv2dShape(1, 2, 3, 5, 3, 3, 2, 1)));
    b.add(Arguments.of(2, new Conv2dShape(8, 13, 11, 16, 3, 3, 1, 1)));
    b.add(Arguments.of(3, new Conv2dShape(16, 8, 8, 8, 1, 1, 1, 0)));
    return b.build();
  }

  @ParameterizedTest(name = "n={0} {1}")
  @MethodSource("cases")
  void matchesNaive(int n, Conv2dShape shape) {
    Rng rng = new Rng(shape.hashCode() * 31L + n);
    int in = n * shape.inSize(), out = n * shape.outSize(), ws = shape.weightSize(), k = shape.k();
    int xOff = 3, pOff = 5, yOff = 7, gOff = 2, dxOff = 4;
    // w then b in one parameter slice, like a layer's slice of the flat vector
    float[] params = gaussian(rng, pOff + ws + k + 1), dy = gaussian(rng, yOff + out);
    float[] x1 = gaussian(rng, xOff + in), x2 = gaussian(rng, xOff + in);
    Conv2d fast = new Conv2d(shape, BlasGemm.INSTANCE);
    NaiveConv2d naive = new NaiveConv2d(shape);

    float[] yFast = guarded(yOff, out, 3), yNaive = new float[yOff + out];
    fast.forward(x1, xOff, params, pOff, params, pOff + ws, yFast, yOff, n);  // leaves x1's columns in the buffer
    fast.forward(x2, xOff, params, pOff, params, pOff + ws, yFast, yOff, n);
    naive.forward(x2, xOff, params, pOff, params, pOff + ws, yNaive, yOff, n);
    Tolerance.assertClose(slice(yNaive, yOff, out), slice(yFast, yOff, out), REL, ABS, "y " + shape);
    assertGuardsIntact(yFast, yOff, out, "y");

    float[] gFast = guarded(gOff, ws + k, 3), gNaive = new float[gOff + ws + k];
    float[] dxFast = guarded(dxOff, in, 3), dxNaive = new float[dxOff + in];
    fast.backward(x1, xOff, params, pOff, dy, yOff, gFast, gOff, gFast, gOff + ws, dxFast, dxOff, n);
    fast.backward(x2, xOff, params, pOff, dy, yOff, gFast, gOff, gFast, gOff + ws, dxFast, dxOff, n);
    naive.backward(x2, xOff, params, pOff, dy, yOff, gNaive, gOff, gNaive, gOff + ws, dxNaive, dxOff, n);
    Tolerance.assertClose(slice(gNaive, gOff, ws), slice(gFast, gOff, ws), REL, ABS, "dW " + shape);
    Tolerance.assertClose(slice(gNaive, gOff + ws, k), slice(gFast, gOff + ws, k), REL, ABS, "db " + shape);
    Tolerance.assertClose(slice(dxNaive, dxOff, in), slice(dxFast, dxOff, in), REL, ABS, "dX " + shape);
    assertGuardsIntact(gFast, gOff, ws + k, "dW, db");
    assertGuardsIntact(dxFast, dxOff, in, "dX");
  }

  /**
   * The same-width im2col (stride 1, Q = W) writes exactly the column matrix of the row-by-row one, over a buffer
   * full of stale values, for kernels whose padding keeps the width (1×1, 3×3, 5×5, 3×1, 1×3 and 5×3) and for
   * images smaller than the kernel.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("sameWidth")
  void sameWidthColumnsEqualTheRowByRowOnes(Conv2dShape shape) {
    org.junit.jupiter.api.Assertions.assertEquals(shape.w(), shape.q(), "not a same-width case: " + shape);
    Rng rng = new Rng(shape.hashCode());
    int xn = 5, size = shape.c() * shape.r() * shape.s() * shape.p() * shape.q();
    float[] x = gaussian(rng, xn + shape.inSize() + 4);
    float[] fast = gaussian(rng, size), rows = gaussian(rng, size);
    Conv2d conv = new Conv2d(shape, BlasGemm.INSTANCE);
    conv.im2colSameWidth(x, xn, fast);
    conv.im2colRows(x, xn, rows);
    org.junit.jupiter.api.Assertions.assertArrayEquals(rows, fast, shape.toString());
  }

  /**
   * The same-width col2im adds exactly what the row-by-row one adds, bit for bit (±0 included), into a dX that
   * already holds values, ±0 among them, from columns that are mostly −0 with values of every magnitude. A
   * mutant that blanks the padding entries with +0 instead of −0 turns some −0 pixels into +0 and fails.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("sameWidth")
  void sameWidthCol2imEqualsTheRowByRowOne(Conv2dShape shape) {
    Rng rng = new Rng(shape.hashCode() + 1);
    int dxn = 3, size = shape.c() * shape.r() * shape.s() * shape.p() * shape.q(), in = shape.inSize();
    float[] cols = gaussian(rng, size), dx0 = gaussian(rng, dxn + in + 2);
    // mostly −0, so that many pixels sum only zeros and their sign shows; the rest of every magnitude
    for (int i = 0; i < cols.length; i++) cols[i] = i % 5 == 0 ? cols[i] * (i % 3 == 0 ? 1e6f : 1f) : -0f;
    for (int i = 0; i < dx0.length; i++) dx0[i] = i % 3 == 0 ? dx0[i] : i % 3 == 1 ? -0f : 0f;
    float[] dxFast = dx0.clone(), dxRows = dx0.clone();
    Conv2d conv = new Conv2d(shape, BlasGemm.INSTANCE);
    conv.col2imRows(cols.clone(), dxRows, dxn);
    conv.col2imSameWidth(cols.clone(), dxFast, dxn);
    org.junit.jupiter.api.Assertions.assertArrayEquals(dxRows, dxFast, shape.toString());
  }

  static Stream<Conv2dShape> sameWidth() {
    return Stream.of(
        new Conv2dShape(2, 7, 5, 1, 3, 3, 1, 1), new Conv2dShape(1, 28, 28, 1, 3, 3, 1, 1),
        new Conv2dShape(3, 14, 14, 1, 3, 3, 1, 1), new Conv2dShape(2, 6, 9, 1, 5, 5, 1, 2),
        new Conv2dShape(2, 5, 4, 1, 1, 1, 1, 0), new Conv2dShape(1, 6, 7, 1, 3, 1, 1, 0),
        new Conv2dShape(1, 6, 7, 1, 1, 3, 1, 1), new Conv2dShape(2, 4, 6, 1, 5, 3, 1, 1),
        new Conv2dShape(1, 2, 2, 1, 5, 5, 1, 2), new Conv2dShape(1, 1, 1, 1, 3, 3, 1, 1));
  }

  @Test
  void withoutInputGradientTheParameterGradientsAreTheSame() {
    Conv2dShape shape = new Conv2dShape(3, 7, 6, 2, 3, 3, 2, 1);
    int n = 2, ws = shape.weightSize();
    Rng rng = new Rng(11);
    float[] x = gaussian(rng, n * shape.inSize()), p = gaussian(rng, ws + shape.k());
    float[] dy = gaussian(rng, n * shape.outSize());
    Conv2d fast = new Conv2d(shape, BlasGemm.INSTANCE);
    float[] with = new float[ws + shape.k()], without = new float[ws + shape.k()];
    fast.backward(x, 0, p, 0, dy, 0, with, 0, with, ws, new float[n * shape.inSize()], 0, n);
    fast.backward(x, 0, p, 0, dy, 0, without, 0, without, ws, null, 0, n);
    Tolerance.assertClose(with, without, 0, 0, "dW, db without dX");
  }
}
