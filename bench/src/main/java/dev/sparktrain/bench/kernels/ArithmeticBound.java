package dev.sparktrain.bench.kernels;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparktrain.bench.GemmCall;
import dev.sparktrain.bench.GemmOperands;
import dev.sparktrain.tensor.Gemm;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CyclicBarrier;

/**
 * The arithmetic bound of an epoch: the GEMM FLOPs one epoch of a {@link Workload} makes, over the rate the
 * trainer's own GEMM ({@code Gemm.best()}: netlib → native OpenBLAS on heap arrays, one BLAS thread each) reaches
 * on both cores at once, on the workload's own per-step GEMM sequence. No epoch can be faster than this without
 * a faster GEMM or fewer FLOPs; an epoch's time over it says what the rest (im2col, BatchNorm, pooling, the
 * optimizer, the step exchange, Spark) costs.
 *
 * <p>FLOPs, by hand from {@link Workload}'s shapes (2·M·N·K per GEMM, per example; Conv2d makes its GEMMs per
 * example, Dense per batch, so every GEMM is linear in the batch):
 * <pre>
 *   cnn conv1 fwd, dW   (32×9)(9×784)         2 × 2·32·784·9      =  0.903 M   (first layer: no dcol)
 *   cnn conv2 fwd, dW, dcol (64×288)(288×196) 3 × 2·64·196·288    = 21.676 M
 *   cnn fc1 fwd, dW, dX 3136→128              3 × 2·3136·128      =  2.408 M
 *   cnn fc2 fwd, dW, dX 128→10                3 × 2·128·10        =  0.008 M
 *                                                          cnn total 24.995 MFLOP per example (issue: ≈ 25)
 *   mlp fc1 fwd, dW     784→512               2 × 2·784·512       =  1.606 M   (first layer: no dX)
 *   mlp fc2 fwd, dW, dX 512→256               3 × 2·512·256       =  0.786 M
 *   mlp fc3 fwd, dW, dX 256→10                3 × 2·256·10        =  0.015 M
 *                                                          mlp total  2.407 MFLOP per example (issue: ≈ 2.4)
 * </pre>
 * An epoch is ceil(60000/128) = 469 steps ({@code MinibatchPlan.iterationsPerEpoch}): 468 of 128 examples and a
 * last one of 96. Because every GEMM is linear in the batch, the epoch's FLOPs are exactly 60,000 × the FLOPs
 * per example (cnn 1499.7 GFLOP, mlp 144.4 GFLOP), the same as 468.75 steps of 128. The rate is measured at the
 * per-task batch of 64 (two tasks per global batch); the last step's 48 per task is not measured apart.
 *
 * <p>The rate: two threads at once, each one task, each running its own copy of the per-step GEMM sequence
 * (Workload's per-step lists and counts) on its own operands. Each thread first runs one 1024³ GEMM (OpenBLAS's
 * cold start) and two steps; then the block of steps is timed {@code repeats} times, the threads starting each
 * block together at a barrier, and the fastest block counts (noise only adds time). Rate = both threads' FLOPs
 * over the block's wall time. Run with {@code OPENBLAS_NUM_THREADS=1}, as training does (scripts/bench sets it).
 */
public final class ArithmeticBound {
  /** Fashion-MNIST's training file, every example in every epoch (the bench trains without validation split). */
  static final int EXAMPLES = 60_000;
  static final int GLOBAL_BATCH = 128, TASKS = 2;

  private ArithmeticBound() {}

  /** FLOPs of one task's training step at the per-task batch {@link Workload#N}. */
  static long flopsPerTaskStep(List<String> labels) {
    long f = 0;
    for (String l : labels) f += Workload.PER_STEP.get(l) * Workload.gemm(l).flops();
    return f;
  }

  /** The workload's GEMM list: "cnn" or "mlp". */
  static List<String> labels(String workload) {
    return switch (workload) {
      case "cnn" -> Workload.CNN;
      case "mlp" -> Workload.MLP;
      default -> throw new IllegalArgumentException("workload must be cnn or mlp: " + workload);
    };
  }

  /** GFLOP per epoch: per-example FLOPs (per-task step over its N examples) times the epoch's examples. */
  static double gflopPerEpoch(String workload) {
    return (double) flopsPerTaskStep(labels(workload)) / Workload.N * EXAMPLES / 1e9;
  }

