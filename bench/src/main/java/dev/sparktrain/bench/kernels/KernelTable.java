package dev.sparktrain.bench.kernels;

import dev.sparktrain.bench.GemmShape;
import dev.sparktrain.tensor.Conv2dShape;
import dev.sparktrain.tensor.Pool2dShape;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;
import org.openjdk.jmh.results.RunResult;

/**
 * The report's rows: JMH's times per call turned into GFLOP/s (GEMM, convolution) or GB/s (max pooling, batch
 * norm), each beside its OpenBLAS reference, rendered as markdown tables and as JSON.
 *
 * <p>References: a GEMM row's is the same shape through OpenBLAS; a convolution's is the equivalent single
 * GEMM(s) over the whole batch (forward W·col; backward dW, plus dcol when dx is computed); a memory-bound
 * kernel's is the time of the OpenBLAS GEMM(s) of the same pass of the conv layer whose output it processes.
 */
final class KernelTable {
  /**
   * One benchmark. work is flops per call (compute rows) or bytes per call (memory rows); ns and refNs are mean
   * times per call, NaN when missing; spread is (slowest − fastest iteration) / mean. gemmNs (convolutions
   * only) is the time of the GEMMs inside the call: N × our per-example GEMMs, measured separately.
   */
  record Row(String name, String shape, String detail, boolean memory, double work, long elements, int perStep,
             double ns, double spread, String ref, double refNs, double gemmNs) {
    double rate() {
      return work / ns; // per ns = giga per s
    }

    double refGflops() {
      return memory ? Double.NaN : work / refNs;
    }

    /** Compute rows: ours/OpenBLAS GFLOP/s. Memory rows: NaN (see timeVsRef). */
    double vsOpenblas() {
      return memory ? Double.NaN : refNs / ns;
    }

    double timeVsRef() {
      return memory ? ns / refNs : Double.NaN;
    }
  }

  private static final String GEMM = "KernelGemmBenchmark.sgemm", OURS = KernelGemmBenchmark.OURS,
      OPENBLAS = KernelGemmBenchmark.OPENBLAS;

  /** Benchmark key (see {@link #key}) → {mean, min, max} ns per call. */
  private final Map<String, double[]> scores = new LinkedHashMap<>();
  final List<Row> rows = new ArrayList<>();

  KernelTable(List<RunResult> results) {
    for (RunResult r : results) {
      var p = r.getParams();
      String bench = p.getBenchmark();
      bench = bench.substring(bench.lastIndexOf('.', bench.lastIndexOf('.') - 1) + 1);
      Map<String, String> params = new TreeMap<>();
      for (String k : p.getParamsKeys()) params.put(k, p.getParam(k));
      var stats = r.getPrimaryResult().getStatistics();
      scores.put(key(bench, params.values().toArray(String[]::new)),
          new double[] {stats.getMean(), stats.getMin(), stats.getMax()});
    }
    for (String label : Workload.CNN) rows.add(gemmRow(label));
    for (String label : Workload.MLP) rows.add(gemmRow(label));
    for (String label : Workload.CONV_BATCH) {
      GemmShape s = Workload.gemm(label);
      rows.add(row("openblas_sgemm", label, s.operands(), false, s.flops(), 0, 1, key(GEMM, OPENBLAS, label), "",
          Double.NaN));
    }
    for (String layer : List.of("conv1", "conv2")) {
      Conv2dShape c = Workload.conv(layer);
      double flops = 2.0 * c.k() * c.c() * c.r() * c.s() * c.p() * c.q() * Workload.N;
      String detail = String.format("(%d,%d,%d)→(%d,%d,%d) %d×%d pad %d, n=%d",
          c.c(), c.h(), c.w(), c.k(), c.p(), c.q(), c.r(), c.s(), c.pad(), Workload.N);
      boolean dx = Workload.needsDx(layer);
      String cnn = "cnn." + layer;
      rows.add(row("conv2d.forward", layer, detail, false, flops, 0, 1, key("ConvBenchmark.forward", layer),
          layer + ".fwd.n64", Workload.N * sum(OURS, cnn + ".fwd")));
      rows.add(row("conv2d.backward", layer, detail + (dx ? "" : ", dx=null"), false, dx ? 2 * flops : flops, 0, 1,
          key("ConvBenchmark.backward", layer), backwardRef(layer),
          Workload.N * sum(OURS, cnn + ".dW" + (dx ? "+" + cnn + ".dcol" : ""))));
    }
    for (String layer : List.of("pool1", "pool2")) {
      Pool2dShape s = Workload.pool(layer);
      long in = (long) Workload.N * s.inSize(), out = (long) Workload.N * s.outSize();
      String detail = String.format("(%d,%d,%d)→(%d,%d,%d) 2×2 stride 2, n=%d",
          s.c(), s.h(), s.w(), s.c(), s.p(), s.q(), Workload.N);
      String conv = "conv" + layer.substring(4);
      // forward reads x, writes y and the int argmax; backward zero-fills dx, reads argmax and dy
      for (String pass : List.of("forward", "backward")) {
        rows.add(row("maxpool." + pass, layer, detail, true, 4.0 * (in + 2 * out), in, 1,
            key("PoolBenchmark." + pass, layer), pass.equals("forward") ? conv + ".fwd.n64" : backwardRef(conv),
            Double.NaN));
      }
    }
    for (String layer : List.of("bn1", "bn2")) {
      Conv2dShape c = Workload.convBefore(layer);
      long size = (long) Workload.N * c.outSize();
      String detail = String.format("C=%d, H·W=%d, n=%d", c.k(), c.p() * c.q(), Workload.N);
      String conv = "conv" + layer.substring(2);
      // forward reads x, writes y and x̂; backward reads dy and x̂, writes dx: 3 floats per element each
      for (String pass : List.of("forward", "backward")) {
        rows.add(row("batchnorm." + pass, layer, detail, true, 12.0 * size, size, 1,
            key("BatchNormBenchmark." + pass, layer), pass.equals("forward") ? conv + ".fwd.n64" : backwardRef(conv),
            Double.NaN));
      }
    }
  }

