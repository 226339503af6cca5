package dev.sparktrain.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparktrain.report.PeakMemory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * scripts/bench: sparktrain against PyTorch and Spark MLlib, side by side in one session, on Fashion-MNIST with the
 * {@code mlp} and {@code cnn} workloads at batch 128 in local[2]. Each contender runs as its own process, one after
 * the other, so that none competes with another for the two cores:
 * <ol>
 *   <li>sparktrain with each engine ({@code barrier}; {@code barrier-tcp}, the same with TCP inside the driver's
 *       JVM too; {@code barrier-tcp-enc}, that with the step channel encrypted (AES-GCM, as under Spark's network
 *       encryption); {@code job}; and {@code threads}, the one-process floor);</li>
 *   <li>the PyTorch reference (scripts/bench_torch.py), which first picks its best thread setting;</li>
 *   <li>MLlib's MultilayerPerceptronClassifier (784-512-256-10, L-BFGS), and the time sparktrain needs to reach its
 *       test accuracy;</li>
 *   <li>the JMH kernel suite's GEMM ratio to OpenBLAS (scripts/bench-kernels, short settings);</li>
 *   <li>each workload's arithmetic bound ({@link dev.sparktrain.bench.kernels.ArithmeticBound}: its GEMM FLOPs
 *       per epoch over the rate OpenBLAS sgemm reaches on both cores on its own shapes), which each epoch time
 *       is reported against;</li>
 *   <li>the {@code mlp} barrier run with no native BLAS ({@code no-native-blas}: netlib's dlopen of libblas is
 *       pointed at a file that does not exist, as on a machine without OpenBLAS);</li>
 *   <li>the barrier engine on the project's standalone cluster against local[2], and the mlp on 1, 2 and 4
 *       executors for the bytes the driver receives per step ({@link ClusterBench}).</li>
 * </ol>
 * Every measure of issue #17 ends in the targets table ({@link #targets}). A sub-run that fails leaves null
 * in the JSON and an entry in {@code errors}, and the bench goes on.
 * All runs train on the whole 60,000-image training file (no validation split: 469 steps per epoch) and report
 * the test accuracy without test-time augmentation. The table goes to stderr; stdout's last line is the JSON
 * summary, which is also written to --out.
 */
public final class BenchHarness {
  static final ObjectMapper JSON = new ObjectMapper();
  /** The sections --only and --skip choose among. */
  static final List<String> SECTIONS = List.of("bound", "mlp", "cnn", "noblas", "torch", "mllib", "kernels", "cluster");
  /**
   * How the no-native-blas contender hides the native library: netlib's JNI stub dlopens
   * {@code dev.ludovic.netlib.blas.nativeLibPath} (default: libblas.so.3 on the loader's path); a path that does
   * not exist makes dlopen fail exactly as on a machine with no BLAS installed, and the trainer falls back to
   * its own VectorGemm (Gemm.best()). In local[2] the executors are the driver's JVM.
   */
  static final String HIDE_NATIVE_BLAS = "-Ddev.ludovic.netlib.blas.nativeLibPath=/nonexistent/libblas.so.3";
  static final String USAGE = "usage: scripts/bench [--mlp-epochs N] [--cnn-epochs N] [--mllib-iter N] [--engines a,b]"
      + " [--repeats N] [--skip SECTIONS | --only SECTIONS] [--cluster-epochs N] [--cluster-timeout SECONDS]"
      + " [--bound-repeats N] [--data DIR] [--out FILE] [--python PATH]; SECTIONS: a comma list of " + String.join(",", SECTIONS);

  private BenchHarness() {}

  /** This process's peak RSS in MiB as a JSON number, or null. */
  static String peakRssMib() {
    double m = PeakMemory.mib();
    return Double.isNaN(m) ? "null" : String.format(Locale.ROOT, "%.1f", m);
  }

