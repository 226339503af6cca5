package dev.sparktrain.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The bench's cluster section: the barrier engine on the project's standalone cluster (scripts/local-cluster:
 * a master and 1-core workers in separate JVMs on loopback; the driver is scripts/submit's JVM, client mode)
 * against the same run in local[2], and the mlp's scaling over E = 1, 2, 4 executors of one core each, for the
 * bytes the driver receives per step. The cluster gets its own state directory and free ports, so it never
 * meets another cluster on this machine, and it is stopped in every case (finally, and a shutdown hook).
 */
final class ClusterBench {
  /** Steps in one epoch of the whole training file at batch 128: ceil(60000/128), as MinibatchPlan counts. */
  static final int STEPS_PER_EPOCH = (60_000 + 127) / 128;
  /** The mlp's parameter count (784·512+512 + 512·256+256 + 256·10+10), when a result does not give it. */
  static final long MLP_PARAMETERS = 535_818;

  private final ObjectNode out;
  private final long deadline;
  private final Map<String, String> env = new LinkedHashMap<>();
  private final String master;

  private ClusterBench(ObjectNode out, long seconds) throws IOException {
    this.out = out;
    this.deadline = System.nanoTime() + seconds * 1_000_000_000L;
    int port = freePort(), ui = freePort();
    env.put("SPARKTRAIN_CLUSTER_DIR", "bench/target/local-cluster");
    env.put("SPARK_MASTER_PORT", Integer.toString(port));
    env.put("SPARK_MASTER_WEBUI_PORT", Integer.toString(ui));
    master = "spark://127.0.0.1:" + port;
  }

  /**
   * Runs the section into out.cluster and out.cluster_scaling; local holds the local[2] results by workload
   * (may be empty). Never throws for a failed sub-run: it leaves nulls and an entry in out.errors.
   */
  static void run(ObjectNode out, Map<String, JsonNode> local, List<String> workloads, int epochs, long seconds) {
    ClusterBench b;
    try {
      b = new ClusterBench(out, seconds);
    } catch (IOException e) {
      BenchHarness.error(out, "cluster", e);
      return;
    }
    b.runAll(local, workloads, epochs);
  }

  private void runAll(Map<String, JsonNode> local, List<String> workloads, int epochs) {
    ObjectNode cluster = out.putObject("cluster");
    cluster.put("master", master);
    cluster.put("layout", "scripts/local-cluster: one master and N workers of 1 core each (separate JVMs on 127.0.0.1),"
        + " one executor JVM of 1 core and 1g per worker; the driver is scripts/submit's JVM (client mode)");
    ArrayNode scaling = out.putArray("cluster_scaling");
    for (String w : workloads) out.putNull("cluster_vs_local_" + w);  // stays null unless both runs succeed
    Thread hook = new Thread(this::stop, "stop-local-cluster");
    Runtime.getRuntime().addShutdownHook(hook);
    try {
      if (!start(2)) return;
      cluster.put("workers", 2);
      for (String w : workloads) {
        JsonNode r = train(w, epochs, List.of("data.partitions=2"));
        cluster.set(w, r);
        double ours = sec(r), there = sec(local.get(w));
        BenchHarness.putRatio(out, "cluster_vs_local_" + w, ours / there);
      }
      for (int e : new int[] {1, 2, 4}) {
        if (e > 2 && !start(e)) break;
        // the tree (train.reduce = tree, which the bytes target reads), and flat beside it for the cost model
        for (String reduce : e == 1 ? new String[] {"flat"} : new String[] {"tree", "flat"}) {
          JsonNode r = train("mlp", 1, List.of("spark.executor.cores=1", "spark.cores.max=" + e, "data.partitions=" + e,
              "train.reduce=" + reduce));
          ObjectNode row = scalingRow(e, r);
          row.put("train_reduce", reduce);
          scaling.add(row);
        }
      }
    } finally {
      stop();
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException ignored) {
        // already shutting down: the hook runs stop() again, which is harmless
      }
    }
  }

  /** scripts/local-cluster start with this many workers (more can be added to a running cluster). */
  private boolean start(int workers) {
    Map<String, String> e = new LinkedHashMap<>(env);
    e.put("WORKERS", Integer.toString(workers));
    JsonNode r = BenchHarness.tryRun(out, "cluster start (" + workers + " workers)", List.of("scripts/local-cluster", "start"),
        e, Math.min(150, remaining()));
    return r != null;
  }

  private void stop() {
    BenchHarness.tryRun(out, "cluster stop", List.of("scripts/local-cluster", "stop"), env, 90);
  }

  /** The barrier engine on the cluster, with the settings of the local[2] barrier run. */
  private JsonNode train(String w, int epochs, List<String> extra) {
    long left = remaining();
    if (left < 30) {
      BenchHarness.error(out, "cluster " + w + " " + extra, new IllegalStateException("--cluster-timeout reached"));
      return null;
    }
    List<String> cmd = new ArrayList<>(List.of("scripts/submit", master, "train", "conf/fashion-" + w + ".conf",
        "train.epochs=" + epochs, "train.engine=barrier", "train.transport=auto", "train.step_encryption=auto",
        "data.validation_fraction=0", "predict.tta=none", "spark.ui.enabled=false", "spark.locality.wait=0s",
        "model.path=bench/target/bench-cluster-" + w + ".stm"));
    cmd.addAll(extra);
    return BenchHarness.tryRun(out, "cluster " + w + " " + extra, cmd, Map.of(), left);
  }

  private static ObjectNode scalingRow(int executors, JsonNode r) {
    ObjectNode row = BenchHarness.JSON.createObjectNode();
    row.put("executors", executors);
    if (r == null) {
      row.putNull("seconds_per_epoch");
      row.putNull("step_ms");
      row.putNull("driver_bytes_in_per_step");
      return row;
    }
    double s = sec(r);
    row.put("seconds_per_epoch", s);
    int epochs = r.path("epochs").asInt(1);
    row.put("steps", r.has("steps") ? r.get("steps").asLong() : (long) epochs * STEPS_PER_EPOCH);
    row.put("step_ms", s * 1000 / STEPS_PER_EPOCH);
    row.set("driver_bytes_in_per_step", r.path("driver_bytes_in_per_step").isNumber() ? r.get("driver_bytes_in_per_step") : null);
    row.put("parameters", r.path("parameters").asLong(MLP_PARAMETERS));
    row.put("reduce", r.path("reduce").asText("flat"));  // what ran: flat or tree
    for (Iterator<Map.Entry<String, JsonNode>> it = r.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> f = it.next();
      if (f.getKey().contains("bytes") && !row.has(f.getKey())) row.set(f.getKey(), f.getValue());
    }
    row.put("engine", r.path("engine").asText());
    row.put("failed_tasks", r.path("failed_tasks").asInt());
    return row;
  }

  private static double sec(JsonNode r) {
    return r == null ? Double.NaN : r.path("seconds_per_epoch").asDouble(Double.NaN);
  }

  private long remaining() {
    return Math.max(0, (deadline - System.nanoTime()) / 1_000_000_000L);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
