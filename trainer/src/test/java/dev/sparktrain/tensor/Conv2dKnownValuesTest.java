package dev.sparktrain.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import org.junit.jupiter.api.Test;

/**
 * Convolution values worked out by hand: a 1-channel 4×4 ramp and a 3×3 kernel with only two non-zero, unequal
 * taps, so that a flipped kernel (true convolution instead of cross-correlation), a transposed one or a shifted
 * padding would all give a different answer.
 */
class Conv2dKnownValuesTest {
  /** x[h][w] = 4h + w + 1. */
  private static final float[] X = {
      1, 2, 3, 4,
      5, 6, 7, 8,
      9, 10, 11, 12,
      13, 14, 15, 16};
  /** Top-left tap 1, bottom-right tap 2: y[p][q] = x[p−1][q−1] + 2·x[p+1][q+1] + 0.5 with pad 1. */
  private static final float[] W = {
      1, 0, 0,
      0, 0, 0,
      0, 0, 2};
  private static final float[] B = {0.5f};

  @Test
  void strideOnePadOne() {
    float[] expected = {
        12.5f, 14.5f, 16.5f, 0.5f,
        20.5f, 23.5f, 26.5f, 3.5f,
        28.5f, 35.5f, 38.5f, 7.5f,
        0.5f, 9.5f, 10.5f, 11.5f};
    Conv2dShape shape = new Conv2dShape(1, 4, 4, 1, 3, 3, 1, 1);
    assertArrayEquals(expected, forward(new Conv2d(shape, BlasGemm.INSTANCE)), 1e-6f);
    float[] naive = new float[16];
    new NaiveConv2d(shape).forward(X, 0, W, 0, B, 0, naive, 0, 1);
    assertArrayEquals(expected, naive, 1e-6f);
  }

  @Test
  void strideTwoPadOneKeepsEveryOtherPosition() {
    Conv2dShape shape = new Conv2dShape(1, 4, 4, 1, 3, 3, 2, 1);
    assertArrayEquals(new float[] {12.5f, 16.5f, 28.5f, 38.5f}, forward(new Conv2d(shape, BlasGemm.INSTANCE)), 1e-6f);
  }

  @Test
  void backwardOfAllOnes() {
    Conv2dShape shape = new Conv2dShape(1, 4, 4, 1, 3, 3, 1, 1);
    float[] dy = new float[16];
    java.util.Arrays.fill(dy, 1f);
    float[] dw = new float[9], db = new float[1], dx = new float[16];
    new Conv2d(shape, BlasGemm.INSTANCE).backward(X, 0, W, 0, dy, 0, dw, 0, db, 0, dx, 0, 1);
    // dW[i][j] = Σ_pq x[p+i−1][q+j−1]: the sum of x over rows i−1..i+2 and columns j−1..j+2, clipped to 0..3.
    // Row sums of x are 10, 26, 42, 58 and column sums 28, 32, 36, 40; the centre tap meets every pixel (136).
    float[] expectedDw = {
        54, 78, 63,    // rows 0..2: 1+2+3+5+6+7+9+10+11, 10+26+42, 78 − (1+5+9)
        96, 136, 108,  // all rows:  136 − 40,             136,      136 − 28
        90, 126, 99};  // rows 1..3: 126 − (8+12+16),      26+42+58, 6+7+8+10+11+12+14+15+16
    assertArrayEquals(expectedDw, dw, 1e-5f);
    assertArrayEquals(new float[] {16f}, db, 1e-6f);
    // pixel (h,w) feeds output (h+1,w+1) through tap 1 when h,w ≤ 2, and output (h−1,w−1) through tap 2 when h,w ≥ 1
    float[] expectedDx = {
        1, 1, 1, 0,
        1, 3, 3, 2,
        1, 3, 3, 2,
        0, 2, 2, 2};
    assertArrayEquals(expectedDx, dx, 1e-6f);
  }

  private static float[] forward(Conv2d conv) {
    float[] y = new float[conv.shape().outSize()];
    conv.forward(X, 0, W, 0, B, 0, y, 0, 1);
    return y;
  }
}