  public static void main(String[] args) throws Exception {
    Map<String, String> o = new LinkedHashMap<>(Map.of("--mlp-epochs", "4", "--cnn-epochs", "2", "--mllib-iter", "100",
        "--engines", "barrier,barrier-tcp,barrier-tcp-enc,threads,job", "--skip", "", "--data", "/usr/share/datasets/fashion-mnist",
        "--out", "bench/target/bench.json", "--python", "/usr/bin/python3", "--repeats", "2"));
    o.putAll(Map.of("--only", "", "--cluster-epochs", "2", "--cluster-timeout", "1500", "--bound-repeats", "5"));
    for (int i = 0; i < args.length; i += 2) {
      if (!o.containsKey(args[i]) || i + 1 >= args.length) {
        System.err.println(USAGE);
        System.out.println("{\"error\":\"bad command line\"}");
        System.exit(2);
      }
      o.put(args[i], args[i + 1]);
    }
    List<String> skipped = List.of(o.get("--skip").split(","));  // the cluster section's workloads: all but these
    List<String> skip = new ArrayList<>(skipped);
    if (!o.get("--only").isEmpty()) {
      List<String> only = List.of(o.get("--only").split(","));
      for (String sec : SECTIONS) if (!only.contains(sec)) skip.add(sec);
    }
    String[] engines = o.get("--engines").split(",");
    ObjectNode out = JSON.createObjectNode();
    out.put("date", ZonedDateTime.now().toString());
    out.put("cpu", Machine.cpuModel());
    out.put("cores", Runtime.getRuntime().availableProcessors());
    out.put("java", System.getProperty("java.version"));
    out.put("master", "local[2]");
    out.put("batch_size", 128);
    List<String[]> table = new ArrayList<>();
    if (!skip.contains("bound")) {
      JsonNode b = tryRun(out, "arithmetic bound", List.of("java", "--add-modules=jdk.incubator.vector", "-Xmx1g",
          "-Dlog4j2.configurationFile=conf/log4j2.properties", "-cp", classpath(),
          "dev.sparktrain.bench.kernels.ArithmeticBound", "cnn,mlp", o.get("--bound-repeats")), Map.of(), 600);
      if (b != null) out.set("arithmetic_bound", b.path("arithmetic_bound"));
      else out.putNull("arithmetic_bound");
    }
    for (String w : new String[] {"mlp", "cnn"}) {
      boolean noblas = w.equals("mlp") && !skip.contains("noblas");  // --only noblas runs it without the others
      if (skip.contains(w) && !noblas) continue;
      int epochs = Integer.parseInt(o.get("--" + w + "-epochs"));
      ObjectNode wl = out.putObject(w);
      wl.put("epochs", epochs);
      // This machine's speed drifts by up to ±20% over minutes, so the contenders the targets compare (barrier,
      // threads, PyTorch) run --repeats times, in alternating order, and each keeps its fastest run: noise only
      // adds time. MLlib gets its own default of 100 L-BFGS iterations.
      int repeats = skip.contains(w) ? 0 : Integer.parseInt(o.get("--repeats"));
      for (int rep = 0; rep < repeats; rep++) {
        List<String> order = new ArrayList<>(List.of(engines));
        if (rep % 2 == 1) java.util.Collections.reverse(order);  // A B … then … B A, against drift
        for (String engine : order) {
          boolean compared = engine.equals("barrier") || engine.equals("threads") || engine.startsWith("barrier-tcp");
          if (rep > 0 && !compared) continue;
          JsonNode r = tryRun(out, w + " " + engine, trainCommand(w, epochs, engine), Map.of(), Long.MAX_VALUE);
          if (r != null) keepFastest(wl, engine, r);
        }
        if (!skip.contains("torch")) {
          JsonNode r = tryRun(out, w + " pytorch", List.of(o.get("--python"), "scripts/bench_torch.py", "--workload", w,
              "--epochs", Integer.toString(epochs), "--data", o.get("--data")), Map.of(), Long.MAX_VALUE);
          if (r != null) keepFastest(wl, "pytorch", r);
        }
      }
      if (noblas) noNativeBlas(out, wl, epochs);
      double ours = sec(wl, "barrier"), floor = sec(wl, "threads"), torch = sec(wl, "pytorch");
      putRatio(out, w + "_vs_pytorch", ours / torch);
      putRatio(out, w + "_vs_floor", ours / floor);
      putRatio(out, w + "_tcp_vs_floor", sec(wl, "barrier-tcp") / floor);
      putRatio(out, w + "_encrypted_vs_plain_tcp", sec(wl, "barrier-tcp-enc") / sec(wl, "barrier-tcp"));
      double bound = out.path("arithmetic_bound").path(w).path("bound_seconds_per_epoch").asDouble(Double.NaN);
      putRatio(out, w + "_vs_bound", ours / bound);
      if (w.equals("mlp")) putRatio(out, "mlp_no_native_blas_vs_openblas", sec(wl, "no-native-blas") / ours);
      if (!Double.isNaN(bound)) {
        table.add(new String[] {w, "arithmetic bound (GEMM FLOPs / OpenBLAS on 2 cores)", f("%.2f", bound),
            f("%.0f", 60_000 / bound), "", "", f("%.2f", bound / torch), f("%.2f", bound / floor)});
      }
      for (String c : new String[] {"barrier", "barrier-tcp", "barrier-tcp-enc", "job", "threads", "no-native-blas", "pytorch"}) {
        JsonNode r = wl.path(c);
        if (r.isMissingNode()) continue;
        double s = r.path("seconds_per_epoch").asDouble(Double.NaN);
        table.add(new String[] {w, c, f("%.2f", s), f("%.0f", r.path("examples_per_second").asDouble(Double.NaN)),
            f("%.0f", r.path("peak_rss_mib").asDouble(Double.NaN)), f("%.4f", r.path("test_accuracy").asDouble(Double.NaN)),
            f("%.2f", s / torch), f("%.2f", s / floor)});
      }
    }
    if (!skip.contains("mllib")) {
      try {
        mllib(o, out, table);
      } catch (Exception e) {
        error(out, "mllib", e);
      }
    }
    if (!skip.contains("kernels")) {
      JsonNode k = tryRun(out, "kernels", List.of("scripts/bench-kernels"), Map.of(), Long.MAX_VALUE);
      if (k != null) {
        out.put("gemm_vs_openblas", k.path("gemm_vs_openblas").asDouble(Double.NaN));
        out.set("kernels", k);
      }
    }
    if (!skip.contains("cluster")) {
      Map<String, JsonNode> local = new LinkedHashMap<>();
      List<String> workloads = new ArrayList<>();
      for (String w : new String[] {"mlp", "cnn"}) {
        if (skipped.contains(w)) continue;  // --only cluster still runs both on the cluster (no local ratio then)
        workloads.add(w);
        if (out.path(w).has("barrier")) local.put(w, out.path(w).path("barrier"));
      }
      ClusterBench.run(out, local, workloads, Integer.parseInt(o.get("--cluster-epochs")),
          Long.parseLong(o.get("--cluster-timeout")));
    }
    printTable(table, out);
    Targets.put(out);
    Path file = Path.of(o.get("--out"));
    if (file.getParent() != null) Files.createDirectories(file.getParent());
    String line = JSON.writeValueAsString(out);
    Files.writeString(file, line + "\n", StandardCharsets.UTF_8);
    System.out.println(line);
  }

