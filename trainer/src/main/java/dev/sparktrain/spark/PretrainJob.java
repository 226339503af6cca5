package dev.sparktrain.spark;

import dev.sparktrain.JobFailure;
import dev.sparktrain.UserError;
import dev.sparktrain.config.SettingsTable;
import dev.sparktrain.config.TrainConfig;
import dev.sparktrain.io.Lease;
import dev.sparktrain.train.Callback;
import dev.sparktrain.train.Hooks;
import dev.sparktrain.train.LoopControl;
import dev.sparktrain.train.Metrics;
import dev.sparktrain.train.MetricsLog;
import dev.sparktrain.train.Progress;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.spark.sql.SparkSession;

/**
 * The {@code pretrain} command, built to run unattended from cron, Airflow or Oozie: it takes the run's lease
 * (checkpoint.dir/_lease.json), resumes from the newest valid checkpoint (a corrupt newest one is skipped with a
 * warning naming it), checkpoints every epoch, every checkpoint.every steps and every checkpoint.every_minutes
 * minutes, and when done saves model.path, publishes it to the zoo (pretrain.zoo, pretrain.name; not twice, if
 * a run died after publishing) and releases the lease. Its status is done, resumed (and done), already-running (a
 * live lease: nothing touched) or, through an exception, failed; {@code Main} turns each into an exit code.
 */
public final class PretrainJob {
  private PretrainJob() {}

  /** The lease file of a run whose checkpoints go to dir. */
  public static String leasePath(String dir) {
    return dir.replaceAll("/+$", "") + "/_lease.json";
  }

  public static Map<String, Object> run(SparkSession spark, TrainConfig cfg, Progress progress, Hooks hooks) {
    return run(spark, cfg, progress, hooks, Clock.systemUTC());
  }

  static Map<String, Object> run(SparkSession spark, TrainConfig cfg, Progress progress, Hooks hooks, Clock clock) {
    var conf = spark.sparkContext().hadoopConfiguration();
    java.util.function.Consumer<String> warn = w -> progress.info("warning: " + w);
    String dir = cfg.checkpoint().dir();
    if (dir.isBlank()) throw new UserError("checkpoint.dir: pretrain needs the run's directory (its checkpoints and lease)");
    String zoo = cfg.get(SettingsTable.PRETRAIN_ZOO).trim(), name = cfg.get(SettingsTable.PRETRAIN_NAME).trim();
    if (zoo.isEmpty()) throw new UserError("pretrain.zoo: pretrain publishes to a model zoo; name its directory");
    ZooModels.checkName(name, "pretrain.name");
    String lease = leasePath(dir);
    Duration timeout = Duration.ofSeconds(cfg.get(SettingsTable.PRETRAIN_LEASE_TIMEOUT));
    Lease.Acquisition got = Lease.acquire(lease, conf, timeout, clock, warn);
    if (got instanceof Lease.AlreadyRunning busy) {
      String who = busy.holder().describe() + ", last heartbeat " + busy.heartbeatAge().toSeconds() + " s ago";
      warn.accept("pretrain: " + busy.message() + "; nothing done");
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("status", "already-running");
      m.put("model", null);
      m.put("zoo_version", null);
      m.put("epochs", 0);
      m.put("lease", lease);
      m.put("holder", who);
      return m;
    }
    try (Lease l = ((Lease.Acquired) got).lease()) {
      l.startHeartbeat(Duration.ofSeconds(cfg.get(SettingsTable.PRETRAIN_HEARTBEAT)));
      progress.info("pretrain: lease " + lease + " taken (" + l.holder().describe() + ")");
      TrainConfig c = cfg.with(Map.of("checkpoint.resume", "true"));
      try (TrainingData data = TrainingData.load(spark, c.data(), progress)) {
        MetricsLog metricsLog = RunMetrics.open(spark, c, "pretrain");
        FitOptions options = FitOptions.from(c).withName("pretrain " + name).withProgress(progress).withHooks(hooks)
            .withCallbacks(new LeaseGuard(l));
        TrainedModel model = new Trainer(spark).fit(data, RunMetrics.with(options, metricsLog));
        if (l.lost().isPresent()) {
          throw new JobFailure("pretrain: " + l.lost().get().getMessage() + "; this run stops without publishing");
        }
        Metrics test = model.evaluateTest(data, "pretrain · ", progress);
        var s = model.summary();
        Map<String, Double> metrics = model.savedMetrics(test);
        String path = c.model().path();
        model.save(path, conf, metrics);
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("training_dataset", data.source());
        extra.put("epochs", (double) s.epochs());
        ZooModels.Published published = ZooModels.publishOnce(zoo, name, path, model.params(), extra, conf);
        progress.info("pretrain: " + (published.already() ? "already published as " : "published as ")
            + published.ref() + " in " + zoo);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("status", model.resumedFrom() >= 0 ? "resumed" : "done");
        m.put("model", path);
        m.put("zoo_version", published.ref());
        m.put("epochs", s.epochs());
        if (model.resumedFrom() >= 0) m.put("resumed_from_step", model.resumedFrom());
        m.put("test_accuracy", Double.isFinite(test.accuracy()) ? test.accuracy() : null);
        m.put("validation_accuracy", Double.isFinite(s.validationAccuracy()) ? s.validationAccuracy() : null);
        m.put("train_loss", Double.isFinite(s.trainLoss()) ? s.trainLoss() : null);
        m.put("seconds_per_epoch", s.secondsPerEpoch());
        m.put("zoo", zoo);
        m.put("lease", lease);
        if (metricsLog != null) metricsLog.finish(m, test);
        return m;
      }
    }
  }

  /** Stops the run at the next step once the lease was lost (another run took it over): two runs never both train. */
  private record LeaseGuard(Lease lease) implements Callback {
    @Override public void onStepEnd(StepEnd e, LoopControl loop) {
      if (lease.lost().isPresent()) throw new JobFailure("pretrain: " + lease.lost().get().getMessage());
    }
  }
}
