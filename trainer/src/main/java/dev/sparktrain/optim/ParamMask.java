package dev.sparktrain.optim;

import java.util.Arrays;

/**
 * Builds the per-parameter masks that {@link Blocks#addL2}, {@link Blocks#decoupledWeightDecay} and
 * {@link Blocks#freeze} take, from half-open index ranges {@code {from, to}} of the flat parameter vector.
 *
 * <p>Each layer's weights and biases are contiguous slices of that vector, so a mask is a list of slices. For weight
 * decay pass the weight slices to {@link #of}, or the bias (and normalisation) slices to {@link #allExcept}; for
 * transfer learning pass the slices of the layers to freeze. Example, a 784→100 dense layer (weights 0..78400,
 * biases 78400..78500) followed by a 100→10 one (weights 78500..79500, biases 79500..79510):
 * <pre>boolean[] decay = ParamMask.allExcept(79510, new int[] {78400, 78500}, new int[] {79500, 79510});</pre>
 */
public final class ParamMask {
  private ParamMask() {}

  /** A mask of {@code size} entries, true inside the given ranges and false elsewhere. */
  public static boolean[] of(int size, int[]... ranges) {
    boolean[] mask = new boolean[size];
    fill(mask, true, ranges);
    return mask;
  }

  /** A mask of {@code size} entries, false inside the given ranges and true elsewhere. */
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

  /** Fails unless the mask (null meaning every parameter) has one entry per parameter. */
  static void checkSize(boolean[] mask, int size, String block) {
    if (mask != null && mask.length != size) {
      throw new IllegalArgumentException(block + ": mask has " + mask.length + " entries for " + size + " parameters");
    }
  }
}
