package dev.sparktrain.bench;

import dev.sparktrain.tensor.NaiveGemm;
import java.util.List;

/**
 * Loads a candidate and checks it against the naive GEMM before any timing, so that an implementation that
 * cannot load is reported as unavailable, and one that computes the wrong thing is never timed.
 *
 * <p>The check shapes are awkward on purpose: odd sizes, every transpose case, beta 1, and operands that
 * start 3 floats into their arrays.
 */
public final class CandidateProbe {
  /** The outcome: available with what runs (e.g. "netlib:JNIBLAS /usr/...") or unavailable with the reason. */
  public record Availability(String impl, boolean available, String detail) {}

  private static final List<GemmShape> CHECKS = List.of(
      new GemmShape("check.nn", false, false, 7, 13, 5, 1f),
      new GemmShape("check.tn", true, false, 67, 33, 129, 1f),
      new GemmShape("check.nt", false, true, 33, 67, 17, 1f),
      new GemmShape("check.tt", true, true, 20, 9, 31, 1f));
  private static final int OFFSET = 3;
  private static final long SEED = 42;

  private CandidateProbe() {}

  public static Availability check(GemmCandidate candidate) {
    try {
      String detail = candidate.describe();
      for (GemmShape shape : CHECKS) {
        String mismatch = compare(candidate, shape);
        if (mismatch != null) return new Availability(candidate.id, false, "wrong result: " + mismatch);
      }
      return new Availability(candidate.id, true, detail);
    } catch (Throwable e) { // linkage errors included: a missing native library or module is "unavailable"
      return new Availability(candidate.id, false, rootCause(e));
    }
  }

  /** Null when the candidate matches the naive GEMM on this shape, else where it first differs. */
  private static String compare(GemmCandidate candidate, GemmShape shape) {
    GemmOperands expected = new GemmOperands(shape, OFFSET, SEED);
    GemmCall.of(NaiveGemm.INSTANCE, expected).run();
    float[] actual;
    try (GemmCall call = candidate.bind(new GemmOperands(shape, OFFSET, SEED))) {
      call.run();
      actual = call.result();
    }
    // Inputs lie in [-1, 1): a sum of k products rounds to within a few ulps of k, far below 1e-5·k.
    float tolerance = 1e-5f * shape.k();
    for (int i = 0; i < expected.c.length; i++) {
      if (!(Math.abs(actual[i] - expected.c[i]) <= tolerance)) {
        return shape.label() + " " + shape.operands() + " element " + i + ": " + actual[i] + " vs " + expected.c[i];
      }
    }
    return null;
  }

  private static String rootCause(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) root = root.getCause();
    String message = root.getMessage();
    return root.getClass().getSimpleName() + (message == null ? "" : ": " + message);
  }
}