  /** The OpenBLAS GEMMs equivalent to a conv layer's backward over the batch: dW, and dcol when dx is needed. */
  private static String backwardRef(String convLayer) {
    return convLayer + ".dW.n64" + (Workload.needsDx(convLayer) ? "+" + convLayer + ".dcol.n64" : "");
  }

  static String key(String bench, String... params) {
    return bench + "|" + String.join("|", params);
  }

  private Row gemmRow(String label) {
    GemmShape s = Workload.gemm(label);
    return row("gemm", label, s.operands(), false, s.flops(), 0, Workload.PER_STEP.get(label),
        key(GEMM, OURS, label), label, Double.NaN);
  }

  /** ref: "+"-separated labels of OpenBLAS GEMMs whose times add up to the reference; empty for none. */
  private Row row(String name, String shape, String detail, boolean memory, double work, long elements,
                  int perStep, String key, String ref, double gemmNs) {
    double[] s = scores.getOrDefault(key, new double[] {Double.NaN, Double.NaN, Double.NaN});
    return new Row(name, shape, detail, memory, work, elements, perStep, s[0], (s[2] - s[1]) / s[0], ref,
        ref.isEmpty() ? Double.NaN : sum(OPENBLAS, ref), gemmNs);
  }

  /** The sum of the mean times per call of the GEMMs labelled a+b+..., through impl; NaN if one is missing. */
  private double sum(String impl, String labels) {
    double ns = 0;
    for (String label : labels.split("\\+")) {
      ns += scores.getOrDefault(key(GEMM, impl, label), new double[] {Double.NaN})[0];
    }
    return ns;
  }

  /** Geometric mean of ours/OpenBLAS over the GEMM rows of these labels; NaN if any is missing. */
  double geomeanVsOpenblas(List<String> labels) {
    double logSum = 0;
    for (String label : labels) logSum += Math.log(gemm(label).vsOpenblas());
    return Math.exp(logSum / labels.size());
  }

  /** Milliseconds of GEMM in one training step of one task: Σ calls/step × time per call, ours or OpenBLAS. */
  double msPerStep(List<String> labels, boolean openblas) {
    double ns = 0;
    for (String label : labels) {
      Row r = gemm(label);
      ns += r.perStep() * (openblas ? r.refNs() : r.ns());
    }
    return ns / 1e6;
  }

  private Row gemm(String label) {
    return rows.stream().filter(r -> r.name().equals("gemm") && r.shape().equals(label)).findFirst().orElseThrow();
  }

  boolean anyMissing() {
    return rows.stream().anyMatch(r -> Double.isNaN(r.ns()));
  }

