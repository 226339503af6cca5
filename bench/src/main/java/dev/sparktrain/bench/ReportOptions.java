package dev.sparktrain.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;

/**
 * The command line of {@link GemmReport}: its own options, and everything else handed on to JMH.
 *
 * @param shapes      shape labels to measure, in order
 * @param impls       implementations to measure, naive included or not
 * @param naiveShapes the subset of {@code shapes} the slow naive GEMM runs on
 * @param out         where the JSON report goes
 * @param jmh         JMH's own options (-f, -wi, -i, -w, -r, -prof, ...), which override the report's defaults
 */
record ReportOptions(List<String> shapes, List<GemmCandidate> impls, List<String> naiveShapes, Path out,
                     CommandLineOptions jmh) {
  static final String USAGE = String.join("\n",
      "usage: GemmReport [--shapes default|all|LABEL,...] [--impls all|ID,...] [--naive-shapes b64|all|none|LABEL,...]",
      "                  [--out FILE] [JMH options, e.g. -f 2 -wi 3 -i 5 -w 1s -r 1s -prof gc]",
      "  shapes:       " + String.join(",", GemmShape.MLP.keySet()),
      "                default: " + String.join(",", GemmShape.DEFAULT),
      "  impls:        " + GemmCandidate.ids() + " (default: all)",
      "  naive-shapes: default b64, the selected shapes at batch 64 (the naive GEMM is slow)",
      "  out:          default bench/target/gemm.json",
      "  Use --shapes/--impls rather than JMH's -p.");

  /** Thrown for a command line that cannot run; the message says which value is wrong. */
  static final class UsageException extends Exception {
    UsageException(String message) {
      super(message);
    }
  }

  static ReportOptions parse(String... args) throws UsageException {
    List<String> shapes = GemmShape.DEFAULT;
    List<GemmCandidate> impls = List.of(GemmCandidate.values());
    String naive = "b64";
    Path out = Path.of("bench", "target", "gemm.json");
    List<String> jmhArgs = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--shapes" -> shapes = shapes(value(args, ++i, "--shapes"));
        case "--impls" -> impls = impls(value(args, ++i, "--impls"));
        case "--naive-shapes" -> naive = value(args, ++i, "--naive-shapes");
        case "--out" -> out = Path.of(value(args, ++i, "--out"));
        case "-h", "--help" -> throw new UsageException("");
        default -> jmhArgs.add(args[i]);
      }
    }
    try {
      return new ReportOptions(shapes, impls, naiveShapes(naive, shapes), out,
          new CommandLineOptions(jmhArgs.toArray(new String[0])));
    } catch (CommandLineOptionException e) {
      throw new UsageException("JMH options " + jmhArgs + ": " + e.getMessage());
    }
  }

  private static String value(String[] args, int i, String option) throws UsageException {
    if (i >= args.length || args[i].startsWith("--")) throw new UsageException(option + " needs a value");
    return args[i];
  }

  private static List<String> shapes(String spec) throws UsageException {
    if (spec.equals("default")) return GemmShape.DEFAULT;
    if (spec.equals("all")) return List.copyOf(GemmShape.MLP.keySet());
    List<String> labels = Arrays.asList(spec.split(","));
    for (String label : labels) {
      if (!GemmShape.MLP.containsKey(label)) {
        throw new UsageException("unknown shape '" + label + "'; known: " + GemmShape.MLP.keySet());
      }
    }
    return List.copyOf(labels);
  }

  private static List<GemmCandidate> impls(String spec) throws UsageException {
    if (spec.equals("all")) return List.of(GemmCandidate.values());
    List<GemmCandidate> impls = new ArrayList<>();
    for (String id : spec.split(",")) {
      try {
        impls.add(GemmCandidate.byId(id));
      } catch (IllegalArgumentException e) {
        throw new UsageException(e.getMessage());
      }
    }
    return List.copyOf(impls);
  }

  private static List<String> naiveShapes(String spec, List<String> shapes) throws UsageException {
    return switch (spec) {
      case "b64" -> shapes.stream().filter(s -> s.endsWith(".b64")).toList();
      case "all" -> shapes;
      case "none" -> List.of();
      default -> {
        List<String> labels = shapes(spec);
        for (String label : labels) {
          if (!shapes.contains(label)) throw new UsageException("naive shape '" + label + "' is not in --shapes");
        }
        yield labels;
      }
    };
  }
}
