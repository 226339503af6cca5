package dev.sparktrain.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The first half of {@link MaxPool2d}'s 2×2 stride-2 forward on the JDK Vector API: for every adjacent pair
 * (x[2i], x[2i+1]) of a span, the winner's key ({@link MaxPool2d#key}) and its index, the right one only if its
 * key is strictly greater. When the rows have even width, a plane's pairs are contiguous across its rows, so one
 * pass covers the plane without a tail per row. {@link MaxPool2d#pairsScalar} is the twin, and the tail.
 *
 * <p>The pairs are never separated into even and odd vectors: the keys are computed in place, and viewing each
 * pair as one 64-bit lane, a shift by 32 brings the right key under the left one. So the results land at the even
 * positions, key[2i] and idx[2i]; the odd positions are scratch.
 *
 * <p>Loaded only when the {@code jdk.incubator.vector} module is present (see {@link GemmChoice}). {@link
 * #INSTANCE} is null where the API is missing, has fewer than 8 int lanes, or disagrees with the twin on a probe.
 */
final class PairMax {
  private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
  private static final VectorSpecies<Integer> S = IntVector.SPECIES_256;
  private static final int L = S.length();
  private static final IntVector ZERO = IntVector.zero(S), ONE = IntVector.broadcast(S, 1);
  private static final IntVector IOTA = ZERO.addIndex(1);
  private static final int NAN_BITS_ABOVE = 0x7F800000;

  static final PairMax INSTANCE = make();

  private PairMax() {}

  private static PairMax make() {
    try {
      if (IntVector.SPECIES_PREFERRED.length() < L) return null;  // no 256-bit registers: the scalar loop is faster
      PairMax p = new PairMax();
      float[] x = {1, 2, 4, 3, Float.NaN, 0, 5, 5, -0f, 0f, 7, 8, 9, Float.NaN, 1, 1};
      int[] k = new int[16], idx = new int[16], kRef = new int[16], idxRef = new int[16];
      p.pairs(x, 0, 8, k, idx);
      MaxPool2d.pairsScalar(x, 0, 0, 8, kRef, idxRef);
      for (int i = 0; i < 8; i++) if (k[2 * i] != kRef[2 * i] || idx[2 * i] != idxRef[2 * i]) return null;
      return p;
    } catch (LinkageError | RuntimeException e) {
      return null;
    }
  }

  /**
   * For the pairs i in [0, pairs): key[2i] and idx[2i] (relative to xOff: 2i, or 2i + 1) of the winner of
   * (x[xOff + 2i], x[xOff + 2i + 1]); key and idx hold 2·pairs ints, the odd ones scratch.
   */
  void pairs(float[] x, int xOff, int pairs, int[] key, int[] idx) {
    int j = 0, end = 2 * pairs;
    for (; j + L <= end; j += L) {
      IntVector k = key((IntVector) FloatVector.fromArray(F, x, xOff + j).reinterpretAsInts());
      IntVector right = (IntVector) k.reinterpretAsLongs().lanewise(VectorOperators.LSHR, 32).reinterpretAsInts();
      VectorMask<Integer> wins = right.compare(VectorOperators.GT, k);
      k.blend(right, wins).intoArray(key, j);
      IOTA.add(j).add(ZERO.blend(ONE, wins)).intoArray(idx, j);
    }
    MaxPool2d.pairsScalar(x, xOff, j / 2, pairs, key, idx);
  }

  private static IntVector key(IntVector bits) {
    IntVector sign = bits.lanewise(VectorOperators.ASHR, 31), magnitude = bits.and(0x7FFFFFFF);
    IntVector k = magnitude.lanewise(VectorOperators.XOR, sign).sub(sign);
    return k.blend(Integer.MIN_VALUE, magnitude.compare(VectorOperators.GT, NAN_BITS_ABOVE));
  }
}
