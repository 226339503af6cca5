package dev.sparktrain.augment;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktrain.tensor.Rng;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Flip, crop, scale crop and jitter move or change pixels exactly as documented: images whose values encode
 * (c,i,j) are checked pixel by pixel against the formulas, with the random offsets re-drawn from an identical Rng.
 */
class AugmentationTest {
  static final int C = 2, H = 5, W = 7;

  /** value(c,i,j) = 10000c + 100i + j + 1, never 0, so a 0 in an output can only be padding. */
  static float[] encoded(int c, int h, int w, int off) {
    float[] x = new float[off + c * h * w + 3];
    for (int ch = 0; ch < c; ch++) {
      for (int i = 0; i < h; i++) for (int j = 0; j < w; j++) x[off + (ch * h + i) * w + j] = value(ch, i, j);
    }
    return x;
  }

  static float value(int c, int i, int j) {
    return 10000 * c + 100 * i + j + 1;
  }

  static float at(float[] x, int off, int c, int i, int j) {
    return x[off + (c * H + i) * W + j];
  }

  @Test
  void flipAlwaysMirrorsColumnsAndTwiceIsIdentity() {
    int off = 4;
    float[] x = encoded(C, H, W, off), original = x.clone(), scratch = new float[C * H * W];
    Augmentation.Flip always = new Augmentation.Flip(1);
    always.apply(x, off, C, H, W, new Rng(1), scratch);
    for (int c = 0; c < C; c++) {
      for (int i = 0; i < H; i++) {
        for (int j = 0; j < W; j++) assertEquals(value(c, i, W - 1 - j), at(x, off, c, i, j), "flip at " + c + i + j);
      }
    }
    assertEquals(0f, x[0]);
    assertEquals(0f, x[x.length - 1]);
    always.apply(x, off, C, H, W, new Rng(2), scratch);
    assertArrayEquals(original, x);
    new Augmentation.Flip(0).apply(x, off, C, H, W, new Rng(3), scratch);
    assertArrayEquals(original, x);
  }

  @Test
  void flipWithHalfProbabilityFollowsItsDraw() {
    int flipped = 0;
    for (long seed = 0; seed < 40; seed++) {
      float[] x = encoded(C, H, W, 0);
      new Augmentation.Flip(0.5).apply(x, 0, C, H, W, new Rng(seed), new float[C * H * W]);
      boolean expectFlip = new Rng(seed).nextDouble() < 0.5;
      assertEquals(expectFlip ? value(1, 2, W - 1) : value(1, 2, 0), at(x, 0, 1, 2, 0), "seed " + seed);
      if (expectFlip) flipped++;
    }
    assertTrue(flipped > 5 && flipped < 35, "flipped " + flipped + " of 40");
  }

  @Test
  void cropMatchesThePaddedWindowFormulaAtEveryPixel() {
    int pad = 2, off = 3;
    Set<String> drawn = new HashSet<>();
    float[] scratch = new float[C * H * W];
    for (long seed = 0; seed < 60; seed++) {
      float[] x = encoded(C, H, W, off);
      new Augmentation.Crop(pad).apply(x, off, C, H, W, new Rng(seed), scratch);
      Rng replay = new Rng(seed);
      int dy = replay.nextInt(2 * pad + 1), dx = replay.nextInt(2 * pad + 1);
      drawn.add(dy + "," + dx);
      for (int c = 0; c < C; c++) {
        for (int i = 0; i < H; i++) {
          for (int j = 0; j < W; j++) {
            int si = i + dy - pad, sj = j + dx - pad;
            boolean inside = si >= 0 && si < H && sj >= 0 && sj < W;
            assertEquals(inside ? value(c, si, sj) : 0f, at(x, off, c, i, j),
                "seed " + seed + " (dy,dx)=(" + dy + "," + dx + ") pixel " + c + "," + i + "," + j);
          }
        }
      }
      assertEquals(0f, x[0]);
      assertEquals(0f, x[off + C * H * W]);
    }
    assertTrue(drawn.size() >= 15, "only " + drawn.size() + " distinct offsets of 25 in 60 draws: " + drawn);
  }

  @Test
  void cropWindowOnALiteral() {
    float[] src = {1, 2, 3, 4, 5, 6}; // 1×2×3
    float[] dst = new float[6];
    Augmentation.Crop.window(src, 0, 1, 2, 3, 1, 0, 0, dst, 0);
    assertArrayEquals(new float[] {0, 0, 0, 0, 1, 2}, dst);
    Augmentation.Crop.window(src, 0, 1, 2, 3, 1, 2, 1, dst, 0);
    assertArrayEquals(new float[] {4, 5, 6, 0, 0, 0}, dst);
    Augmentation.Crop.window(src, 0, 1, 2, 3, 1, 1, 2, dst, 0);
    assertArrayEquals(new float[] {2, 3, 0, 5, 6, 0}, dst);
  }

  @Test
  void cropWithPadZeroIsIdentity() {
    float[] x = encoded(C, H, W, 1), original = x.clone();
    new Augmentation.Crop(0).apply(x, 1, C, H, W, new Rng(9), new float[C * H * W]);
    assertArrayEquals(original, x);
  }

