package dev.sparktrain.bench.kernels;

import dev.sparktrain.bench.Machine;

import dev.sparktrain.bench.CandidateProbe;
import dev.sparktrain.bench.CandidateProbe.Availability;
import dev.sparktrain.bench.GemmCandidate;
import dev.sparktrain.tensor.Gemm;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.format.OutputFormatFactory;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.VerboseMode;

/**
 * Runs the kernel benchmarks through JMH's Runner API and reports each beside OpenBLAS: a markdown table on
 * stderr, and one line of JSON on stdout, also written to bench/target/kernels.json (or {@code --out FILE}).
 *
 * <p>Two JMH runs: the workload's GEMMs through ours and OpenBLAS plus the conv, max-pool and batch-norm
 * kernels; then the batch-wide conv GEMMs through OpenBLAS alone. The defaults are the benchmarks' annotations
 * ({@link #DEFAULTS}); any other argument goes to JMH ({@code -f -wi -i -w -r -prof ...}) and overrides them.
 * Exit status: 0; 1 if a fork failed; 2 for a bad command line.
 */
public final class KernelReport {
  private static final List<Class<?>> KERNELS = List.of(ConvBenchmark.class, PoolBenchmark.class,
      BatchNormBenchmark.class);
  /** The benchmarks' annotations, which JMH options on the command line override. */
  static final String DEFAULTS = "1 fork per benchmark; warm-up 2 x 0.5 s for GEMMs, 4 x 0.5 s for the Java kernels "
      + "(conv, max-pool, batch norm); measurement 3 x 0.5 s";
  static final String USAGE = "usage: scripts/bench-kernels [--out FILE] [JMH options, e.g. -f 2 -wi 3 -i 5 -w 1s -r 1s]\n"
      + "  defaults: " + DEFAULTS + "; --out bench/target/kernels.json";

