package dev.sparktrain.spark;

import dev.sparktrain.JobFailure;
import dev.sparktrain.UserError;
import dev.sparktrain.config.SearchSpace;
import dev.sparktrain.config.SettingsTable;
import dev.sparktrain.config.TrainConfig;
import dev.sparktrain.io.EnsembleManifest;
import dev.sparktrain.train.Hooks;
import dev.sparktrain.train.MetricsLog;
import dev.sparktrain.train.Metrics;
import dev.sparktrain.train.Progress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;

/**
 * The ensemble command: K members trained as concurrent Spark jobs over one cached copy of the data
 * ({@link ParallelRuns}), differing by seed, by listed overrides or by random search; the members that finish are
 * saved with a manifest naming each file's SHA-256 (an ensemble model, which evaluate and predict accept), and the
 * ensemble and every member are scored on the test set.
 */
public final class EnsembleJob {
  private EnsembleJob() {}

  /** A member to train: its name and the settings in which it differs from the job's config. */
  public record MemberSpec(String name, Map<String, String> overrides) {}

  /**
   * Runs the command; configFor builds a member's config from the job's with overrides ("k=v"). Hooks apply to
   * the members they name ({@link Hooks#onlyFor}), or to all.
   */
  public static Map<String, Object> run(SparkSession spark, TrainConfig cfg, Function<List<String>, TrainConfig> configFor,
                                        Progress progress, Hooks hooks) {
    long begin = System.nanoTime();
    List<MemberSpec> specs = members(cfg);
    int min = cfg.get(SettingsTable.ENSEMBLE_MIN_MEMBERS);
    if (min > specs.size()) {
      throw new UserError("ensemble.min_members = " + min + ": more than the " + specs.size() + " members to train");
    }
    List<ParallelRuns.Run> runs = new ArrayList<>();
    Map<String, MetricsLog> metrics = new LinkedHashMap<>();  // one file per member (metrics.path, docs/metrics.md)
    for (MemberSpec m : specs) {
      List<String> o = m.overrides().entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList();
      TrainConfig member = configFor.apply(o);
      if (member.optimizer().isLbfgs()) throw new UserError("ensemble: optimizer.name = lbfgs is full-batch; use a minibatch optimizer");
      FitOptions options = FitOptions.from(member).withName(m.name()).withProgress(progress.forRun(m.name()));
      MetricsLog log = RunMetrics.openMember(spark, member, "ensemble", m.name());
      if (log != null) metrics.put(m.name(), log);
      runs.add(new ParallelRuns.Run(m.name(), RunMetrics.with(options, log).withHooks(hooks)));
    }
    String dir = cfg.get(SettingsTable.ENSEMBLE_OUTPUT);
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    try (TrainingData data = TrainingData.load(spark, cfg.data(), progress)) {
      Trainer trainer = new Trainer(spark);
      var plan = ParallelRuns.plan(trainer.sparkContext(), cfg.training().engine(), runs.size(), data.partitions(),
          cfg.get(SettingsTable.ENSEMBLE_CONCURRENCY));
      progress.info("ensemble: " + plan.describe());
      List<ParallelRuns.Outcome> outcomes = ParallelRuns.fit(trainer, data, runs, plan, true, progress);
      List<ParallelRuns.Outcome> ok = outcomes.stream().filter(ParallelRuns.Outcome::ok).toList();
      List<EnsembleManifest.Failure> failed = outcomes.stream().filter(o -> !o.ok())
          .map(o -> new EnsembleManifest.Failure(o.name(), o.failure())).toList();
      if (ok.size() < min) {
        throw new JobFailure(String.format("ensemble: only %d of %d members finished, ensemble.min_members = %d; %s",
            ok.size(), outcomes.size(), min, String.join("; ", failed.stream()
                .map(f -> f.name() + ": " + f.reason()).toList())));
      }
      Examples test = data.test().orElse(null);
      EnsembleModel ensemble = ensemble(ok, cfg.get(SettingsTable.ENSEMBLE_WEIGHTING));
      EnsembleModel.Evaluation eval = test == null ? null
          : ensemble.evaluate(test, dev.sparktrain.augment.TestTimeAugmentation.NONE, 0, "ensemble · test · " + test.source());

      List<EnsembleModel.Saved> saved = new ArrayList<>();
      List<Map<String, Object>> rows = new ArrayList<>();
      for (int i = 0; i < ok.size(); i++) {
        ParallelRuns.Outcome o = ok.get(i);
        TrainedModel m = o.model();
        double testAcc = eval == null ? Double.NaN : eval.members().get(i).accuracy();
        Map<String, String> differs = overridesOf(specs, o.name());
        saved.add(new EnsembleModel.Saved(o.name(), m, m.summary().validationAccuracy(), testAcc, differs));
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("name", o.name());
        row.put("config", differs);
        row.put("validation_accuracy", m.summary().validationAccuracy());
        row.put("test_accuracy", testAcc);
        row.put("seconds", o.seconds());
        row.put("engine", m.summary().engine());
        row.put("model", dir + "/" + o.name() + ".stm");
        rows.add(row);
      }
      String manifest = EnsembleModel.save(dir, "ensemble", cfg.get(SettingsTable.ENSEMBLE_WEIGHTING), saved, failed, conf);

      Map<String, Object> out = new LinkedHashMap<>();
      List<Double> memberAcc = new ArrayList<>();
      if (eval != null) for (Metrics m : eval.members()) memberAcc.add(m.accuracy());
      out.put("ensemble_test_accuracy", eval == null ? Double.NaN : eval.ensemble().accuracy());
      out.put("ensemble_test_loss", eval == null ? Double.NaN : eval.ensemble().loss());
      out.put("member_test_accuracy", memberAcc);
      out.put("mean_member_test_accuracy", memberAcc.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN));
      out.put("best_member_test_accuracy", memberAcc.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN));
      out.put("members_finished", ok.size());
      out.put("members_failed", failed.size());
      out.put("failures", failed.stream().map(f -> Map.of("name", f.name(), "reason", f.reason())).toList());
      out.put("weighting", cfg.get(SettingsTable.ENSEMBLE_WEIGHTING));
      out.put("members", rows);
      out.put("plan", plan.toJson());
      out.put("seconds", (System.nanoTime() - begin) / 1e9);
      out.put("sequential_seconds_estimate", ParallelRuns.sequentialSecondsEstimate(outcomes, plan));
      out.put("test_examples", eval == null ? 0 : eval.ensemble().count());
      out.put("model", manifest);
      for (int i = 0; i < ok.size(); i++) {
        MetricsLog log = metrics.remove(ok.get(i).name());
        if (log != null) log.finish(out, eval == null ? null : eval.members().get(i));
      }
      for (MetricsLog log : metrics.values()) log.finish(out, null);  // the members that failed
      return out;
    }
  }

  /** The ensemble of the finished members, weighted as ensemble.weighting says. */
  static EnsembleModel ensemble(List<ParallelRuns.Outcome> ok, String weighting) {
    List<EnsembleModel.Member> members = new ArrayList<>();
    for (ParallelRuns.Outcome o : ok) {
      double w = 1;
      if (weighting.equals("validation_accuracy")) {
        w = o.model().summary().validationAccuracy();
        if (!(w > 0)) {
          throw new UserError("ensemble.weighting = validation_accuracy: member " + o.name()
              + " has no validation accuracy (data.validation_fraction = 0?)");
        }
      }
      members.add(new EnsembleModel.Member(o.name(), o.model(), w));
    }
    return new EnsembleModel(members);
  }

  private static Map<String, String> overridesOf(List<MemberSpec> specs, String name) {
    return specs.stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow().overrides();
  }

  /** The members ensemble.vary describes, named member-0, member-1, … */
  public static List<MemberSpec> members(TrainConfig cfg) {
    String vary = cfg.get(SettingsTable.ENSEMBLE_VARY);
    List<MemberSpec> out = new ArrayList<>();
    switch (vary) {
      case "seed" -> {
        long init = cfg.training().initSeed(), order = cfg.training().orderSeed();
        for (int i = 0; i < cfg.get(SettingsTable.ENSEMBLE_MEMBERS); i++) {
          Map<String, String> o = new LinkedHashMap<>();
          o.put("train.init_seed", Long.toString(init + i));
          o.put("train.order_seed", Long.toString(order + i));
          out.add(new MemberSpec("member-" + i, o));
        }
      }
      case "overrides" -> {
        String text = cfg.get(SettingsTable.ENSEMBLE_OVERRIDES);
        int i = 0;
        for (String member : text.split(";")) {
          if (member.isBlank()) continue;
          Map<String, String> o = new LinkedHashMap<>();
          for (String kv : member.split("\\|")) {
            if (kv.isBlank()) continue;
            int eq = kv.indexOf('=');
            if (eq <= 0) {
              throw new UserError("ensemble.overrides: member " + i + ": expected key=value, got '" + kv.trim() + "'");
            }
            o.put(kv.substring(0, eq).trim(), kv.substring(eq + 1).trim());
          }
          out.add(new MemberSpec("member-" + i++, o));
        }
        if (out.isEmpty()) throw new UserError("ensemble.overrides: no members (ensemble.vary = overrides needs them)");
      }
      default -> {
        SearchSpace space = SearchSpace.of(cfg);
        for (int i = 0; i < cfg.get(SettingsTable.ENSEMBLE_MEMBERS); i++) {
          out.add(new MemberSpec("member-" + i, space.sample(i)));
        }
      }
    }
    return out;
  }
}
