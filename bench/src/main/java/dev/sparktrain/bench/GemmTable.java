package dev.sparktrain.bench;

import dev.sparktrain.bench.CandidateProbe.Availability;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.openjdk.jmh.results.RunResult;

/**
 * The report's figures: GFLOP/s for each (shape, implementation) and the ratio to OpenBLAS on the same shape,
 * rendered as a markdown table and as JSON rows.
 */
final class GemmTable {
  static final String BASELINE = GemmCandidate.OPENBLAS.id;

  /**
   * One measured or missing pair. Status is ok, unavailable (did not load) or failed (its fork failed).
   * gflops is the mean over measurement iterations; min and max are the slowest and fastest iteration.
   */
  record Cell(GemmShape shape, String impl, String status, double gflops, double min, double max,
              double vsOpenblas) {
    boolean ok() {
      return status.equals("ok");
    }

    /** (max − min) / mean over the measurement iterations. */
    double spread() {
      return (max - min) / gflops;
    }
  }

  private final List<GemmShape> shapes;
  private final List<String> impls;
  private final Map<String, Cell> cells = new LinkedHashMap<>();

  /**
   * @param planned impl id to the shape labels it was meant to run on
   * @param results JMH's results; a planned pair without one counts as failed
   */
  GemmTable(List<String> shapeLabels, Map<String, List<String>> planned, Map<String, Availability> probes,
            Collection<RunResult> results) {
    this.shapes = shapeLabels.stream().map(GemmShape::named).toList();
    this.impls = List.copyOf(planned.keySet());
    Map<String, double[]> measured = new HashMap<>();
    for (RunResult r : results) {
      String key = key(r.getParams().getParam("shape"), r.getParams().getParam("impl"));
      var stats = r.getPrimaryResult().getStatistics();
      measured.put(key, new double[] {stats.getMean(), stats.getMin(), stats.getMax()});
    }
    for (GemmShape shape : shapes) {
      double gflopsPerCall = shape.flops() / 1e9;
      double[] base = measured.get(key(shape.label(), BASELINE));
      for (String impl : impls) {
        if (!planned.get(impl).contains(shape.label())) continue;
        String k = key(shape.label(), impl);
        double[] score = measured.get(k);
        if (!probes.get(impl).available()) {
          cells.put(k, new Cell(shape, impl, "unavailable", Double.NaN, Double.NaN, Double.NaN, Double.NaN));
        } else if (score == null) {
          cells.put(k, new Cell(shape, impl, "failed", Double.NaN, Double.NaN, Double.NaN, Double.NaN));
        } else {
          double ratio = base == null ? Double.NaN : score[0] / base[0];
          cells.put(k, new Cell(shape, impl, "ok", score[0] * gflopsPerCall, score[1] * gflopsPerCall,
              score[2] * gflopsPerCall, ratio));
        }
      }
    }
  }

  private static String key(String shape, String impl) {
    return shape + "|" + impl;
  }

  /** Geometric mean of GFLOP/s over all shapes, for implementations measured on every one of them. */
  Map<String, Double> geomeans() {
    Map<String, Double> means = new LinkedHashMap<>();
    for (String impl : impls) {
      double logSum = 0;
      boolean complete = true;
      for (GemmShape shape : shapes) {
        Cell c = cells.get(key(shape.label(), impl));
        if (c == null || !c.ok()) {
          complete = false;
          break;
        }
        logSum += Math.log(c.gflops());
      }
      if (complete && !shapes.isEmpty()) means.put(impl, Math.exp(logSum / shapes.size()));
    }
    return means;
  }

  /** The implementation with the highest geometric-mean GFLOP/s over all shapes, if any was measured on all. */
  Optional<String> best() {
    return geomeans().entrySet().stream().max(Map.Entry.comparingByValue()).map(Map.Entry::getKey);
  }

  /** The fastest implementation on this shape, if any was measured. */
  Optional<String> fastestOn(GemmShape shape) {
    return impls.stream().map(i -> cells.get(key(shape.label(), i)))
        .filter(c -> c != null && c.ok()).max(Comparator.comparingDouble(Cell::gflops)).map(Cell::impl);
  }

  /** Rows of shapes, columns of implementations; cells "GFLOP/s (ratio to openblas)". */
  String markdown() {
    StringBuilder t = new StringBuilder("| shape | op(A)·op(B) |");
    for (String impl : impls) t.append(' ').append(impl).append(" |");
    t.append("\n|---|---|").append("---:|".repeat(impls.size())).append('\n');
    for (GemmShape shape : shapes) {
      t.append("| ").append(shape.label()).append(" | ").append(shape.operands()).append(" |");
      for (String impl : impls) t.append(' ').append(text(cells.get(key(shape.label(), impl)))).append(" |");
      t.append('\n');
    }
    Map<String, Double> means = geomeans();
    Double base = means.get(BASELINE);
    t.append("| geometric mean | |");
    for (String impl : impls) {
      Double mean = means.get(impl);
      t.append(' ').append(mean == null ? "—" : format(mean, base == null ? Double.NaN : mean / base, impl))
          .append(" |");
    }
    return t.append('\n').toString();
  }

  private static String text(Cell c) {
    if (c == null) return "—";
    if (!c.ok()) return c.status();
    return format(c.gflops(), c.vsOpenblas(), c.impl());
  }

  private static String format(double gflops, double ratio, String impl) {
    String g = String.format("%.1f", gflops);
    return impl.equals(BASELINE) || Double.isNaN(ratio) ? g : g + String.format(" (%.2f)", ratio);
  }

  /** The pair whose iterations spread widest relative to their mean, to judge how far the figures hold. */
  Optional<Cell> noisiest() {
    return cells.values().stream().filter(Cell::ok).max(Comparator.comparingDouble(Cell::spread));
  }

  List<Map<String, Object>> json() {
    List<Map<String, Object>> rows = new ArrayList<>();
    for (Cell c : cells.values()) {
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("shape", c.shape().label());
      row.put("operands", c.shape().operands());
      row.put("impl", c.impl());
      row.put("status", c.status());
      row.put("gflops", round(c.gflops(), 2));
      row.put("gflops_min", round(c.min(), 2));
      row.put("gflops_max", round(c.max(), 2));
      row.put("vs_openblas", round(c.vsOpenblas(), 3));
      rows.add(row);
    }
    return rows;
  }

  static double round(double x, int digits) {
    double scale = Math.pow(10, digits);
    return Double.isFinite(x) ? Math.round(x * scale) / scale : Double.NaN;
  }
}