  /**
   * MLlib's time and accuracy, then the smallest number of sparktrain epochs (barrier engine, the same mlp) that
   * reaches that accuracy: training is deterministic and the mlp's learning rate is constant, so the first e
   * epochs of a longer run are an e-epoch run.
   */
  private static void mllib(Map<String, String> o, ObjectNode out, List<String[]> table) throws Exception {
    JsonNode m = run(List.of("java", "-Xmx6g", "@conf/jvm.options", "-Dlog4j2.configurationFile=conf/log4j2.properties",
        "-cp", "bench/target/classes:trainer/target/classes:" + Files.readString(Path.of("trainer/target/classpath.txt")).trim()
            + ":" + Files.readString(Path.of("bench/target/classpath.txt")).trim(),
        "dev.sparktrain.bench.MllibMlp", o.get("--data"), "local[2]", o.get("--mllib-iter"), "2"), Map.of());
    ObjectNode ml = out.putObject("mllib");
    ml.set("mlp", m);
    double target = m.path("test_accuracy").asDouble();
    int maxEpochs = 10;
    for (int e = 1; e <= maxEpochs; e++) {
      JsonNode r = run(List.of("scripts/train", "conf/fashion-mlp.conf", "train.epochs=" + e, "train.engine=barrier",
          "spark.master=local[2]", "data.validation_fraction=0", "predict.tta=none", "spark.ui.enabled=false",
          "model.path=bench/target/bench-mlp-to-mllib.stm"), Map.of());
      if (r.path("test_accuracy").asDouble() >= target) {
        double ours = e * r.path("seconds_per_epoch").asDouble();
        ml.put("sparktrain_epochs", e);
        ml.put("sparktrain_seconds", ours);
        ml.put("sparktrain_accuracy", r.path("test_accuracy").asDouble());
        out.put("mllib_speedup", m.path("fit_seconds").asDouble() / ours);
        table.add(new String[] {"mlp", "mllib (" + m.path("iterations").asInt() + " L-BFGS it.)",
            f("%.2f", m.path("seconds_per_iteration").asDouble()) + "/it", "", f("%.0f", m.path("peak_rss_mib").asDouble(Double.NaN)),
            f("%.4f", target), "", ""});
        return;
      }
    }
    out.put("mllib_speedup", Double.NaN);
    ml.put("note", "sparktrain did not reach MLlib's accuracy in " + maxEpochs + " epochs");
  }

