package dev.sparktrain.testing;

import org.apache.spark.sql.SparkSession;

/** The shared local[2] Spark session of the test suite: loopback only, no UI, started once per JVM. */
public final class SparkFixture {
  private SparkFixture() {}

  /**
   * Stops the active and default sessions, so that the next command starts its own with the master its config
   * names (the CLI reuses an in-process caller's session).
   */
  public static synchronized void stopAll() {
    SparkSession.getActiveSession().foreach(s -> { s.stop(); return null; });
    SparkSession.getDefaultSession().foreach(s -> { s.stop(); return null; });
  }

  public static synchronized SparkSession local2() {
    return SparkSession.builder()
        .master("local[2]")
        .appName("sparktrain-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate();
  }
}
