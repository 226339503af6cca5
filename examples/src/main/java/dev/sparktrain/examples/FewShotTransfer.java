package dev.sparktrain.examples;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparktrain.UserError;
import dev.sparktrain.config.Settings;
import dev.sparktrain.config.TrainConfig;
import dev.sparktrain.spark.Examples;
import dev.sparktrain.spark.FineTuneJob;
import dev.sparktrain.spark.FitOptions;
import dev.sparktrain.spark.Sessions;
import dev.sparktrain.spark.TrainedModel;
import dev.sparktrain.spark.Trainer;
import dev.sparktrain.spark.TrainingData;
import dev.sparktrain.train.Progress;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.sql.SparkSession;

/**
 * Few-shot transfer against training from scratch: for each number of labelled examples per class and each seed,
 * the conf's fine-tuning (finetune.*: the pretrained model, what is frozen) and the same network trained from
 * scratch on the same examples, both for the same number of steps, scored on the whole test set; written as a
 * Markdown table of mean ± standard deviation over the seeds, and a JSON file of every run.
 *
 * <p>Usage: {@code FewShotTransfer CONF OUTPUT_DIR [--per-class 10,50,200] [--seeds 1,2,3] [--steps 300]
 * [--scratch key=value ...] [key=value ...]}. A seed s draws the examples (data.split_seed = s) and seeds the run
 * (train.seed = s), so both arms of a row see the same examples. {@code --scratch} settings apply to the scratch
 * arm only (its own learning rate, say: a network trained from scratch wants a smaller one than a new head on
 * frozen features). The last stdout line is a JSON summary.
 */
public final class FewShotTransfer {
  private FewShotTransfer() {}

  public static void main(String[] args) {
    ExampleMain.run("FewShotTransfer CONF OUTPUT_DIR [--per-class 10,50,200] [--seeds 1,2,3] [--steps 300] "
        + "[--scratch key=value ...] [key=value ...]", 2, args, FewShotTransfer::run);
  }

  private static int[] ints(String csv, String flag) {
    try {
      return Arrays.stream(csv.split(",")).map(String::trim).mapToInt(Integer::parseInt).toArray();
    } catch (NumberFormatException e) {
      throw new UserError(flag + " " + csv + ": not a list of integers");
    }
  }