  /**
   * The best rate, in GFLOP/s, of {@code threads} threads each running {@code steps} task steps of the
   * workload at once, over {@code repeats} timed blocks.
   */
  static double gflopsOnCores(String workload, int threads, int steps, int repeats) throws Exception {
    List<String> labels = labels(workload);
    CyclicBarrier start = new CyclicBarrier(threads + 1), end = new CyclicBarrier(threads + 1);
    List<Thread> workers = new ArrayList<>();
    Throwable[] failure = new Throwable[1];
    for (int t = 0; t < threads; t++) {
      Thread w = new Thread(() -> {
        try {
          List<GemmCall> calls = new ArrayList<>();
          List<Integer> counts = new ArrayList<>();
          for (String l : labels) {
            calls.add(GemmCall.of(Gemm.best(), new GemmOperands(Workload.gemm(l), 0, Workload.SEED)));
            counts.add(Workload.PER_STEP.get(l));
          }
          try (GemmCall big = GemmCall.of(Gemm.best(), new GemmOperands(
              new dev.sparktrain.bench.GemmShape("warm-up", false, false, 1024, 1024, 1024, 0f), 0, 1))) {
            big.run();
          }
          for (int s = 0; s < 2; s++) step(calls, counts);
          for (int r = 0; r < repeats; r++) {
            start.await();
            for (int s = 0; s < steps; s++) step(calls, counts);
            end.await();
          }
        } catch (Throwable e) {
          synchronized (failure) {
            if (failure[0] == null) failure[0] = e;
          }
          start.reset();
          end.reset();
        }
      }, "bound-" + workload + "-" + t);
      w.setDaemon(true);
      workers.add(w);
      w.start();
    }
    long best = Long.MAX_VALUE;
    try {
      for (int r = 0; r < repeats; r++) {
        start.await();
        long t0 = System.nanoTime();
        end.await();
        best = Math.min(best, System.nanoTime() - t0);
      }
    } catch (java.util.concurrent.BrokenBarrierException e) {
      // a worker failed and broke the barriers: its exception, below, is the cause
    }
    for (Thread w : workers) w.join();
    if (failure[0] != null) throw new IllegalStateException("a GEMM thread failed", failure[0]);
    return (double) threads * steps * flopsPerTaskStep(labels) / best;  // FLOP per ns = GFLOP/s
  }

  private static void step(List<GemmCall> calls, List<Integer> counts) {
    for (int i = 0; i < calls.size(); i++) {
      GemmCall c = calls.get(i);
      for (int n = counts.get(i); n > 0; n--) c.run();
    }
  }

  /**
   * {workload: {gflop_per_epoch, gflops_two_cores, bound_seconds_per_epoch, ...}} for each workload given.
   * Steps per timed block: about 0.5–1 s of work per block on this machine (cnn 1.6 GFLOP a task step, mlp 0.15).
   */
  public static ObjectNode measure(List<String> workloads, int repeats) throws Exception {
    ObjectNode out = new ObjectMapper().createObjectNode();
    for (String w : workloads) {
      int steps = w.equals("cnn") ? 16 : 160;
      double gflop = gflopPerEpoch(w), rate = gflopsOnCores(w, TASKS, steps, repeats);
      ObjectNode r = out.putObject(w);
      r.put("gflop_per_epoch", gflop);
      r.put("mflop_per_example", (double) flopsPerTaskStep(labels(w)) / Workload.N / 1e6);
      r.put("gflops_two_cores", rate);
      // one thread alone, for reading the two-core figure: about twice this when both cores were free
      double one = gflopsOnCores(w, 1, steps, Math.max(1, repeats / 2 + 1));
      r.put("gflops_one_thread", one);
      r.put("two_core_speedup", rate / one);
      r.put("bound_seconds_per_epoch", gflop / rate);
      r.put("steps_per_epoch", (EXAMPLES + GLOBAL_BATCH - 1) / GLOBAL_BATCH);
      r.put("steps_per_block", steps);
      r.put("repeats", repeats);
      r.put("gemm", Gemm.best().name());
      r.put("openblas_num_threads", System.getenv("OPENBLAS_NUM_THREADS"));
    }
    return out;
  }

  /** Usage: ArithmeticBound [cnn,mlp] [repeats]; prints {"arithmetic_bound": {...}} as one JSON line. */
  public static void main(String[] args) throws Exception {
    List<String> workloads = List.of((args.length > 0 ? args[0] : "cnn,mlp").split(","));
    int repeats = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    ObjectNode b = measure(workloads, repeats);
    StringBuilder sb = new StringBuilder("\n| workload | GFLOP/epoch | GFLOP/s, 2 cores | bound s/epoch | GEMM |\n|---|---:|---:|---:|---|\n");
    b.fields().forEachRemaining(e -> sb.append(String.format(Locale.ROOT, "| %s | %.1f | %.1f | %.2f | %s |%n", e.getKey(),
        e.getValue().path("gflop_per_epoch").asDouble(), e.getValue().path("gflops_two_cores").asDouble(),
        e.getValue().path("bound_seconds_per_epoch").asDouble(), e.getValue().path("gemm").asText())));
    System.err.println(sb);
    ObjectNode out = new ObjectMapper().createObjectNode();
    out.set("arithmetic_bound", b);
    System.out.println(new ObjectMapper().writeValueAsString(out));
  }
}
