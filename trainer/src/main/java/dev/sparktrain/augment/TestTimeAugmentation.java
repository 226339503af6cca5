package dev.sparktrain.augment;

import dev.sparktrain.UserError;
import java.util.Locale;

/**
 * Fixed views of a test image for test-time augmentation; the caller predicts every view and averages the
 * softmax probabilities over the {@link #views()} views (not the logits) before taking the argmax.
 *
 * <ul>
 *   <li>NONE: view 0 is the image.
 *   <li>FLIP: view 0 is the image, view 1 its horizontal flip.
 *   <li>CROP10: views 0..4 are H×W windows of the image zero-padded by pad on each side, at offsets (dy,dx) =
 *       (0,0), (0,2·pad), (2·pad,0), (2·pad,2·pad) — the four corners — and (pad,pad), the centre, which is the
 *       image itself; views 5..9 are views 0..4 flipped. Matches training with {@code crop(pad), flip}.
 * </ul>
 */
public enum TestTimeAugmentation {
  NONE(1), FLIP(2), CROP10(10);

  private final int views;

  TestTimeAugmentation(int views) {
    this.views = views;
  }

  public int views() {
    return views;
  }

  /**
   * Writes view v of src[srcOff, ...), a (C,H,W) image, to dst[dstOff, ...), also (C,H,W) and not overlapping
   * src. pad is used by CROP10 only.
   */
  public void view(int v, float[] src, int srcOff, int c, int h, int w, int pad, float[] dst, int dstOff) {
    if (v < 0 || v >= views) throw new IllegalArgumentException(this + " has views 0.." + (views - 1) + ", not " + v);
    switch (this) {
      case NONE, FLIP -> {
        System.arraycopy(src, srcOff, dst, dstOff, c * h * w);
        if (v == 1) Augmentation.Flip.mirror(dst, dstOff, c, h, w);
      }
      case CROP10 -> {
        if (pad < 0) throw new IllegalArgumentException("crop10 pad must be ≥ 0, not " + pad);
        int corner = v % 5;
        int dy = corner == 4 ? pad : (corner / 2) * 2 * pad, dx = corner == 4 ? pad : (corner % 2) * 2 * pad;
        Augmentation.Crop.window(src, srcOff, c, h, w, pad, dy, dx, dst, dstOff);
        if (v >= 5) Augmentation.Flip.mirror(dst, dstOff, c, h, w);
      }
    }
  }

  /** Parses none, flip or crop10 (case-insensitive; blank is none); errors name the setting. */
  public static TestTimeAugmentation parse(String text, String setting) {
    String t = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
    return switch (t) {
      case "", "none" -> NONE;
      case "flip" -> FLIP;
      case "crop10" -> CROP10;
      default -> throw new UserError(setting + ": unknown test-time augmentation '" + text.trim()
          + "' (known: none, flip, crop10)");
    };
  }

  @Override public String toString() {
    return name().toLowerCase(Locale.ROOT);
  }
}