  @Test
  void scaleCropWithMinScaleOneIsIdentity() {
    Rng data = new Rng(4);
    float[] x = new float[2 + 3 * 6 * 9];
    for (int k = 0; k < x.length; k++) x[k] = (float) data.nextGaussian();
    float[] original = x.clone();
    new Augmentation.ScaleCrop(1).apply(x, 2, 3, 6, 9, new Rng(5), new float[3 * 6 * 9]);
    for (int k = 0; k < x.length; k++) assertEquals(original[k], x[k], 1e-6, "element " + k);
  }

  @Test
  void scaleCropStaysWithinTheInputRangeAndChangesTheImage() {
    Rng data = new Rng(6);
    int n = 3 * 8 * 8;
    int changed = 0;
    for (long seed = 0; seed < 20; seed++) {
      float[] x = new float[n];
      for (int k = 0; k < n; k++) x[k] = (float) data.nextGaussian();
      float min = Float.POSITIVE_INFINITY, max = Float.NEGATIVE_INFINITY;
      for (float v : x) {
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
      float[] original = x.clone();
      new Augmentation.ScaleCrop(0.5).apply(x, 0, 3, 8, 8, new Rng(seed), new float[n]);
      for (float v : x) assertTrue(v >= min && v <= max, v + " outside [" + min + ", " + max + "]");
      if (!java.util.Arrays.equals(original, x)) changed++;
    }
    assertTrue(changed >= 15, "only " + changed + " of 20 scale crops changed the image");
  }

  @Test
  void bilinearResizeWithHalfPixelCentres() {
    // a 1×1×4 row; crop columns 1..2 (values 20, 30) upsampled to 4: source x = -0.25, 0.25, 0.75, 1.25, clamped
    float[] src = {10, 20, 30, 40}, dst = new float[4];
    Augmentation.ScaleCrop.resize(src, 0, 1, 1, 4, 0, 1, 1, 2, dst, 0);
    assertArrayEquals(new float[] {20, 22.5f, 27.5f, 30}, dst, 1e-5f);
    // 2×4×4 with value 10i + j + 100c (bilinear keeps it exact); the 2×2 crop at (1,1) upsampled to 4×4 samples
    // rows and columns 1, 1.25, 1.75, 2 of the original
    float[] img = new float[2 * 16], out = new float[2 * 16], expected = new float[2 * 16];
    double[] at = {1, 1.25, 1.75, 2};
    for (int c = 0; c < 2; c++) {
      for (int i = 0; i < 4; i++) {
        for (int j = 0; j < 4; j++) {
          img[c * 16 + i * 4 + j] = 10 * i + j + 100 * c;
          expected[c * 16 + i * 4 + j] = (float) (10 * at[i] + at[j] + 100 * c);
        }
      }
    }
    Augmentation.ScaleCrop.resize(img, 0, 2, 4, 4, 1, 1, 2, 2, out, 0);
    assertArrayEquals(expected, out, 1e-4f);
  }

  @Test
  void brightnessShiftsEveryPixelByOneBoundedAmount() {
    Rng data = new Rng(7);
    int n = 3 * 4 * 5;
    Set<Float> shifts = new HashSet<>();
    for (long seed = 0; seed < 10; seed++) {
      float[] x = new float[n];
      for (int k = 0; k < n; k++) x[k] = (float) data.nextGaussian();
      float[] original = x.clone();
      new Augmentation.Jitter(0.3, 0).apply(x, 0, 3, 4, 5, new Rng(seed), new float[n]);
      float shift = x[0] - original[0];
      assertTrue(Math.abs(shift) <= 0.3f + 1e-6f, "shift " + shift);
      for (int k = 0; k < n; k++) assertEquals(shift, x[k] - original[k], 1e-5, "pixel " + k);
      shifts.add(shift);
    }
    assertTrue(shifts.size() >= 8, "shifts " + shifts);
  }

  @Test
  void contrastKeepsTheMeanAndScalesDeviationsByOneFactor() {
    Rng data = new Rng(8);
    int n = 3 * 4 * 5;
    for (long seed = 0; seed < 10; seed++) {
      float[] x = new float[n];
      for (int k = 0; k < n; k++) x[k] = 0.7f + (float) data.nextGaussian();
      float[] original = x.clone();
      new Augmentation.Jitter(0, 0.5).apply(x, 0, 3, 4, 5, new Rng(seed), new float[n]);
      double m0 = mean(original), m1 = mean(x);
      assertEquals(m0, m1, 1e-5, "mean");
      double factor = (x[0] - m0) / (original[0] - m0);
      assertTrue(factor >= 0.5 - 1e-5 && factor <= 1.5 + 1e-5, "factor " + factor);
      assertTrue(Math.abs(factor - 1) > 1e-4, "contrast did nothing for seed " + seed);
      for (int k = 0; k < n; k++) assertEquals(factor * (original[k] - m0), x[k] - m0, 1e-5, "pixel " + k);
    }
  }

  static double mean(float[] x) {
    double s = 0;
    for (float v : x) s += v;
    return s / x.length;
  }
}
