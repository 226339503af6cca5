package dev.sparktrain.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One benchmark GEMM, C(M×N) = op(A)(M×K)·op(B)(K×N) + beta·C, with the transposes, strides and beta that
 * {@code dev.sparktrain.nn.Dense} uses, so that a benchmark figure is the figure of a real training call.
 *
 * <p>Dense keeps x as N×C, W as C×K and y as N×K (N batch, C inputs, K outputs). Its three calls:
 * <pre>
 *   fwd  y  = x·W     (N×C)(C×K)   beta 1: the bias is copied into y first
 *   dW   dW = xᵀ·dY   (C×N)(N×K)   transA
 *   dX   dX = dY·Wᵀ   (N×K)(K×C)   transB; the first layer skips it
 * </pre>
 */
public record GemmShape(String label, boolean transA, boolean transB, int m, int n, int k, float beta) {
  /** The `mlp` workload's layers: 784-512-256-10. */
  private static final int[] MLP_WIDTHS = {784, 512, 256, 10};
  /** Per-task batches: global batch 128 over 2 partitions gives 64; one partition gives 128. */
  private static final int[] BATCHES = {64, 128};

  /** Every GEMM of one MLP training step, at both batches, in label order. */
  public static final Map<String, GemmShape> MLP = mlpShapes();

  /**
   * The shapes a default report measures: the two big fc1 calls, the transB call and the 10-wide output layer,
   * at both batches. Together they cover each transpose case and the shape kernels find hardest.
   */
  public static final List<String> DEFAULT = List.of(
      "fc1.fwd.b64", "fc1.dW.b64", "fc2.dX.b64", "fc3.fwd.b64",
      "fc1.fwd.b128", "fc1.dW.b128", "fc2.dX.b128", "fc3.fwd.b128");

  public GemmShape {
    if (label == null || label.isBlank()) throw new IllegalArgumentException("label must not be blank");
    if (m <= 0 || n <= 0 || k <= 0) {
      throw new IllegalArgumentException("dimensions must be positive: m=" + m + " n=" + n + " k=" + k);
    }
  }

  /** The MLP shape with this label; the message lists the valid labels. */
  public static GemmShape named(String label) {
    GemmShape shape = MLP.get(label);
    if (shape == null) throw new IllegalArgumentException("unknown shape '" + label + "'; known: " + MLP.keySet());
    return shape;
  }

  public int lda() {
    return transA ? m : k;
  }

  public int ldb() {
    return transB ? k : n;
  }

  public int ldc() {
    return n;
  }

  /** Floating-point operations of one call: a multiply and an add per (i, j, p). */
  public long flops() {
    return 2L * m * n * k;
  }

  /** The operands as op(A)·op(B) with the BLAS transpose flags, e.g. "(784×64)(64×512) TN". */
  public String operands() {
    return "(" + m + "×" + k + ")(" + k + "×" + n + ") " + (transA ? "T" : "N") + (transB ? "T" : "N");
  }

  private static Map<String, GemmShape> mlpShapes() {
    List<GemmShape> shapes = new ArrayList<>();
    for (int batch : BATCHES) {
      for (int layer = 1; layer < MLP_WIDTHS.length; layer++) {
        int in = MLP_WIDTHS[layer - 1], out = MLP_WIDTHS[layer];
        String name = "fc" + layer;
        shapes.add(new GemmShape(name + ".fwd.b" + batch, false, false, batch, out, in, 1f));
        shapes.add(new GemmShape(name + ".dW.b" + batch, true, false, in, out, batch, 0f));
        if (layer > 1) shapes.add(new GemmShape(name + ".dX.b" + batch, false, true, batch, in, out, 0f));
      }
    }
    Map<String, GemmShape> byLabel = new LinkedHashMap<>();
    for (GemmShape s : shapes) byLabel.put(s.label(), s);
    return Collections.unmodifiableMap(byLabel);
  }
}
