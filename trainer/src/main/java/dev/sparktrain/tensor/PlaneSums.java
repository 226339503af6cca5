package dev.sparktrain.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link BatchNorm}'s and {@link Conv2d}'s (the bias gradient's) plane reductions on the JDK Vector API, four
 * planes at a time, with the same bits as their scalar loops. Those keep four float accumulators per plane,
 * accumulator l taking the values at s ≡ l (mod 4) in order; here one 4-lane vector per plane is exactly those
 * four accumulators, and four planes give four independent chains of adds, so the adds' latency no longer bounds
 * the loop. Each plane yields its two pair sums (a0 + a1 and a2 + a3, after the scalar tail has gone into a0),
 * which the caller adds into its doubles in plane order, as before.
 *
 * <p>Loaded only when the {@code jdk.incubator.vector} module is present; {@link #INSTANCE} is null where it is
 * not, or where a probe disagrees with the scalar loops.
 */
final class PlaneSums {
  private static final VectorSpecies<Float> S = FloatVector.SPECIES_128;

  static final PlaneSums INSTANCE = make();

  private PlaneSums() {}

  private static PlaneSums make() {
    try {
      PlaneSums p = new PlaneSums();
      int hw = 19;
      float[] x = new float[4 * hw], out = new float[16], ref = new float[16];
      for (int i = 0; i < x.length; i++) x[i] = (float) Math.sin(i * 0.7) * (1 + i % 5);
      p.shifted(x, 0, hw, 2 * hw, 3 * hw, 0.25f, -1f, 3f, 0.5f, hw, out);
      float[] k = {0.25f, -1f, 3f, 0.5f};
      for (int i = 0; i < 4; i++) BatchNorm.shiftedPairSums(x, i * hw, k[i], hw, ref, 4 * i);
      if (!java.util.Arrays.equals(out, ref)) return null;
      p.sumAndDot(x, 0, hw, 2 * hw, 3 * hw, x, 3 * hw, 0, hw, 2 * hw, hw, out);
      for (int i = 0; i < 4; i++) BatchNorm.sumAndDotPairSums(x, i * hw, x, ((i + 3) % 4) * hw, hw, ref, 4 * i);
      if (!java.util.Arrays.equals(out, ref)) return null;
      java.util.Arrays.fill(out, 0f);
      java.util.Arrays.fill(ref, 0f);
      p.sums(x, 0, hw, 2 * hw, 3 * hw, hw, out);
      for (int i = 0; i < 4; i++) Conv2d.planePairSums(x, i * hw, hw, ref, 2 * i);
      return java.util.Arrays.equals(out, ref) ? p : null;
    } catch (LinkageError | RuntimeException e) {
      return null;
    }
  }

  /**
   * For the four planes of hw values at x[o0..o3], shifted by k0..k3: out[4i..4i+3] = the float pair sums of
   * Σ(x − k) then of Σ(x − k)² for plane i, as {@link BatchNorm#shiftedPairSums}.
   */
  void shifted(float[] x, int o0, int o1, int o2, int o3, float k0, float k1, float k2, float k3, int hw,
               float[] out) {
    FloatVector z = FloatVector.zero(S);
    FloatVector a0 = z, a1 = z, a2 = z, a3 = z, b0 = z, b1 = z, b2 = z, b3 = z;
    int s = 0;
    for (; s + 3 < hw; s += 4) {
      FloatVector d0 = FloatVector.fromArray(S, x, o0 + s).sub(k0), d1 = FloatVector.fromArray(S, x, o1 + s).sub(k1);
      FloatVector d2 = FloatVector.fromArray(S, x, o2 + s).sub(k2), d3 = FloatVector.fromArray(S, x, o3 + s).sub(k3);
      a0 = a0.add(d0);
      a1 = a1.add(d1);
      a2 = a2.add(d2);
      a3 = a3.add(d3);
      b0 = b0.add(d0.mul(d0));
      b1 = b1.add(d1.mul(d1));
      b2 = b2.add(d2.mul(d2));
      b3 = b3.add(d3.mul(d3));
    }
    finish(x, o0, k0, s, hw, a0, b0, out, 0);
    finish(x, o1, k1, s, hw, a1, b1, out, 4);
    finish(x, o2, k2, s, hw, a2, b2, out, 8);
    finish(x, o3, k3, s, hw, a3, b3, out, 12);
  }

  private static void finish(float[] x, int off, float k, int s, int hw, FloatVector a, FloatVector b, float[] out,
                             int at) {
    float a0 = a.lane(0), b0 = b.lane(0);
    for (; s < hw; s++) {
      float d = x[off + s] - k;
      a0 += d;
      b0 += d * d;
    }
    out[at] = a0 + a.lane(1);
    out[at + 1] = a.lane(2) + a.lane(3);
    out[at + 2] = b0 + b.lane(1);
    out[at + 3] = b.lane(2) + b.lane(3);
  }

  /**
   * For the four planes of hw values at a[a0..a3]: out[2i..2i+1] = the float pair sums (s0 + s1, s2 + s3) of Σa
   * for plane i, as {@link Conv2d#planePairSums}.
   */
  void sums(float[] a, int a0, int a1, int a2, int a3, int hw, float[] out) {
    FloatVector z = FloatVector.zero(S);
    FloatVector s0 = z, s1 = z, s2 = z, s3 = z;
    int s = 0;
    for (; s + 3 < hw; s += 4) {
      s0 = s0.add(FloatVector.fromArray(S, a, a0 + s));
      s1 = s1.add(FloatVector.fromArray(S, a, a1 + s));
      s2 = s2.add(FloatVector.fromArray(S, a, a2 + s));
      s3 = s3.add(FloatVector.fromArray(S, a, a3 + s));
    }
    finishSum(a, a0, s, hw, s0, out, 0);
    finishSum(a, a1, s, hw, s1, out, 2);
    finishSum(a, a2, s, hw, s2, out, 4);
    finishSum(a, a3, s, hw, s3, out, 6);
  }

  private static void finishSum(float[] a, int off, int s, int hw, FloatVector v, float[] out, int at) {
    float s0 = v.lane(0);
    for (; s < hw; s++) s0 += a[off + s];
    out[at] = s0 + v.lane(1);
    out[at + 1] = v.lane(2) + v.lane(3);
  }

  /**
   * For the four planes of hw values at a[a0..a3] and b[b0..b3]: out[4i..4i+3] = the float pair sums of Σa then
   * of Σa·b for plane i, as {@link BatchNorm#sumAndDotPairSums}.
   */
  void sumAndDot(float[] a, int a0, int a1, int a2, int a3, float[] b, int b0, int b1, int b2, int b3, int hw,
                 float[] out) {
    FloatVector z = FloatVector.zero(S);
    FloatVector s0 = z, s1 = z, s2 = z, s3 = z, p0 = z, p1 = z, p2 = z, p3 = z;
    int s = 0;
    for (; s + 3 < hw; s += 4) {
      FloatVector v0 = FloatVector.fromArray(S, a, a0 + s), v1 = FloatVector.fromArray(S, a, a1 + s);
      FloatVector v2 = FloatVector.fromArray(S, a, a2 + s), v3 = FloatVector.fromArray(S, a, a3 + s);
      s0 = s0.add(v0);
      s1 = s1.add(v1);
      s2 = s2.add(v2);
      s3 = s3.add(v3);
      p0 = p0.add(v0.mul(FloatVector.fromArray(S, b, b0 + s)));
      p1 = p1.add(v1.mul(FloatVector.fromArray(S, b, b1 + s)));
      p2 = p2.add(v2.mul(FloatVector.fromArray(S, b, b2 + s)));
      p3 = p3.add(v3.mul(FloatVector.fromArray(S, b, b3 + s)));
    }
    finishDot(a, a0, b, b0, s, hw, s0, p0, out, 0);
    finishDot(a, a1, b, b1, s, hw, s1, p1, out, 4);
    finishDot(a, a2, b, b2, s, hw, s2, p2, out, 8);
    finishDot(a, a3, b, b3, s, hw, s3, p3, out, 12);
  }

  private static void finishDot(float[] a, int aOff, float[] b, int bOff, int s, int hw, FloatVector sv,
                                FloatVector pv, float[] out, int at) {
    float s0 = sv.lane(0), p0 = pv.lane(0);
    for (; s < hw; s++) {
      s0 += a[aOff + s];
      p0 += a[aOff + s] * b[bOff + s];
    }
    out[at] = s0 + sv.lane(1);
    out[at + 1] = sv.lane(2) + sv.lane(3);
    out[at + 2] = p0 + pv.lane(1);
    out[at + 3] = pv.lane(2) + pv.lane(3);
  }
}
