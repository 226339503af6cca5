package dev.sparktrain.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparktrain.UserError;
import dev.sparktrain.config.Settings;
import dev.sparktrain.config.TrainConfig;
import dev.sparktrain.data.DatasetFetcher;
import dev.sparktrain.JobFailure;
import dev.sparktrain.spark.Comparison;
import dev.sparktrain.spark.EnsembleJob;
import dev.sparktrain.spark.FineTuneJob;
import dev.sparktrain.spark.LrRangeJob;
import dev.sparktrain.spark.SearchJob;
import dev.sparktrain.spark.ModelJobs;
import dev.sparktrain.spark.Sessions;
import dev.sparktrain.spark.TrainJob;
import dev.sparktrain.train.CallbackFailure;
import dev.sparktrain.train.Hooks;
import dev.sparktrain.train.Progress;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;

/**
 * The entry point: {@code train|evaluate|predict|compare|ensemble|search|lr-range CONF [key=value ...]} and
 * {@code fetch DATASET}. The last line
 * on stdout is always one JSON object: the result, or {@code {"error": ...}}; everything else goes to stderr.
 * Exit codes: 0 success, 2 bad input (one line on stderr, no stack trace), 1 a failed run (too few
 * ensemble members finished, a callback failed: one line) or an internal failure.
 */
public final class Main {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String USAGE =
      "usage: sparktrain train|finetune|evaluate|predict|compare|ensemble|search|lr-range CONF [key=value ...] [--resume] | fetch DATASET";

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
      return 0;
    } catch (Throwable t) {
      UserError user = UserError.find(t);
      CallbackFailure callback = t instanceof CallbackFailure c ? c : null;
      JobFailure job = t instanceof JobFailure j ? j : null;
      String message = user != null ? user.getMessage() : callback != null ? callback.getMessage()
          : job != null ? job.getMessage() : t.toString();
      if (user == null && job == null) t.printStackTrace(err);
      err.println("error: " + message);
      try {
        out.println(JSON.writeValueAsString(Map.of("error", message)));
      } catch (Exception ignored) {
        out.println("{\"error\": \"unprintable\"}");
      }
      return user != null ? 2 : 1;
    }
  }

  private static Map<String, Object> dispatch(String[] args, PrintStream err, Hooks hooks) throws Exception {
    if (args.length < 2) throw new UserError(USAGE);
    String command = args[0];
    if (command.equals("fetch")) {
      var dir = DatasetFetcher.standard(err::println).locate(args[1]);
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("dataset", args[1]);
      r.put("dir", dir.toString());
      return r;
    }
    if (!List.of("train", "finetune", "evaluate", "predict", "compare", "ensemble", "search", "lr-range").contains(command)) {
      throw new UserError(USAGE);
    }
    // --resume is the flag form of checkpoint.resume=true
    List<String> overrides = Arrays.asList(args).subList(2, args.length).stream()
        .map(a -> a.equals("--resume") ? "checkpoint.resume=true" : a).toList();
    for (String o : overrides) {
      if (!o.contains("=")) throw new UserError("command line: expected key=value, got '" + o + "'");
    }
    TrainConfig cfg = TrainConfig.from(Settings.load(args[1], overrides));
    Progress progress = Progress.standard(err);
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
}
