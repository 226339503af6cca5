package dev.sparktrain.augment;

import static dev.sparktrain.augment.AugmentationTest.encoded;
import static dev.sparktrain.augment.AugmentationTest.value;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktrain.UserError;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Test-time views: counts, flips, the centre crop and where the corner crops put their zero borders. */
class TestTimeAugmentationTest {
  static final int C = 2, H = 5, W = 6, SIZE = C * H * W, OFF = 3;

  float[] view(TestTimeAugmentation tta, int v, int pad) {
    float[] src = encoded(C, H, W, OFF), dst = new float[2 + SIZE];
    tta.view(v, src, OFF, C, H, W, pad, dst, 2);
    return Arrays.copyOfRange(dst, 2, 2 + SIZE);
  }

  static float at(float[] x, int c, int i, int j) {
    return x[(c * H + i) * W + j];
  }

  static float[] image() {
    return Arrays.copyOfRange(encoded(C, H, W, OFF), OFF, OFF + SIZE);
  }

  @Test
  void viewCounts() {
    assertEquals(1, TestTimeAugmentation.NONE.views());
    assertEquals(2, TestTimeAugmentation.FLIP.views());
    assertEquals(10, TestTimeAugmentation.CROP10.views());
  }

  @Test
  void noneAndFlipViews() {
    assertArrayEquals(image(), view(TestTimeAugmentation.NONE, 0, 0));
    assertArrayEquals(image(), view(TestTimeAugmentation.FLIP, 0, 0));
    float[] flipped = view(TestTimeAugmentation.FLIP, 1, 0);
    for (int c = 0; c < C; c++) {
      for (int i = 0; i < H; i++) for (int j = 0; j < W; j++) assertEquals(value(c, i, W - 1 - j), at(flipped, c, i, j));
    }
    assertThrows(IllegalArgumentException.class, () -> view(TestTimeAugmentation.FLIP, 2, 0));
  }

  @Test
  void crop10CentreIsTheImageAndEveryViewFollowsItsOffset() {
    int pad = 2;
    assertArrayEquals(image(), view(TestTimeAugmentation.CROP10, 4, pad));
    int[][] offsets = {{0, 0}, {0, 2 * pad}, {2 * pad, 0}, {2 * pad, 2 * pad}, {pad, pad}};
    for (int v = 0; v < 10; v++) {
      float[] out = view(TestTimeAugmentation.CROP10, v, pad);
      int dy = offsets[v % 5][0], dx = offsets[v % 5][1];
      for (int c = 0; c < C; c++) {
        for (int i = 0; i < H; i++) {
          for (int j = 0; j < W; j++) {
            int jj = v >= 5 ? W - 1 - j : j; // flipped views read the unflipped window mirrored
            int si = i + dy - pad, sj = jj + dx - pad;
            boolean inside = si >= 0 && si < H && sj >= 0 && sj < W;
            assertEquals(inside ? value(c, si, sj) : 0f, at(out, c, i, j), "view " + v + " at " + c + "," + i + "," + j);
          }
        }
      }
    }
  }

  @Test
  void cornerViewsHaveZeroBordersOnTheExpectedSides() {
    int pad = 1;
    float[] topLeft = view(TestTimeAugmentation.CROP10, 0, pad);
    float[] bottomRight = view(TestTimeAugmentation.CROP10, 3, pad);
    float[] topRight = view(TestTimeAugmentation.CROP10, 1, pad);
    for (int c = 0; c < C; c++) {
      for (int j = 0; j < W; j++) {
        assertEquals(0f, at(topLeft, c, 0, j), "top-left view: top row");
        assertEquals(0f, at(bottomRight, c, H - 1, j), "bottom-right view: bottom row");
        assertEquals(0f, at(topRight, c, 0, j), "top-right view: top row");
      }
      for (int i = 0; i < H; i++) {
        assertEquals(0f, at(topLeft, c, i, 0), "top-left view: left column");
        assertEquals(0f, at(bottomRight, c, i, W - 1), "bottom-right view: right column");
        assertEquals(0f, at(topRight, c, i, W - 1), "top-right view: right column");
      }
      assertEquals(value(c, 0, 0), at(topLeft, c, 1, 1));
      assertEquals(value(c, H - 1, W - 1), at(bottomRight, c, H - 2, W - 2));
      assertTrue(at(topRight, c, 1, 0) != 0f, "top-right view: left column is image");
    }
  }

  @Test
  void parseAndErrors() {
    assertEquals(TestTimeAugmentation.NONE, TestTimeAugmentation.parse("none", "tta"));
    assertEquals(TestTimeAugmentation.NONE, TestTimeAugmentation.parse(" ", "tta"));
    assertEquals(TestTimeAugmentation.FLIP, TestTimeAugmentation.parse("Flip", "tta"));
    assertEquals(TestTimeAugmentation.CROP10, TestTimeAugmentation.parse("crop10", "tta"));
    for (TestTimeAugmentation t : TestTimeAugmentation.values()) {
      assertEquals(t, TestTimeAugmentation.parse(t.toString(), "tta"));
    }
    UserError e = assertThrows(UserError.class, () -> TestTimeAugmentation.parse("crop5", "evaluate.tta"));
    assertEquals("evaluate.tta: unknown test-time augmentation 'crop5' (known: none, flip, crop10)", e.getMessage());
  }
}
