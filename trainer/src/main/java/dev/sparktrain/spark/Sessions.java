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
    addVectorModule(conf);
    return SparkSession.builder().config(conf).getOrCreate();
  }

  /**
   * Adds {@code --add-modules=jdk.incubator.vector} to the executors' JVM options, after any the user gave, unless
   * they already name the module. Executors that a cluster manager launches get only Spark's own module flags, and
   * without this one the kernels on the Vector API (VectorGemm, the pooling and reduction kernels) fall back to
   * their scalar twins there: the same bits, at a slower speed. In local mode the driver's JVM (conf/jvm.options)
   * is the executor.
   */
  static void addVectorModule(SparkConf conf) {
    String key = "spark.executor.extraJavaOptions", opts = conf.get(key, "").trim();
    if (!opts.contains("jdk.incubator.vector")) {
      conf.set(key, (opts + " --add-modules=jdk.incubator.vector").trim());
    }
  }
}
