package dev.sparktrain.spark;

import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

/**
 * Builds the SparkSession for a command. Settings from the job's config are defaults: whatever spark-submit
 * already set (master, executor memory) wins, so the same config runs on a laptop and on a cluster.
 */
public final class Sessions {
  private Sessions() {}

  public static SparkSession create(String appName, Map<String, String> settings) {
    SparkConf conf = new SparkConf();
    settings.forEach(conf::setIfMissing);
    conf.setIfMissing("spark.master", "local[*]");
    conf.setIfMissing("spark.app.name", appName);
    conf.setIfMissing("spark.ui.showConsoleProgress", "false");
    conf.setIfMissing("spark.executorEnv.OPENBLAS_NUM_THREADS", "1");
    return SparkSession.builder().config(conf).getOrCreate();
  }
}
