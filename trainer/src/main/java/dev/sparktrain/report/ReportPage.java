package dev.sparktrain.report;

import dev.sparktrain.io.AtomicWrite;
import java.awt.Color;
import java.awt.Rectangle;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.apache.hadoop.conf.Configuration;
import org.jfree.svg.SVGGraphics2D;
import org.jfree.svg.ViewBox;

/**
 * The training report: one self-contained HTML page (no external file, font or script; it opens offline) laid out
 * like TensorBoard's scalars page, with a run list in the sidebar and cards of charts inlined as SVG. Beside the
 * charts: a summary per run, timings, the config and provenance side by side (rows that differ between runs
 * marked), and the warnings met while reading. A short script at the end of the page checks that every chart
 * rendered, for the browser check (scripts/check-report).
 */
public final class ReportPage {
  private ReportPage() {}

  /** What was written: the page's path, the number of runs and of charts. */
  public record Written(String path, int runs, int charts) {}

  /** Builds the page for {@code runs} (distinct names) and writes it to {@code out} atomically. */
  public static Written write(List<RecordedRun> runs, List<String> warnings, String out, Configuration conf) {
    List<ReportCharts.Chart> charts = ReportCharts.all(runs);
    String html = html(runs, charts, warnings);
    AtomicWrite.write(out, conf, o -> o.write(html.getBytes(StandardCharsets.UTF_8)));
    return new Written(out, runs.size(), charts.size());
  }

  /** The page's text. */
  static String html(List<RecordedRun> runs, List<ReportCharts.Chart> charts, List<String> warnings) {
    StringBuilder h = new StringBuilder(1 << 20);
    h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>sparktrain report: ")
        .append(esc(String.join(", ", runs.stream().map(RecordedRun::name).toList()))).append("</title>\n<style>")
        .append(CSS).append("</style></head>\n<body>\n<header><span class=\"logo\">sparktrain</span> training report"
            + "<span class=\"tabs\"><a href=\"#scalars\">scalars</a><a href=\"#timings\">timings</a>"
            + "<a href=\"#test\">test set</a><a href=\"#config\">config</a><a href=\"#provenance\">provenance</a></span></header>\n")
        .append("<div class=\"layout\">\n<nav><h3>Runs</h3>\n");
    for (int i = 0; i < runs.size(); i++) {
      h.append("<div class=\"run\"><span class=\"swatch\" style=\"background:").append(hex(ReportCharts.color(i)))
          .append("\"></span><span><b>").append(esc(runs.get(i).name())).append("</b><br><small>")
          .append(esc(runs.get(i).file())).append("</small></span></div>\n");
    }
    h.append("<p class=\"note\">Smoothing ").append(ReportCharts.SMOOTHING)
        .append(" (exponential moving average of the per-step loss; the raw values are drawn faint).</p></nav>\n<main>\n");
    if (!warnings.isEmpty()) {
      h.append("<div class=\"warnings\">");
      for (String w : warnings) h.append("<p>").append(esc(w)).append("</p>");
      h.append("</div>\n");
    }
    section(h, "scalars", "Scalars", summary(runs), charts);
    section(h, "timings", "Timings", timings(runs), charts);
    section(h, "test", "Test set", testTable(runs), charts);
    h.append("<section id=\"config\"><h2>Config</h2>")
        .append(sideBySide(runs, RecordedRun::config, "no config recorded")).append("</section>\n");
    h.append("<section id=\"provenance\"><h2>Provenance</h2>")
        .append(sideBySide(runs, RecordedRun::provenance, "no provenance recorded")).append("</section>\n");
    h.append("</main></div>\n<script>").append(RENDER_CHECK).append("</script>\n</body></html>\n");
    return h.toString();
  }

  private static void section(StringBuilder h, String id, String title, String table, List<ReportCharts.Chart> charts) {
    h.append("<section id=\"").append(id).append("\"><h2>").append(title).append("</h2>\n").append(table)
        .append("<div class=\"grid\">\n");
    for (ReportCharts.Chart c : charts) {
      if (!c.section().equals(id)) continue;
      h.append("<figure class=\"chart").append(c.width() > 700 ? " wide" : "").append("\" data-chart=\"")
          .append(c.id()).append("\"><figcaption>").append(esc(c.title())).append("</figcaption>\n")
          .append(svg(c)).append("</figure>\n");
    }
    h.append("</div></section>\n");
  }

  /** The chart as an inline SVG element; its ids carry the chart's id, so several charts share a page. */
  static String svg(ReportCharts.Chart c) {
    SVGGraphics2D g = new SVGGraphics2D(c.width(), c.height());
    g.setDefsKeyPrefix(c.id() + "-");
    c.chart().draw(g, new Rectangle(0, 0, c.width(), c.height()));
    return g.getSVGElement(c.id() + "-svg", false, new ViewBox(0, 0, c.width(), c.height()), null, null) + "\n";
  }