  static ObjectNode run(String[] args) throws IOException {
    String conf = args[0];
    Path out = Path.of(args[1]);
    int[] perClass = {10, 50, 200}, seeds = {1, 2, 3};
    int steps = 300;
    List<String> overrides = new ArrayList<>();
    Map<String, String> scratchSettings = new java.util.LinkedHashMap<>();
    for (int i = 2; i < args.length; i++) {
      switch (args[i]) {
        case "--per-class" -> perClass = ints(args[++i], "--per-class");
        case "--seeds" -> seeds = ints(args[++i], "--seeds");
        case "--steps" -> steps = ints(args[++i], "--steps")[0];
        case "--scratch" -> {
          String kv = args[++i];
          if (!kv.contains("=")) throw new UserError("--scratch " + kv + ": expected key=value");
          scratchSettings.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
        }
        default -> overrides.add(args[i]);
      }
    }
    TrainConfig base = TrainConfig.from(Settings.load(conf, overrides));
    Progress progress = Progress.standard(System.err);
    ObjectMapper json = new ObjectMapper();
    ArrayNode runs = json.createArrayNode();
    List<String> table = new ArrayList<>(List.of(
        "| examples per class | fine-tuned (mean ± sd) | from scratch (mean ± sd) | difference | fine-tuned runs | scratch runs |",
        "|---|---|---|---|---|---|"));
    SparkSession spark = Sessions.create("sparktrain few-shot transfer " + conf, base.spark());
    var hadoop = spark.sparkContext().hadoopConfiguration();
    Trainer trainer = new Trainer(spark);
    try {
      for (int n : perClass) {
        double[] tuned = new double[seeds.length], scratch = new double[seeds.length];
        for (int i = 0; i < seeds.length; i++) {
          int seed = seeds[i];
          TrainConfig c = base.with(Map.of("data.per_class", Integer.toString(n), "data.split_seed", Integer.toString(seed),
              "train.seed", Integer.toString(seed), "data.validation_fraction", "0"));
          FineTuneJob.Plan plan = FineTuneJob.plan(c, hadoop);
          String name = n + "/class seed " + seed;
          try (TrainingData data = TrainingData.load(spark, plan.config().data(), plan.preparation(), progress)) {
            TrainConfig ft = withSteps(plan.config(), data.trainCount(), steps);
            TrainedModel m = trainer.fit(data, FitOptions.from(ft).withInitial(plan.initial())
                .withName("fine-tune " + name).withProgress(progress.forRun("fine-tune " + name)));
            tuned[i] = m.evaluate(testOf(data), "fine-tune " + name + " · test").accuracy();
            add(runs, "fine-tuned", n, seed, tuned[i], m);
          }
          // the same network, data and steps from scratch: nothing frozen, its own standardization
          Map<String, String> scratchCfg = new java.util.LinkedHashMap<>(Map.of("finetune.from", "", "finetune.freeze_until", "-1"));
          scratchCfg.putAll(scratchSettings);
          TrainConfig sc = plan.config().with(scratchCfg);
          try (TrainingData data = TrainingData.load(spark, sc.data(), progress)) {
            TrainConfig s = withSteps(sc, data.trainCount(), steps);
            TrainedModel m = trainer.fit(data, FitOptions.from(s).withName("scratch " + name).withProgress(progress.forRun("scratch " + name)));
            scratch[i] = m.evaluate(testOf(data), "scratch " + name + " · test").accuracy();
            add(runs, "scratch", n, seed, scratch[i], m);
          }
          progress.info(String.format(Locale.ROOT, "%d per class, seed %d: fine-tuned %.4f, from scratch %.4f", n, seed,
              tuned[i], scratch[i]));
        }
        table.add(String.format(Locale.ROOT, "| %d | %.4f ± %.4f | %.4f ± %.4f | %+.1f points | %s | %s |", n,
            mean(tuned), sd(tuned), mean(scratch), sd(scratch), 100 * (mean(tuned) - mean(scratch)), list(tuned),
            list(scratch)));
      }
    } finally {
      spark.stop();
    }
    Files.createDirectories(out);
    Path md = out.resolve("transfer.md"), all = out.resolve("transfer.json");
    Files.write(md, table, StandardCharsets.UTF_8);
    ObjectNode summary = json.createObjectNode();
    summary.set("runs", runs);
    summary.put("steps", steps);
    summary.put("scratch_settings", json.valueToTree(scratchSettings));
    Files.writeString(all, json.writerWithDefaultPrettyPrinter().writeValueAsString(summary));
    table.forEach(System.err::println);
    ObjectNode last = json.createObjectNode();
    last.put("table", md.toString());
    last.put("runs", all.toString());
    last.put("rows", perClass.length);
    return last;
  }

  /** cfg with as many epochs as it takes to make about {@code steps} steps over count examples (at least one). */
  private static TrainConfig withSteps(TrainConfig cfg, int count, int steps) {
    int batch = Math.min(cfg.training().batchSize(), count);
    int perEpoch = (count + batch - 1) / batch;
    int epochs = Math.max(1, (steps + perEpoch - 1) / perEpoch);
    return cfg.with(Map.of("train.batch_size", Integer.toString(batch), "train.epochs", Integer.toString(epochs)));
  }

  private static Examples testOf(TrainingData data) {
    return data.test().orElseThrow(() -> new UserError("data.test: the comparison needs a test set"));
  }

  private static void add(ArrayNode runs, String arm, int n, int seed, double acc, TrainedModel m) {
    ObjectNode o = runs.addObject();
    o.put("arm", arm);
    o.put("per_class", n);
    o.put("seed", seed);
    o.put("test_accuracy", acc);
    o.put("epochs", m.summary().epochs());
    if (m.traffic() != null) {
      o.put("trainable_parameters", m.traffic().trainableParameters());
      o.put("bytes_per_step", m.traffic().bytesPerStep());
    }
  }

  private static double mean(double[] v) {
    return Arrays.stream(v).average().orElse(Double.NaN);
  }

  /** The sample standard deviation (n − 1). */
  private static double sd(double[] v) {
    double m = mean(v), s = 0;
    for (double x : v) s += (x - m) * (x - m);
    return v.length < 2 ? 0 : Math.sqrt(s / (v.length - 1));
  }

  private static String list(double[] v) {
    return String.join(", ", Arrays.stream(v).mapToObj(x -> String.format(Locale.ROOT, "%.4f", x)).toList());
  }
}
