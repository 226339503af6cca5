package dev.sparktrain.bench;

import dev.sparktrain.bench.CandidateProbe.Availability;
import dev.sparktrain.bench.ReportOptions.UsageException;
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
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;

/**
 * Runs {@link GemmBenchmark} through JMH's Runner API and reports GFLOP/s per shape and implementation, with
 * the ratio to OpenBLAS on the same shape.
 *
 * <p>Steps: check each implementation loads and matches the naive GEMM; run JMH (the naive GEMM separately,
 * on fewer shapes); print a markdown table to stderr; write the JSON report; print the same JSON as the last
 * line of stdout. JMH's own output goes to stderr too, so stdout holds only that line.
 *
 * <p>The defaults, one fork per pair, 3×0.5 s of measurement after 2×0.5 s of warm-up for native code or
 * 4×0.5 s for Java code, keep the default run of 8 shapes near 4 minutes on 2 cores; JMH options on the
 * command line override them. Exit status: 0, or 1 when a fork of an available implementation failed, or 2
 * for a bad command line.
 */
public final class GemmReport {
  private static final int FORKS = 1, MEASUREMENT_ITERATIONS = 3;
  private static final int NATIVE_WARMUP_ITERATIONS = 2, JAVA_WARMUP_ITERATIONS = 4;
  private static final TimeValue ITERATION_TIME = TimeValue.milliseconds(500);

  private final ReportOptions options;

  private GemmReport(ReportOptions options) {
    this.options = options;
  }

  public static void main(String[] args) {
    ReportOptions options;
    try {
      options = ReportOptions.parse(args);
    } catch (UsageException e) {
      boolean help = e.getMessage().isEmpty();
      if (!help) System.err.println("error: " + e.getMessage());
      System.err.println(ReportOptions.USAGE);
      System.exit(help ? 0 : 2);
      return;
    }
    try {
      System.exit(new GemmReport(options).run());
    } catch (RunnerException | IOException e) {
      System.err.println("error: " + e);
      System.exit(1);
    }
  }

  private int run() throws RunnerException, IOException {
    String loadBefore = Machine.loadAverage();
    warnAboutEnvironment(loadBefore);
    Map<String, Availability> probes = probe();
    Map<String, List<String>> planned = plan();
    List<RunResult> results = new ArrayList<>();
    List<String> settings = new ArrayList<>();
    for (Batch batch : batches(planned, probes)) {
      Options jmh = jmhOptions(batch);
      settings.add(String.join(",", batch.impls()) + ": " + describe(jmh));
      results.addAll(new Runner(jmh, OutputFormatFactory.createFormatInstance(System.err, verbosity())).run());
    }
    GemmTable table = new GemmTable(options.shapes(), planned, probes, results);
    printSummary(table);

    Map<String, Object> report = report(table, probes, settings);
    Map<String, Object> load = new LinkedHashMap<>();
    load.put("before", loadBefore);
    load.put("after", Machine.loadAverage());
    report.put("load_average", load);
    report.put("file", options.out().toAbsolutePath().toString());
    String json = JsonText.of(report);
    Path parent = options.out().toAbsolutePath().getParent();
    if (parent != null) Files.createDirectories(parent);
    Files.writeString(options.out(), json + "\n");
    System.err.println("wrote " + options.out());
    System.out.println(json);
    return table.json().stream().anyMatch(row -> row.get("status").equals("failed")) ? 1 : 0;
  }

  private static void warnAboutEnvironment(String load) {
    if (Double.parseDouble(load.split(" ")[0]) > 0.5) {
      System.err.println("warning: load average " + load + " on " + Runtime.getRuntime().availableProcessors()
          + " cores; other processes will share the CPU with the benchmark and lower its figures.");
    }
    String threads = System.getenv("OPENBLAS_NUM_THREADS");
    if (!"1".equals(threads)) {
      System.err.println("warning: OPENBLAS_NUM_THREADS is " + threads
          + "; native OpenBLAS may use several threads. scripts/bench-gemm sets it to 1.");
    }
    String coreType = System.getenv("OPENBLAS_CORETYPE");
    if (coreType != null) System.err.println("OPENBLAS_CORETYPE=" + coreType + ": OpenBLAS uses that core's kernels");
  }

  private static void printSummary(GemmTable table) {
    System.err.println();
    System.err.print(table.markdown());
    System.err.println("cells: GFLOP/s single-threaded (ratio to " + GemmTable.BASELINE + " on the same shape)");
    table.noisiest().ifPresent(c -> System.err.printf(
        "widest spread between iterations: %.1f to %.1f GFLOP/s, %.0f%% of the mean (%s, %s)%n",
        c.min(), c.max(), 100 * c.spread(), c.impl(), c.shape().label()));
    System.err.println("best implementation (geometric mean over shapes): " + table.best().orElse(null));
  }