  public static void main(String[] args) throws RunnerException, IOException {
    Path out = Path.of("bench", "target", "kernels.json");
    List<String> jmhArgs = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("-h") || args[i].equals("--help")) {
        System.err.println(USAGE);
        System.exit(0);
      } else if (args[i].equals("--out") && i + 1 < args.length) {
        out = Path.of(args[++i]);
      } else {
        jmhArgs.add(args[i]);
      }
    }
    CommandLineOptions cmd;
    try {
      cmd = new CommandLineOptions(jmhArgs.toArray(String[]::new));
    } catch (CommandLineOptionException e) {
      System.err.println("error: JMH options " + jmhArgs + ": " + e.getMessage() + "\n" + USAGE);
      System.exit(2);
      return;
    }
    System.exit(run(cmd, jmhArgs, out));
  }

  private static int run(CommandLineOptions cmd, List<String> jmhArgs, Path out) throws RunnerException, IOException {
    String loadBefore = Machine.loadAverage();
    Map<String, Object> impls = probe();
    boolean reference = impls.get("openblas") instanceof String s && !s.startsWith("unavailable");

    List<RunResult> results = new ArrayList<>();
    List<String> includes = new ArrayList<>(List.of(KernelGemmBenchmark.class.getName()));
    KERNELS.forEach(c -> includes.add(c.getName()));
    List<String> impl = reference ? List.of(KernelGemmBenchmark.OURS, KernelGemmBenchmark.OPENBLAS)
        : List.of(KernelGemmBenchmark.OURS);
    List<String> shapes = new ArrayList<>(Workload.CNN);
    shapes.addAll(Workload.MLP);
    results.addAll(jmh(cmd, includes, impl, shapes));
    if (reference) {
      results.addAll(jmh(cmd, List.of(KernelGemmBenchmark.class.getName()), List.of(KernelGemmBenchmark.OPENBLAS),
          Workload.CONV_BATCH));
    }

    KernelTable table = new KernelTable(results);
    System.err.println();
    System.err.print(table.markdown());
    double vs = table.geomeanVsOpenblas(Workload.CNN);
    System.err.printf("gemm_vs_openblas (geometric mean of ours/OpenBLAS over the cnn's %d GEMMs): %.2f%n",
        Workload.CNN.size(), vs);

    Map<String, Object> report = new LinkedHashMap<>();
    report.put("benchmarks", table.json());
    report.put("gemm_vs_openblas", KernelTable.round(vs, 3));
    report.put("mlp_gemm_vs_openblas", KernelTable.round(table.geomeanVsOpenblas(Workload.MLP), 3));
    Map<String, Object> perStep = new LinkedHashMap<>();
    perStep.put("ours", KernelTable.round(table.msPerStep(Workload.CNN, false), 3));
    perStep.put("openblas", KernelTable.round(table.msPerStep(Workload.CNN, true), 3));
    report.put("cnn_gemm_ms_per_step", perStep);
    report.put("batch_per_task", Workload.N);
    report.put("impls", impls);
    report.put("cpu", Machine.cpuModel());
    report.put("cores", Runtime.getRuntime().availableProcessors());
    report.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.vm.version"));
    report.put("openblas_num_threads", System.getenv("OPENBLAS_NUM_THREADS"));
    report.put("openblas_coretype", System.getenv("OPENBLAS_CORETYPE"));
    report.put("jmh_defaults", DEFAULTS);
    report.put("jmh_args", jmhArgs);
    Map<String, Object> load = new LinkedHashMap<>();
    load.put("before", loadBefore);
    load.put("after", Machine.loadAverage());
    report.put("load_average", load);
    report.put("date", OffsetDateTime.now().truncatedTo(ChronoUnit.SECONDS).toString());
    report.put("file", out.toAbsolutePath().toString());
    String json = dev.sparktrain.bench.JsonText.of(report);
    Path parent = out.toAbsolutePath().getParent();
    if (parent != null) Files.createDirectories(parent);
    Files.writeString(out, json + "\n");
    System.err.println("wrote " + out);
    System.out.println(json);
    return table.anyMissing() ? 1 : 0;
  }

  /**
   * What runs as ours and as the reference, each first checked against the naive GEMM in this JVM; also warns
   * about settings that distort the figures.
   */
  private static Map<String, Object> probe() {
    Map<String, Object> impls = new LinkedHashMap<>();
    String ours = Gemm.best().name();
    Availability nativeBlas = CandidateProbe.check(GemmCandidate.OPENBLAS);
    boolean jni = ours.startsWith("netlib:JNIBLAS");
    impls.put("ours", "Gemm.best(): " + (jni && nativeBlas.available() ? nativeBlas.detail() : ours));
    if (!jni) {
      System.err.println("warning: the trainer's GEMM is " + ours + ", not native OpenBLAS: " + nativeBlas.detail());
    }
    Availability ref = CandidateProbe.check(GemmCandidate.BYTEDECO_PTR);
    impls.put("openblas", (ref.available() ? "" : "unavailable: ") + ref.detail());
    impls.forEach((k, v) -> System.err.printf("%-9s %s%n", k, v));
    String load = Machine.loadAverage();
    if (Double.parseDouble(load.split(" ")[0]) > 0.5) {
      System.err.println("warning: load average " + load + "; other processes share the CPU and lower the figures");
    }
    if (!"1".equals(System.getenv("OPENBLAS_NUM_THREADS"))) {
      System.err.println("warning: OPENBLAS_NUM_THREADS is not 1; scripts/bench-kernels sets it");
    }
    return impls;
  }

  /** One JMH run of the given benchmark classes; the command line's JMH options override their annotations. */
  private static List<RunResult> jmh(CommandLineOptions cmd, List<String> classes, List<String> impl,
                                     List<String> shapes) throws RunnerException {
    ChainedOptionsBuilder b = new OptionsBuilder().parent(cmd)
        .param("impl", impl.toArray(String[]::new))
        .param("shape", shapes.toArray(String[]::new));
    for (String c : classes) b.include("^" + Pattern.quote(c + "."));
    VerboseMode verbosity = cmd.verbosity().orElse(VerboseMode.NORMAL);
    return new ArrayList<>(new Runner(b.build(), OutputFormatFactory.createFormatInstance(System.err, verbosity)).run());
  }
}
