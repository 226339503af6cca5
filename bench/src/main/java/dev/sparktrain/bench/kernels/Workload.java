package dev.sparktrain.bench.kernels;

import dev.sparktrain.bench.GemmShape;
import dev.sparktrain.tensor.Conv2dShape;
import dev.sparktrain.tensor.Pool2dShape;
import dev.sparktrain.tensor.Rng;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The benchmarked shapes: the {@code cnn} network of conf/fashion-cnn.conf and the {@code mlp} (784-512-256-10)
 * at the per-task batch of 64 (global batch 128 over 2 partitions), and every GEMM their layers make.
 *
 * <pre>
 *   cnn: 1×28×28 → conv1(32, 3×3, pad 1) → BN1(32) → ReLU → pool1(2) → conv2(64, 3×3, pad 1) on 32×14×14
 *        → BN2(64) → ReLU → pool2(2) → flatten 3136 → fc1(128) → ReLU → fc2(10)
 * </pre>
 *
 * GEMMs follow {@link GemmShape}'s convention, op(A)(M×K)·op(B)(K×N) row-major. {@code Conv2d} makes one GEMM
 * per example (W·col, dY·colᵀ into dW, Wᵀ·dY into dcol); {@code Dense} one per batch (x·W, xᵀ·dY, dY·Wᵀ).
 * conv1 and mlp.fc1 are first layers, so training computes no input gradient for them: no conv1.dcol, no
 * mlp.fc1.dX. The {@code .n64} shapes are each conv GEMM done once for the whole batch, col being
 * CRS×(PQ·64): the reference for the convolution benchmarks.
 */
final class Workload {
  /** Examples per call: one task's share of the global batch of 128 over 2 partitions. */
  static final int N = 64;
  static final long SEED = 2024;

  static final Conv2dShape CONV1 = new Conv2dShape(1, 28, 28, 32, 3, 3, 1, 1);
  static final Conv2dShape CONV2 = new Conv2dShape(32, 14, 14, 64, 3, 3, 1, 1);
  static final Pool2dShape POOL1 = new Pool2dShape(32, 28, 28, 2, 2);
  static final Pool2dShape POOL2 = new Pool2dShape(64, 14, 14, 2, 2);

  /** Label → GEMM: the cnn's calls, then the mlp's, then the conv GEMMs over the whole batch. */
  static final Map<String, GemmShape> GEMMS = new LinkedHashMap<>();
  /** Label → how many times one training step of one task makes that GEMM (N for conv, 1 for dense). */
  static final Map<String, Integer> PER_STEP = new LinkedHashMap<>();
  static final List<String> CNN = new ArrayList<>(), MLP = new ArrayList<>(), CONV_BATCH = new ArrayList<>();

  static {
    conv("cnn.conv1", CONV1, false, 1, CNN);
    conv("cnn.conv2", CONV2, true, 1, CNN);
    dense("cnn.fc1", 3136, 128, true, CNN);
    dense("cnn.fc2", 128, 10, true, CNN);
    dense("mlp.fc1", 784, 512, false, MLP);
    dense("mlp.fc2", 512, 256, true, MLP);
    dense("mlp.fc3", 256, 10, true, MLP);
    conv("conv1", CONV1, false, N, CONV_BATCH);
    conv("conv2", CONV2, true, N, CONV_BATCH);
  }

  private Workload() {}

  static GemmShape gemm(String label) {
    GemmShape s = GEMMS.get(label);
    if (s == null) throw new IllegalArgumentException("unknown GEMM '" + label + "'; known: " + GEMMS.keySet());
    return s;
  }

  static Conv2dShape conv(String layer) {
    return switch (layer) {
      case "conv1" -> CONV1;
      case "conv2" -> CONV2;
      default -> throw new IllegalArgumentException("unknown conv layer " + layer);
    };
  }

  /** conv1 is the network's first layer: its backward computes no dx. */
  static boolean needsDx(String convLayer) {
    return !convLayer.equals("conv1");
  }

  static Pool2dShape pool(String layer) {
    return switch (layer) {
      case "pool1" -> POOL1;
      case "pool2" -> POOL2;
      default -> throw new IllegalArgumentException("unknown pool layer " + layer);
    };
  }

  /** BatchNorm normalizes the output of the conv with the same index: (C, H·W) = (K, P·Q). */
  static Conv2dShape convBefore(String bnLayer) {
    return conv("conv" + bnLayer.substring(bnLayer.length() - 1));
  }

  /** The GEMMs Conv2d makes, per example (batch 1) or over the whole batch (batch N), under prefix. */
  private static void conv(String prefix, Conv2dShape c, boolean dx, int batch, List<String> group) {
    int k = c.k(), crs = c.c() * c.r() * c.s(), cols = c.p() * c.q() * batch;
    String suffix = batch == 1 ? "" : ".n" + batch;
    int perStep = batch == 1 ? N : 1;
    add(new GemmShape(prefix + ".fwd" + suffix, false, false, k, cols, crs, 1f), perStep, group);
    add(new GemmShape(prefix + ".dW" + suffix, false, true, k, crs, cols, 1f), perStep, group);
    if (dx) add(new GemmShape(prefix + ".dcol" + suffix, true, false, crs, cols, k, 0f), perStep, group);
  }

  /** The GEMMs Dense makes on a batch of N: y = x·W (bias pre-filled, beta 1), dW = xᵀ·dY, dX = dY·Wᵀ. */
  private static void dense(String prefix, int in, int out, boolean dx, List<String> group) {
    add(new GemmShape(prefix + ".fwd", false, false, N, out, in, 1f), 1, group);
    add(new GemmShape(prefix + ".dW", true, false, in, out, N, 0f), 1, group);
    if (dx) add(new GemmShape(prefix + ".dX", false, true, N, in, out, 0f), 1, group);
  }

  private static void add(GemmShape s, int perStep, List<String> group) {
    GEMMS.put(s.label(), s);
    PER_STEP.put(s.label(), perStep);
    group.add(s.label());
  }

  /** A new array of seeded uniform values in [lo, hi); the key separates the streams of one benchmark. */
  static float[] random(int size, float lo, float hi, long key) {
    Rng rng = Rng.derive(SEED, Rng.INIT, key, size);
    float[] x = new float[size];
    for (int i = 0; i < size; i++) x[i] = lo + (hi - lo) * rng.nextFloat();
    return x;
  }
}
