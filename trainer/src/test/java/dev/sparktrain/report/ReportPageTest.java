package dev.sparktrain.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The report page: every chart inlined as SVG with page-unique ids, nothing fetched, runs overlaid, tables right. */
class ReportPageTest {
  private static RecordedRun run(MetricsFixtures.Shape s) {
    return MetricsFileReader.parse(s.name() + ".jsonl", MetricsFixtures.lines(s), w -> { });
  }

  private static final RecordedRun ADAM = run(MetricsFixtures.fashion("adam", "adam", 1e-3, false, 42));
  private static final RecordedRun SGD = run(new MetricsFixtures.Shape("sgd <b>&", "sgd", 0.05, true, 3, 40, 128, 7, false));

  private static String figure(String html, String id) {
    int at = html.indexOf("data-chart=\"" + id + "\"");
    assertTrue(at > 0, "chart " + id + " is on the page");
    return html.substring(at, html.indexOf("</figure>", at));
  }

  @Test
  void everyChartIsAnInlineSvgAndTheTestChartsCoverOnlyRunsWithATest() {
    List<ReportCharts.Chart> charts = ReportCharts.all(List.of(ADAM, SGD));
    assertEquals(List.of("loss-step", "loss-epoch", "accuracy-epoch", "lr-step", "grad-norm-step", "seconds-epoch",
        "throughput-step", "per-class-accuracy", "confusion-1"), charts.stream().map(ReportCharts.Chart::id).toList());
    String html = ReportPage.html(List.of(ADAM, SGD), charts, List.of());
    assertEquals(charts.size(), count(html, "<figure class=\"chart"));
    assertEquals(charts.size(), count(html, "<svg "));
    for (ReportCharts.Chart c : charts) assertTrue(figure(html, c.id()).contains("<path"), c.id() + " draws paths");
  }

  @Test
  void thePageFetchesNothingAndItsIdsAreUnique() {
    String html = ReportPage.html(List.of(ADAM, SGD), ReportCharts.all(List.of(ADAM, SGD)), List.of());
    for (String external : List.of("<link", "src=", "@import", "url(http", "url('http", "href=\"http")) {
      assertFalse(html.contains(external), "no external resource: " + external);
    }
    // SVG clip paths are referenced by id: two charts' ids clashing would clip one chart by the other's box
    Matcher m = Pattern.compile(" id=['\"]([^'\"]+)['\"]").matcher(html);
    Set<String> seen = new HashSet<>();
    List<String> clashes = new ArrayList<>();
    while (m.find()) if (!seen.add(m.group(1))) clashes.add(m.group(1));
    assertTrue(seen.size() > 20, "clip paths and charts have ids");
    assertEquals(List.of(), clashes);
  }

  @Test
  void runsAreOverlaidInTheirOwnColours() {
    String html = ReportPage.html(List.of(ADAM, SGD), ReportCharts.all(List.of(ADAM, SGD)), List.of());
    for (String id : List.of("loss-step", "loss-epoch", "lr-step", "seconds-epoch")) {
      String f = figure(html, id);
      assertTrue(f.contains(">adam") && f.contains(">sgd &lt;b&gt;&amp;"), id + ": both runs in the legend");
      assertTrue(f.contains("rgb(255,112,67)") && f.contains("rgb(0,119,187)"), id + ": both run colours");
    }
    assertTrue(figure(html, "loss-epoch").contains("adam validation"));
  }

  @Test
  void theConfusionMatrixWritesEveryCount() {
    RecordedRun.Test t = ADAM.test();
    String f = figure(ReportPage.html(List.of(ADAM), ReportCharts.all(List.of(ADAM)), List.of()), "confusion-1");
    for (long[] row : t.confusion()) for (long c : row) assertTrue(f.contains(">" + c + "</text>"), "count " + c);
    assertEquals(10_000, java.util.Arrays.stream(t.confusion()).flatMapToLong(java.util.Arrays::stream).sum());
  }

  @Test
  void tablesShowTimingsConfigDifferencesProvenanceAndEscapeText() {
    String html = ReportPage.html(List.of(ADAM, SGD), ReportCharts.all(List.of(ADAM, SGD)), List.of("warning: x <y>"));
    assertFalse(html.contains("<b>&"), "a run's name is text, not markup");
    assertTrue(html.contains("<p>warning: x &lt;y&gt;</p>"));
    assertTrue(html.contains("<tr class=\"differs\"><td><code>optimizer.name</code></td><td>adam</td><td>sgd</td></tr>"));
    assertTrue(html.contains("<tr><td><code>spark.master</code></td><td>local[2]</td><td>local[2]</td></tr>"), "same value, unmarked");
    assertTrue(html.contains("<td><code>spark</code></td><td>4.2.0</td>"), "provenance");
    double mean = ADAM.epochs().stream().mapToDouble(RecordedRun.Epoch::seconds).average().orElseThrow();
    assertTrue(html.contains(String.format(java.util.Locale.ROOT, "<td>%.2f</td>", mean)), "mean seconds per epoch");
    assertTrue(html.contains("<td>0.8870</td>"), "adam's test accuracy");
  }

  private static int count(String s, String part) {
    int n = 0;
    for (int i = s.indexOf(part); i >= 0; i = s.indexOf(part, i + 1)) n++;
    return n;
  }

  @Test
  void longRunsAreThinnedButKeepTheirLastStepAndTheFullAverage() {
    RecordedRun longRun = run(new MetricsFixtures.Shape("long", "adam", 1e-3, false, 50, 1000, 128, 3, false));
    org.jfree.data.xy.XYDataset loss = ReportCharts.stepLoss(List.of(longRun)).getXYPlot().getDataset();
    int drawn = loss.getItemCount(1);
    assertTrue(drawn <= ReportCharts.MAX_POINTS + 1 && drawn >= ReportCharts.MAX_POINTS / 2, drawn + " points of 50,000 steps");
    assertEquals(50_000, loss.getXValue(1, drawn - 1), "the last step is drawn");
    double ema = Double.NaN;
    for (RecordedRun.Step st : longRun.steps()) ema = Double.isNaN(ema) ? st.loss() : 0.6 * ema + 0.4 * st.loss();
    assertEquals(ema, loss.getYValue(1, drawn - 1), 1e-12, "the smoothed curve averages every step, not only the drawn ones");
    org.jfree.data.xy.XYDataset lr = ReportCharts.perStep(List.of(longRun), "lr", RecordedRun.Step::lr, true).getXYPlot().getDataset();
    assertTrue(lr.getItemCount(0) <= ReportCharts.MAX_POINTS + 1);
    assertTrue(ReportPage.svg(new ReportCharts.Chart("x", "x", "scalars", ReportCharts.stepLoss(List.of(longRun)), 600, 340)).length() < 400_000);
  }
}