  /** The JSON report: the figures, then what produced them. */
  private Map<String, Object> report(GemmTable table, Map<String, Availability> probes, List<String> settings) {
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("gemm", table.json());
    report.put("best_impl", table.best().orElse(null));
    Map<String, Object> fastest = new LinkedHashMap<>();
    for (String label : options.shapes()) fastest.put(label, table.fastestOn(GemmShape.named(label)).orElse(null));
    report.put("fastest_by_shape", fastest);
    Map<String, Object> means = new LinkedHashMap<>();
    table.geomeans().forEach((impl, mean) -> means.put(impl, GemmTable.round(mean, 2)));
    report.put("geomean_gflops", means);
    Map<String, Object> impls = new LinkedHashMap<>();
    probes.forEach((impl, a) -> impls.put(impl, (a.available() ? "" : "unavailable: ") + a.detail()));
    report.put("impls", impls);
    report.put("cpu", Machine.cpuModel());
    report.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.vm.version"));
    report.put("openblas_num_threads", System.getenv("OPENBLAS_NUM_THREADS"));
    report.put("openblas_coretype", System.getenv("OPENBLAS_CORETYPE"));
    report.put("jmh", settings);
    report.put("date", OffsetDateTime.now().truncatedTo(ChronoUnit.SECONDS).toString());
    return report;
  }

  /** Loads and checks each requested implementation in this JVM, which has the forks' flags. */
  private Map<String, Availability> probe() {
    Map<String, Availability> probes = new LinkedHashMap<>();
    for (GemmCandidate candidate : options.impls()) {
      Availability a = CandidateProbe.check(candidate);
      probes.put(candidate.id, a);
      System.err.printf("%-13s %s%s%n", candidate.id, a.available() ? "" : "UNAVAILABLE: ", a.detail());
    }
    return probes;
  }

  /** Each requested implementation and the shapes it should run on. */
  private Map<String, List<String>> plan() {
    Map<String, List<String>> planned = new LinkedHashMap<>();
    for (GemmCandidate candidate : options.impls()) {
      boolean naive = candidate == GemmCandidate.NAIVE;
      List<String> shapes = naive ? options.naiveShapes() : options.shapes();
      if (!shapes.isEmpty()) planned.put(candidate.id, shapes);
    }
    return planned;
  }

  /** One JMH run: implementations that share their shapes and their number of warm-up iterations. */
  private record Batch(List<String> impls, List<String> shapes, int warmupIterations) {}

  /**
   * The available implementations grouped into JMH runs. Native code needs few warm-up iterations, as the
   * benchmark's setup has already run a large GEMM; Java code needs more, for the JIT, which on this machine
   * took 1.5 to 2 s to reach a steady score on the larger shapes.
   */
  private static List<Batch> batches(Map<String, List<String>> planned, Map<String, Availability> probes) {
    List<Batch> batches = new ArrayList<>();
    planned.forEach((impl, shapes) -> {
      if (!probes.get(impl).available()) return;
      int warmup = GemmCandidate.byId(impl).nativeCode ? NATIVE_WARMUP_ITERATIONS : JAVA_WARMUP_ITERATIONS;
      batches.stream().filter(b -> b.shapes().equals(shapes) && b.warmupIterations() == warmup).findFirst()
          .ifPresentOrElse(b -> b.impls().add(impl),
              () -> batches.add(new Batch(new ArrayList<>(List.of(impl)), shapes, warmup)));
    });
    return batches;
  }

  private VerboseMode verbosity() {
    return options.jmh().verbosity().orElse(VerboseMode.NORMAL);
  }

  /** The batch's JMH settings, where the command line did not set them. */
  private Options jmhOptions(Batch batch) {
    CommandLineOptions cmd = options.jmh();
    ChainedOptionsBuilder b = new OptionsBuilder().parent(cmd)
        .include("^" + Pattern.quote(GemmBenchmark.class.getName() + "."))
        .param("impl", batch.impls().toArray(String[]::new))
        .param("shape", batch.shapes().toArray(String[]::new));
    if (!cmd.getForkCount().hasValue()) b.forks(FORKS);
    if (!cmd.getWarmupIterations().hasValue()) b.warmupIterations(batch.warmupIterations());
    if (!cmd.getWarmupTime().hasValue()) b.warmupTime(ITERATION_TIME);
    if (!cmd.getMeasurementIterations().hasValue()) b.measurementIterations(MEASUREMENT_ITERATIONS);
    if (!cmd.getMeasurementTime().hasValue()) b.measurementTime(ITERATION_TIME);
    return b.build();
  }

  private static String describe(Options o) {
    return "forks=" + o.getForkCount().orElse(-1)
        + " warmup=" + o.getWarmupIterations().orElse(-1) + "x" + o.getWarmupTime().orElse(null)
        + " measurement=" + o.getMeasurementIterations().orElse(-1) + "x" + o.getMeasurementTime().orElse(null);
  }
}
