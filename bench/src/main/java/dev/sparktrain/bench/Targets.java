package dev.sparktrain.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Locale;

/**
 * Issue #17's targets, read from the bench's JSON once every run is done: a markdown table on stderr
 * ({@code | measure | measured | target | met |}) and {@code targets: [{measure, measured, target, met}]} in the
 * JSON. Every target is a ratio that must not exceed its limit; a measure the run did not produce reads
 * "not measured", with measured and met null.
 */
final class Targets {
  private Targets() {}

  static void put(ObjectNode out) {
    ArrayNode rows = out.putArray("targets");
    row(rows, "`cnn` epoch vs its arithmetic bound", num(out, "cnn_vs_bound"), 1.6);
    row(rows, "`mlp` epoch vs its arithmetic bound", num(out, "mlp_vs_bound"), 1.6);
    row(rows, "`cnn` epoch vs PyTorch", num(out, "cnn_vs_pytorch"), 0.5);
    row(rows, "`mlp` epoch vs PyTorch", num(out, "mlp_vs_pytorch"), 0.7);
    row(rows, "barrier over TCP vs the floor (`threads`), `mlp`", num(out, "mlp_tcp_vs_floor"), 1.15);
    row(rows, "barrier over TCP vs the floor (`threads`), `cnn`", num(out, "cnn_tcp_vs_floor"), 1.05);
    row(rows, "no native BLAS vs OpenBLAS, `mlp` epoch", num(out, "mlp_no_native_blas_vs_openblas"), 1.15);
    row(rows, "bytes into the driver per step vs the model (max over 1, 2, 4 executors)", driverBytesVsModel(out), 2.0);
    row(rows, "standalone cluster (2 workers) vs `local[2]`, `mlp` step", num(out, "cluster_vs_local_mlp"), 1.2);
    row(rows, "standalone cluster (2 workers) vs `local[2]`, `cnn` step", num(out, "cluster_vs_local_cnn"), 1.2);
    StringBuilder sb = new StringBuilder("\n| measure | measured | target | met |\n|---|---:|---:|---|\n");
    for (JsonNode r : rows) {
      sb.append("| ").append(r.get("measure").asText()).append(" | ")
          .append(r.get("measured").isNumber() ? String.format(Locale.ROOT, "%.3f", r.get("measured").asDouble()) : "not measured")
          .append(" | ≤ ").append(r.get("target").asDouble()).append(" | ")
          .append(r.get("met").isBoolean() ? (r.get("met").asBoolean() ? "yes" : "no") : "").append(" |\n");
    }
    System.err.println(sb);
  }

  /**
   * cluster_scaling's largest driver_bytes_in_per_step over 4 bytes a parameter with train.reduce = tree
   * (the flat rows are there for the cost model; one executor has no tree), or NaN when no row has it
   * (the figure comes from the trainer's result JSON).
   */
  static double driverBytesVsModel(JsonNode out) {
    double max = Double.NaN;
    for (JsonNode row : out.path("cluster_scaling")) {
      JsonNode b = row.path("driver_bytes_in_per_step");
      if (!b.isNumber() || (row.path("executors").asInt() > 1 && !row.path("reduce").asText().equals("tree"))) continue;
      double r = b.asDouble() / (4.0 * row.path("parameters").asLong(ClusterBench.MLP_PARAMETERS));
      max = Double.isNaN(max) ? r : Math.max(max, r);
    }
    if (!Double.isNaN(max)) ((ObjectNode) out).put("driver_bytes_in_per_step_vs_model", max);
    return max;
  }

  private static double num(JsonNode out, String key) {
    JsonNode v = out.path(key);
    return v.isNumber() ? v.asDouble() : Double.NaN;
  }

  private static void row(ArrayNode rows, String measure, double measured, double target) {
    ObjectNode r = rows.addObject();
    r.put("measure", measure);
    if (Double.isFinite(measured)) {
      r.put("measured", measured);
      r.put("target", target);
      r.put("met", measured <= target);
    } else {
      r.putNull("measured");
      r.put("target", target);
      r.putNull("met");
    }
  }
}