  private static String summary(List<RecordedRun> runs) {
    StringBuilder t = new StringBuilder("<table class=\"summary\"><tr><th>run</th><th>started</th><th>epochs</th>"
        + "<th>steps</th><th>last train loss</th><th>last validation loss</th><th>last validation accuracy</th>"
        + "<th>test accuracy</th><th>status</th></tr>\n");
    for (int i = 0; i < runs.size(); i++) {
      RecordedRun r = runs.get(i);
      RecordedRun.Epoch last = r.epochs().isEmpty() ? null : r.epochs().get(r.epochs().size() - 1);
      t.append("<tr><td>").append(runCell(r, i)).append("</td><td>").append(esc(r.time())).append("</td><td>")
          .append(r.epochs().size()).append("</td><td>").append(r.steps().size()).append("</td><td>")
          .append(last == null ? "" : num(last.trainLoss(), 4)).append("</td><td>")
          .append(last == null ? "" : num(last.validationLoss(), 4)).append("</td><td>")
          .append(last == null ? "" : num(last.validationAccuracy(), 4)).append("</td><td>")
          .append(r.test() == null ? "" : num(r.test().accuracy(), 4)).append("</td><td>")
          .append(r.end() == null ? "no end record (running, or cut short)" : "ended").append("</td></tr>\n");
    }
    return t.append("</table>\n").toString();
  }

  private static String timings(List<RecordedRun> runs) {
    StringBuilder t = new StringBuilder("<table class=\"summary\"><tr><th>run</th><th>total seconds</th>"
        + "<th>mean seconds per epoch</th><th>mean examples/s</th></tr>\n");
    for (int i = 0; i < runs.size(); i++) {
      RecordedRun r = runs.get(i);
      double total = r.end() != null ? r.end().seconds()
          : r.steps().isEmpty() ? Double.NaN : r.steps().get(r.steps().size() - 1).seconds();
      t.append("<tr><td>").append(runCell(r, i)).append("</td><td>").append(num(total, 1)).append("</td><td>")
          .append(num(mean(r.epochs().stream().mapToDouble(RecordedRun.Epoch::seconds).toArray()), 2)).append("</td><td>")
          .append(num(mean(r.steps().stream().mapToDouble(RecordedRun.Step::examplesPerSecond).toArray()), 0))
          .append("</td></tr>\n");
    }
    return t.append("</table>\n").toString();
  }

  private static String testTable(List<RecordedRun> runs) {
    StringBuilder t = new StringBuilder("<table class=\"summary\"><tr><th>run</th><th>test accuracy</th>"
        + "<th>test loss</th><th>examples</th><th>worst class</th></tr>\n");
    boolean any = false;
    for (int i = 0; i < runs.size(); i++) {
      RecordedRun.Test test = runs.get(i).test();
      if (test == null) continue;
      any = true;
      long n = 0;
      if (test.hasConfusion()) for (long[] row : test.confusion()) for (long c : row) n += c;
      double[] acc = test.perClassAccuracy();
      String worstClass = "";
      if (acc.length > 0) {
        int worst = 0;
        for (int k = 1; k < acc.length; k++) if (Double.isFinite(acc[k]) && !(acc[k] >= acc[worst])) worst = k;
        worstClass = esc(test.classes().get(worst)) + " (" + num(acc[worst], 3) + ")";
      }
      t.append("<tr><td>").append(runCell(runs.get(i), i)).append("</td><td>").append(num(test.accuracy(), 4))
          .append("</td><td>").append(num(test.loss(), 4)).append("</td><td>")
          .append(test.hasConfusion() ? Long.toString(n) : num(test.examples(), 0)).append("</td><td>")
          .append(worstClass).append("</td></tr>\n");
    }
    return any ? t.append("</table>\n").toString() : "<p class=\"note\">No run recorded a test set.</p>\n";
  }

  /** One row per key of any run, one column per run; rows whose values differ are marked, as TensorBoard's HParams. */
  private static String sideBySide(List<RecordedRun> runs, Function<RecordedRun, Map<String, String>> of, String none) {
    Set<String> keys = new LinkedHashSet<>();
    runs.forEach(r -> keys.addAll(of.apply(r).keySet()));
    if (keys.isEmpty()) return "<p class=\"note\">" + none + ".</p>\n";
    StringBuilder t = new StringBuilder("<table class=\"kv\"><tr><th>key</th>");
    for (int i = 0; i < runs.size(); i++) t.append("<th>").append(runCell(runs.get(i), i)).append("</th>");
    t.append("</tr>\n");
    for (String k : keys) {
      List<String> values = new ArrayList<>();
      runs.forEach(r -> values.add(of.apply(r).getOrDefault(k, "")));
      boolean differs = runs.size() > 1 && values.stream().distinct().count() > 1;
      t.append(differs ? "<tr class=\"differs\">" : "<tr>").append("<td><code>").append(esc(k)).append("</code></td>");
      for (String v : values) t.append("<td>").append(esc(v)).append("</td>");
      t.append("</tr>\n");
    }
    return t.append("</table>\n").toString();
  }

