package dev.sparktrain.optim;

import java.util.Arrays;

/**
 * Builds the per-parameter masks that {@link Blocks#addL2}, {@link Blocks#decoupledWeightDecay} and
 * {@link Blocks#freeze} take, from half-open index ranges {@code {from, to}} of the flat parameter vector.
 *
 * <p>A layer's weights and biases are contiguous slices of that vector, so a mask is a list of slices. For weight
 * decay, pass the weight slices to {@link #of} (or the bias and normalisation slices to {@link #allExcept}); for
 * transfer learning, pass the slices of the layers to freeze.
 */
public final class ParamMask {
  private ParamMask() {}

  /** A mask of {@code size} entries that is true inside the given ranges and false elsewhere. */
  public static boolean[] of(int size, int[]... ranges) {
    boolean[] mask = new boolean[size];
    fill(mask, true, ranges);
    return mask;
  }

  /** A mask of {@code size} entries that is false inside the given ranges and true elsewhere. */
  public static boolean[] allExcept(int size, int[]... ranges) {
    boolean[] mask = new boolean[size];
    Arrays.fill(mask, true);
    fill(mask, false, ranges);
    return mask;
  }

  private static void fill(boolean[] mask, boolean value, int[][] ranges) {
    for (int[] r : ranges) {
      if (r.length != 2 || r[0] < 0 || r[0] > r[1] || r[1] > mask.length) {
        throw new IllegalArgumentException(
            "range " + Arrays.toString(r) + " is not {from, to} with 0 ≤ from ≤ to ≤ " + mask.length);
      }
      Arrays.fill(mask, r[0], r[1], value);
    }
  }

  /** Checks that a mask (null meaning "all parameters") covers exactly {@code size} parameters. */
  static void checkSize(boolean[] mask, int size, String what) {
    if (mask != null && mask.length != size) {
      throw new IllegalArgumentException(what + " mask has " + mask.length + " entries for " + size + " parameters");
    }
  }
}