  List<Map<String, Object>> json() {
    List<Map<String, Object>> out = new ArrayList<>();
    for (Row r : rows) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("name", r.name());
      m.put("shape", r.shape());
      m.put("detail", r.detail());
      m.put("status", Double.isNaN(r.ns()) ? "failed" : "ok");
      m.put("ns_per_call", round(r.ns(), 1));
      m.put("spread", round(r.spread(), 3));
      if (r.memory()) {
        m.put("gbps", round(r.rate(), 2));
        m.put("bytes_per_call", (long) r.work());
        m.put("elements_per_s", round(r.elements() / r.ns() * 1e9, -6));
        m.put("openblas_ref", r.ref());
        m.put("openblas_ns_per_call", round(r.refNs(), 1));
        m.put("time_vs_openblas_ref", round(r.timeVsRef(), 3));
      } else {
        m.put("gflops", round(r.rate(), 2));
        m.put("flops_per_call", (long) r.work());
        if (r.name().equals("gemm")) m.put("calls_per_step", r.perStep());
        if (!r.ref().isEmpty()) {
          m.put("openblas_ref", r.ref());
          m.put("openblas_ns_per_call", round(r.refNs(), 1));
          m.put("openblas_gflops", round(r.refGflops(), 2));
          m.put("vs_openblas", round(r.vsOpenblas(), 3));
        }
        if (!Double.isNaN(r.gemmNs())) {
          m.put("gemm_ns_in_call", round(r.gemmNs(), 1));
          m.put("gemm_share", round(r.gemmNs() / r.ns(), 3));
        }
      }
      out.add(m);
    }
    return out;
  }

  /** Three markdown tables: GEMMs, convolutions, memory-bound kernels. */
  String markdown() {
    StringBuilder t = new StringBuilder();
    t.append("| GEMM | op(A)·op(B) | calls/step | ours µs | ours GFLOP/s | OpenBLAS GFLOP/s | ours/OpenBLAS |\n")
        .append("|---|---|---:|---:|---:|---:|---:|\n");
    gemmRows(t, r -> r.shape().startsWith("cnn."));
    t.append(String.format("| **geometric mean, cnn** | | | | | | **%.2f** |%n", geomeanVsOpenblas(Workload.CNN)));
    gemmRows(t, r -> r.shape().startsWith("mlp."));
    t.append(String.format("| **geometric mean, mlp** | | | | | | **%.2f** |%n", geomeanVsOpenblas(Workload.MLP)));
    for (Row r : rows) {
      if (!r.name().equals("openblas_sgemm")) continue;
      t.append(String.format("| %s | %s | | | | %.1f | |%n", r.shape(), r.detail(), r.rate()));
    }
    t.append('\n').append("| convolution | layer | GFLOP/call | ours ms | of which GEMM | ours GFLOP/s | OpenBLAS GFLOP/s | ours/OpenBLAS | OpenBLAS GEMMs |\n")
        .append("|---|---|---:|---:|---:|---:|---:|---:|---|\n");
    for (Row r : rows) {
      if (!r.name().startsWith("conv2d.")) continue;
      t.append(String.format("| %s | %s: %s | %.3f | %.2f | %.0f%% | %.1f | %.1f | %.2f | %s |%n", r.name(),
          r.shape(), r.detail(), r.work() / 1e9, r.ns() / 1e6, 100 * r.gemmNs() / r.ns(), r.rate(), r.refGflops(),
          r.vsOpenblas(), r.ref()));
    }
    t.append('\n').append("| memory-bound | layer | MB/call | µs/call | GB/s | Gelem/s | OpenBLAS GEMMs | their µs | kernel/GEMMs time |\n")
        .append("|---|---|---:|---:|---:|---:|---|---:|---:|\n");
    for (Row r : rows) {
      if (!r.memory()) continue;
      t.append(String.format("| %s | %s: %s | %.1f | %.0f | %.1f | %.2f | %s | %.0f | %.2f |%n", r.name(), r.shape(),
          r.detail(), r.work() / 1e6, r.ns() / 1e3, r.rate(), r.elements() / r.ns(), r.ref(), r.refNs() / 1e3,
          r.timeVsRef()));
    }
    rows.stream().filter(r -> Double.isFinite(r.spread())).max(Comparator.comparingDouble(Row::spread))
        .ifPresent(r -> t.append(String.format("%nwidest spread between iterations: %.0f%% of the mean (%s %s)%n",
            100 * r.spread(), r.name(), r.shape())));
    return t.toString();
  }

  private void gemmRows(StringBuilder t, Predicate<Row> which) {
    for (Row r : rows) {
      if (!r.name().equals("gemm") || !which.test(r)) continue;
      t.append(String.format("| %s | %s | %d | %.1f | %.1f | %.1f | %.2f |%n", r.shape(), r.detail(), r.perStep(),
          r.ns() / 1e3, r.rate(), r.refGflops(), r.vsOpenblas()));
    }
  }

  /** Rounded to digits decimals (negative: to tens, hundreds, ...); NaN stays NaN (null in JSON). */
  static double round(double x, int digits) {
    double scale = Math.pow(10, digits);
    return Double.isFinite(x) ? Math.round(x * scale) / scale : Double.NaN;
  }
}