  /**
   * The trainer on conf/fashion-W.conf in local[2] with one of the bench's contenders: an engine; barrier-tcp, the
   * barrier engine with its tasks on TCP even in the driver's JVM, to show the transport; barrier-tcp-enc, the
   * same channel encrypted; no-native-blas, the barrier engine (its environment hides the library).
   */
  private static List<String> trainCommand(String w, int epochs, String engine) {
    boolean tcp = engine.startsWith("barrier-tcp"), enc = engine.endsWith("-enc");
    String e = tcp || engine.equals("no-native-blas") ? "barrier" : engine;
    return List.of("scripts/train", "conf/fashion-" + w + ".conf", "train.epochs=" + epochs,
        "train.engine=" + e, "train.transport=" + (tcp ? "tcp" : "auto"),
        "train.step_encryption=" + (enc ? "on" : "auto"),
        "spark.master=local[2]", "data.validation_fraction=0", "predict.tta=none", "spark.ui.enabled=false",
        "model.path=bench/target/bench-" + w + "-" + engine + ".stm");
  }

  /**
   * The mlp's barrier run with native BLAS hidden ({@link #HIDE_NATIVE_BLAS}), once: what a default install on
   * a machine without OpenBLAS gets. Its "blas" field says which kernel ran; a run that still reports the
   * native library is an error, not a figure.
   */
  private static void noNativeBlas(ObjectNode out, ObjectNode wl, int epochs) {
    String opts = (System.getenv().getOrDefault("SPARKTRAIN_JAVA_OPTS", "") + " " + HIDE_NATIVE_BLAS).strip();
    JsonNode r = tryRun(out, "mlp no-native-blas", trainCommand("mlp", epochs, "no-native-blas"),
        Map.of("SPARKTRAIN_JAVA_OPTS", opts), Long.MAX_VALUE);
    if (r == null) return;
    if (r.path("blas").asText().contains("JNIBLAS")) {
      error(out, "mlp no-native-blas", new IllegalStateException("native BLAS still loaded: " + r.path("blas").asText()));
      return;
    }
    ((ObjectNode) r).put("native_blas_hidden_by", "SPARKTRAIN_JAVA_OPTS=" + HIDE_NATIVE_BLAS);
    keepFastest(wl, "no-native-blas", r);
  }

  /** The bench module's classpath for a helper JVM: bench, the trainer, and both modules' dependencies. */
  private static String classpath() throws IOException {
    return "bench/target/classes:trainer/target/classes:" + Files.readString(Path.of("trainer/target/classpath.txt")).trim()
        + ":" + Files.readString(Path.of("bench/target/classpath.txt")).trim();
  }

  /** Puts a ratio, or null when a side is missing (JSON has no NaN). */
  static void putRatio(ObjectNode out, String key, double v) {
    if (Double.isFinite(v)) out.put(key, v);
    else out.putNull(key);
  }

  /** Records a failed sub-run in out.errors and on stderr; the bench goes on. */
  static synchronized void error(ObjectNode out, String what, Exception e) {
    String msg = e.getMessage() == null ? e.toString() : e.getMessage();
    System.err.println("\nerror: " + what + ": " + msg + " (recorded in errors; the bench goes on)");
    ObjectNode x = (out.has("errors") ? (com.fasterxml.jackson.databind.node.ArrayNode) out.get("errors") : out.putArray("errors")).addObject();
    x.put("run", what);
    x.put("error", msg);
  }

