package dev.sparktrain.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

/** The executors' JVM options gain the Vector API module once, after the user's own options. */
class SessionsTest {
  private static final String KEY = "spark.executor.extraJavaOptions";

  @Test
  void theVectorModuleIsAddedOnceAfterTheUsersOptions() {
    SparkConf none = new SparkConf(false);
    Sessions.addVectorModule(none);
    assertEquals("--add-modules=jdk.incubator.vector", none.get(KEY));

    SparkConf user = new SparkConf(false).set(KEY, "-XX:+UseG1GC -Dx=1");
    Sessions.addVectorModule(user);
    Sessions.addVectorModule(user);
    assertEquals("-XX:+UseG1GC -Dx=1 --add-modules=jdk.incubator.vector", user.get(KEY));

    SparkConf already = new SparkConf(false).set(KEY, "--add-modules jdk.incubator.vector,jdk.jfr");
    Sessions.addVectorModule(already);
    assertEquals("--add-modules jdk.incubator.vector,jdk.jfr", already.get(KEY));
  }
}