  private static String runCell(RecordedRun r, int i) {
    return "<span class=\"swatch\" style=\"background:" + hex(ReportCharts.color(i)) + "\"></span>" + esc(r.name());
  }

  private static double mean(double[] xs) {
    return java.util.Arrays.stream(xs).filter(Double::isFinite).average().orElse(Double.NaN);
  }

  private static String num(double v, int decimals) {
    return Double.isFinite(v) ? String.format(Locale.ROOT, "%,." + decimals + "f", v) : "";
  }

  private static String hex(Color c) {
    return String.format(Locale.ROOT, "#%02x%02x%02x", c.getRed(), c.getGreen(), c.getBlue());
  }

  static String esc(String s) {
    StringBuilder b = new StringBuilder(s.length());
    for (char c : s.toCharArray()) {
      switch (c) {
        case '<' -> b.append("&lt;");
        case '>' -> b.append("&gt;");
        case '&' -> b.append("&amp;");
        case '"' -> b.append("&quot;");
        case '\'' -> b.append("&#39;");
        default -> b.append(c);
      }
    }
    return b.toString();
  }

  private static final String CSS = """
      body{margin:0;font-family:Roboto,"Helvetica Neue",Arial,sans-serif;font-size:13px;color:#212121;background:#f5f5f5}
      header{background:#f57c00;color:#fff;padding:0 16px;height:48px;line-height:48px;font-size:18px;box-shadow:0 1px 3px rgba(0,0,0,.3)}
      header .logo{font-weight:500;margin-right:8px} header .tabs{margin-left:32px;font-size:13px;text-transform:uppercase}
      header .tabs a{color:#fff;text-decoration:none;margin-right:20px;opacity:.9}
      .layout{display:flex} nav{width:220px;flex:none;background:#fff;border-right:1px solid #ddd;padding:8px 12px;min-height:100vh}
      nav h3{font-size:12px;text-transform:uppercase;color:#616161;margin:12px 0 8px}
      .run{display:flex;align-items:flex-start;gap:8px;margin:6px 0;word-break:break-all} .run small{color:#757575}
      .swatch{display:inline-block;width:12px;height:12px;border-radius:2px;margin:2px 6px 0 0;flex:none}
      .note{color:#757575;font-size:12px} main{flex:1;padding:8px 16px;min-width:0}
      h2{font-size:15px;font-weight:500;margin:18px 0 8px;color:#424242}
      .grid{display:flex;flex-wrap:wrap;gap:12px}
      figure.chart{margin:0;background:#fff;border:1px solid #e0e0e0;border-radius:2px;box-shadow:0 1px 2px rgba(0,0,0,.1);padding:6px 8px;width:calc(50% - 30px)}
      figure.chart.wide{width:calc(100% - 30px);max-width:900px}
      figcaption{font-size:13px;font-weight:500;margin:2px 0 4px;color:#424242} figure.chart svg{width:100%;height:auto;display:block}
      table{border-collapse:collapse;background:#fff;margin:4px 0 12px;box-shadow:0 1px 2px rgba(0,0,0,.1)}
      td,th{border:1px solid #e0e0e0;padding:3px 8px;text-align:left;vertical-align:top} th{background:#fafafa;font-weight:500}
      table.summary td{font-variant-numeric:tabular-nums} tr.differs td{background:#fff3e0}
      .warnings{background:#fff8e1;border:1px solid #ffb300;padding:4px 12px;margin:8px 0}
      """;

  /** Marks each chart with what the browser laid out and drew, and the page with the count; an empty chart logs an error. */
  private static final String RENDER_CHECK = """
      (function () {
        var figures = document.querySelectorAll('figure.chart'), drawn = 0;
        figures.forEach(function (f) {
          var svg = f.querySelector('svg'), box = svg ? svg.getBoundingClientRect() : null;
          var marks = svg ? svg.querySelectorAll('path,rect,line,polyline,polygon,text,circle,ellipse').length : 0;
          var content = svg && marks > 0 ? svg.getBBox() : null;
          var ok = box && box.width > 0 && box.height > 0 && content && content.width > 0 && content.height > 0;
          f.setAttribute('data-rendered', ok ? Math.round(box.width) + 'x' + Math.round(box.height) + ', ' + marks + ' marks' : 'no');
          if (ok) drawn++; else console.error('chart not rendered: ' + f.getAttribute('data-chart'));
        });
        document.body.setAttribute('data-charts-rendered', drawn + '/' + figures.length);
      })();
      """;
}
