package dev.sparktrain.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktrain.io.SavedModel;
import dev.sparktrain.testing.CliRun;
import dev.sparktrain.testing.Ports;
import dev.sparktrain.testing.SparkFixture;
import dev.sparktrain.testing.SyntheticImages;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real standalone cluster, started by scripts/local-cluster (a master and two workers, separate JVMs on
 * loopback, from the project's jars) with RPC authentication and encryption: a job with the right secret trains
 * there and its model equals local[2]'s bit for bit; a client with the wrong secret is refused. Everything the
 * test starts, it stops.
 */
class StandaloneClusterTest {
  @TempDir Path dir;

  @Test
  void authenticatedEncryptedClusterTrainsTheSameBitsAndRefusesAWrongSecret() throws Exception {
    Path data = Files.createDirectories(dir.resolve("data"));
    SyntheticImages.writeDataset(data, 900, 100, 8, 4);
    int port = Ports.unused(), ui = Ports.unused();
    String secret = UUID.randomUUID().toString();
    Path state = dir.resolve("cluster");
    Map<String, String> env = Map.of("SPARKTRAIN_CLUSTER_DIR", state.toString(), "SPARK_MASTER_PORT", "" + port,
        "SPARK_MASTER_WEBUI_PORT", "" + ui, "WORKER_MEMORY", "1g", "SPARK_AUTH_SECRET", secret);
    try {
      script(env, "start");
      String master = "spark://127.0.0.1:" + port;
      float[] cluster = train(data, "cluster", master, secret);
      float[] local = train(data, "local", "local[2]", null);
      assertArrayEquals(local, cluster, "standalone cluster (authenticated, encrypted) vs local[2]");
      assertTrue(Files.readString(state.resolve("master.log")).contains("Registering app"), "the app ran on the cluster");

      // the wrong secret: the master refuses the connection and never registers the application
      Path wrong = conf(data, "wrong", master, "not-" + secret);
      long registered = count(state.resolve("master.log"), "Registering app");
      Process client = CliRun.start(dir, "train", wrong.toString());
      try {
        // the client JVM first starts Spark, then fails its handshake; allow for a loaded machine
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
        while (!refused() && client.isAlive() && System.nanoTime() < deadline) Thread.sleep(200);
        assertTrue(refused(), "the client's authentication fails:\n" + Files.readString(dir.resolve(".cli-stderr")));
        assertEquals(registered, count(state.resolve("master.log"), "Registering app"), "no application registered");
        assertFalse(Files.exists(dir.resolve("wrong.stm")), "no model");
      } finally {
        client.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
      }
    } finally {
      SparkFixture.stopAll();
      script(env, "stop");
    }
    assertEquals(List.of(), pidFiles(state), "every process the test started is stopped");
  }

  /** The client's log: its connection's authentication handshake failed, and it could not reach the master. */
  private boolean refused() throws IOException {
    Path err = dir.resolve(".cli-stderr");
    if (!Files.exists(err)) return false;
    String log = Files.readString(err);
    return log.contains("Exception while bootstrapping client") && log.contains("AuthClientBootstrap")
        && log.contains("Failed to connect to master");
  }

  private float[] train(Path data, String name, String master, String secret) throws Exception {
    SparkFixture.stopAll();
    CliRun.Result r = CliRun.inProcess("train", conf(data, name, master, secret).toString());
    assertEquals(0, r.exitCode(), name + "\n" + r);
    return SavedModel.load(dir.resolve(name + ".stm").toString(), new Configuration()).params();
  }

  private Path conf(Path data, String name, String master, String secret) throws IOException {
    Map<String, String> s = SmallJobConf.settings(data, dir.resolve(name + ".stm"), dir.resolve(name + "-p"));
    s.put("model.layers", "dense(16), relu, dropout(0.2), dense(4)");
    s.put("train.epochs", "2");
    s.put("spark.master", master);
    if (secret != null) {
      s.put("spark.authenticate", "true");
      s.put("spark.authenticate.secret", secret);
      s.put("spark.network.crypto.enabled", "true");
      s.put("spark.executor.memory", "512m");
      s.put("spark.cores.max", "2");
      s.put("spark.scheduler.minRegisteredResourcesRatio", "1.0");
      s.put("spark.locality.wait", "0s");
      s.put("spark.executorEnv.OPENBLAS_NUM_THREADS", "1");
      s.put("spark.executor.extraClassPath", Path.of("target/classes").toAbsolutePath() + ":"
          + Path.of("target/test-classes").toAbsolutePath());
    }
    return SmallJobConf.write(dir.resolve(name + ".conf"), s);
  }

  private static void script(Map<String, String> env, String command) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(CliRun.repoRoot().resolve("scripts/local-cluster").toString(), command)
        .redirectErrorStream(true);
    pb.environment().putAll(env);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes());
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "local-cluster " + command + " timed out");
    assertEquals(0, p.exitValue(), "local-cluster " + command + ":\n" + out);
  }

  private static long count(Path file, String text) throws IOException {
    return Files.readAllLines(file).stream().filter(l -> l.contains(text)).count();
  }

  private static List<String> pidFiles(Path state) throws IOException {
    try (var s = Files.list(state)) {
      return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".pid")).sorted().toList();
    }
  }

}
