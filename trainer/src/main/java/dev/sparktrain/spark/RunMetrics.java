package dev.sparktrain.spark;

import dev.sparktrain.UserError;
import dev.sparktrain.Version;
import dev.sparktrain.config.SettingsTable;
import dev.sparktrain.config.TrainConfig;
import dev.sparktrain.io.LinesFile;
import dev.sparktrain.tensor.Gemm;
import dev.sparktrain.train.MetricsLog;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkContext;
import org.apache.spark.sql.SparkSession;

/**
 * Opens a command's metrics file (metrics.path, docs/metrics.md) as a {@link MetricsLog} on a Hadoop path, with the
 * run's resolved config and provenance. A command that trains several runs at once (compare, ensemble) writes one
 * file per run, its name put before the extension: {@code runs/m.jsonl} → {@code runs/m-member-1.jsonl}.
 */
public final class RunMetrics {
  private RunMetrics() {}

  /** The log of the command's one run, named by model.path; null when metrics.path is empty. */
  public static MetricsLog open(SparkSession spark, TrainConfig cfg, String command) {
    return open(spark, cfg, command, cfg.model().path(), null);
  }

  /** The log of the run {@code member} of a command that trains several; null when metrics.path is empty. */
  public static MetricsLog openMember(SparkSession spark, TrainConfig cfg, String command, String member) {
    return open(spark, cfg, command, member, member);
  }

  private static MetricsLog open(SparkSession spark, TrainConfig cfg, String command, String run, String member) {
    String base = cfg.get(SettingsTable.METRICS_PATH).strip();
    if (base.isEmpty()) return null;
    String path = member == null ? base : pathFor(base, member);
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    checkWritable(path, conf);
    MetricsLog.Sink sink = new MetricsLog.Sink() {
      @Override public List<String> read() {
        return named(() -> LinesFile.read(path, conf));
      }

      @Override public void write(List<String> lines) {
        named(() -> {
          LinesFile.write(path, conf, lines);
          return null;
        });
      }
    };
    return new MetricsLog(sink, new MetricsLog.Run(command, run, cfg.resolved(), provenance(spark.sparkContext(), cfg)));
  }

  /** The options with the log as one more callback; the options as they are when there is no log (null). */
  public static FitOptions with(FitOptions options, MetricsLog log) {
    return log == null ? options : options.withCallbacks(log);
  }

  /** A member's file: its name, reduced to [A-Za-z0-9._-], before the extension of the command's path. */
  static String pathFor(String path, String member) {
    String safe = member.replaceAll("[^A-Za-z0-9._-]+", "_");
    int slash = path.lastIndexOf('/'), dot = path.lastIndexOf('.');
    return dot > slash + 1 ? path.substring(0, dot) + "-" + safe + path.substring(dot) : path + "-" + safe;
  }

  /** The start line's provenance: versions, where it ran, and the seeds. */
  static Map<String, Object> provenance(SparkContext sc, TrainConfig cfg) {
    Map<String, Object> p = new LinkedHashMap<>();
    p.put("project_version", Version.get());
    p.put("java", System.getProperty("java.version"));
    p.put("spark", sc.version());
    String host;
    try {
      host = java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.io.IOException e) {
      host = "unknown";
    }
    p.put("host", host);
    p.put("master", sc.master());
    p.put("seed", cfg.training().seed());
    p.put("init_seed", cfg.training().initSeed());
    p.put("order_seed", cfg.training().orderSeed());
    p.put("blas", Gemm.best().name());
    return p;
  }

  /** Fails before any training when the path is malformed or a directory, naming the setting. */
  private static void checkWritable(String path, Configuration conf) {
    try {
      var p = new org.apache.hadoop.fs.Path(path);
      var fs = p.getFileSystem(conf);
      if (fs.exists(p) && fs.getFileStatus(p).isDirectory()) {
        throw new UserError("metrics.path = " + path + ": is a directory; give a file, e.g. " + path + "/metrics.jsonl");
      }
    } catch (IllegalArgumentException | java.io.IOException e) {
      throw new UserError("metrics.path = " + path + ": not a usable path (" + e.getMessage() + ")", e);
    }
  }

  private static <T> T named(java.util.function.Supplier<T> io) {
    try {
      return io.get();
    } catch (UserError e) {
      throw new UserError("metrics.path = " + e.getMessage(), e);
    }
  }
}