  /** {@link #run}, or null after recording the failure (or the timeout, in seconds) in out.errors. */
  static JsonNode tryRun(ObjectNode out, String what, List<String> cmd, Map<String, String> env, long timeoutSeconds) {
    try {
      return run(cmd, env, timeoutSeconds);
    } catch (Exception e) {
      error(out, what, e);
      return null;
    }
  }

  /** Keeps the run with fewer seconds per epoch under w[contender], recording every run's figure in "runs". */
  private static void keepFastest(ObjectNode w, String contender, JsonNode run) {
    JsonNode old = w.path(contender);
    com.fasterxml.jackson.databind.node.ArrayNode runs = JSON.createArrayNode();
    if (!old.isMissingNode()) runs.addAll((com.fasterxml.jackson.databind.node.ArrayNode) old.path("runs"));
    runs.add(run.path("seconds_per_epoch").asDouble());
    ObjectNode best = (ObjectNode) (old.isMissingNode()
        || run.path("seconds_per_epoch").asDouble() < old.path("seconds_per_epoch").asDouble() ? run : old);
    best.set("runs", runs);
    w.set(contender, best);
  }

  private static double sec(JsonNode w, String contender) {
    return w.path(contender).path("seconds_per_epoch").asDouble(Double.NaN);
  }

  private static String f(String fmt, double v) {
    return Double.isNaN(v) ? "" : String.format(Locale.ROOT, fmt, v);
  }

  /** Runs a command (stderr passes through), and returns the JSON object on its last stdout line. */
  static JsonNode run(List<String> cmd, Map<String, String> env) throws IOException, InterruptedException {
    return run(cmd, env, Long.MAX_VALUE);
  }

  /** {@link #run(List, Map)}, killing the command and its children after timeoutSeconds. */
  static JsonNode run(List<String> cmd, Map<String, String> env, long timeoutSeconds) throws IOException, InterruptedException {
    System.err.println("\n=== " + (env.isEmpty() ? "" : env + " ") + String.join(" ", cmd));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
    pb.environment().putAll(env);
    long start = System.nanoTime();
    Process p = pb.start();
    java.util.concurrent.CompletableFuture<String> read = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
      try {
        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    if (!p.waitFor(Math.min(timeoutSeconds, Long.MAX_VALUE / 2), java.util.concurrent.TimeUnit.SECONDS)) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
      throw new IllegalStateException("timed out after " + timeoutSeconds + " s, killed: " + String.join(" ", cmd));
    }
    int code = p.exitValue();
    String stdout;
    try {
      stdout = read.get(30, java.util.concurrent.TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      throw new IOException("reading the output of " + String.join(" ", cmd) + ": " + e, e);
    }
    String[] lines = stdout.strip().split("\n");
    String last = lines[lines.length - 1];
    if (code != 0 || !last.startsWith("{")) {
      throw new IllegalStateException("exit " + code + " from " + String.join(" ", cmd) + ": " + last);
    }
    ObjectNode r = (ObjectNode) JSON.readTree(last);
    r.put("wall_seconds", (System.nanoTime() - start) / 1e9);
    return r;
  }

  private static void printTable(List<String[]> rows, ObjectNode out) {
    StringBuilder sb = new StringBuilder("\n| workload | contender | s/epoch | examples/s | peak MiB | test acc | vs PyTorch | vs floor |\n"
        + "|---|---|---:|---:|---:|---:|---:|---:|\n");
    for (String[] r : rows) sb.append("| ").append(String.join(" | ", r)).append(" |\n");
    sb.append("\nratios: ");
    for (String k : new String[] {"cnn_vs_pytorch", "mlp_vs_pytorch", "cnn_vs_floor", "mlp_vs_floor",
        "cnn_vs_bound", "mlp_vs_bound", "mlp_tcp_vs_floor", "cnn_tcp_vs_floor", "mlp_no_native_blas_vs_openblas",
        "cluster_vs_local_mlp", "cluster_vs_local_cnn",
        "mlp_encrypted_vs_plain_tcp", "cnn_encrypted_vs_plain_tcp", "gemm_vs_openblas", "mllib_speedup"}) {
      if (out.has(k) && out.get(k).isNumber()) sb.append(k).append(' ').append(f("%.3f", out.get(k).asDouble())).append("  ");
    }
    System.err.println(sb);
  }
}
