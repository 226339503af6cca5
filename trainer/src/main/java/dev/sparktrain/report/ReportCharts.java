package dev.sparktrain.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Paint;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToDoubleFunction;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.annotations.XYTextAnnotation;
import org.jfree.chart.axis.CategoryAxis;
import org.jfree.chart.axis.CategoryLabelPositions;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.SymbolAxis;
import org.jfree.chart.axis.ValueAxis;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.PaintScale;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.chart.renderer.xy.XYBlockRenderer;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.xy.DefaultXYZDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * The training report's charts, drawn by JFreeChart: scalars with several runs overlaid (loss per step, train and
 * validation loss and accuracy per epoch, learning rate, gradient norm), timings (seconds per epoch, examples/s)
 * and the test set (per-class accuracy, one confusion matrix per run). A run keeps its colour in every chart; a
 * chart without data for any run is left out.
 */
public final class ReportCharts {
  /** TensorBoard's run colours. */
  static final Color[] RUN_COLORS = {new Color(0xff7043), new Color(0x0077bb), new Color(0x009988),
      new Color(0xee3377), new Color(0x33bbee), new Color(0xcc3311), new Color(0xaa3377), new Color(0x555555)};
  /** The weight of the exponential moving average drawn over the per-step loss, as TensorBoard's slider. */
  public static final double SMOOTHING = 0.6;
  /**
   * At most this many points per-step series are drawn with (every k-th step, and the last): a pretraining run's
   * millions of steps would otherwise make a page of hundreds of megabytes. TensorBoard keeps 1,000 per series.
   */
  public static final int MAX_POINTS = 2000;
  private static final BasicStroke SOLID = new BasicStroke(1.8f), FAINT = new BasicStroke(1.0f),
      DASHED = new BasicStroke(1.8f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f}, 0f);

  /** A chart for the page: an id unique in the page, its card title, the section it goes in, and its size in pixels. */
  public record Chart(String id, String title, String section, JFreeChart chart, int width, int height) {}

  private ReportCharts() {}

  /** The colour of the run at {@code index} in the page's order. */
  public static Color color(int index) {
    return RUN_COLORS[index % RUN_COLORS.length];
  }

  /** Every chart that has data, in page order. Run names must be distinct. */
  public static List<Chart> all(List<RecordedRun> runs) {
    List<Chart> charts = new ArrayList<>();
    add(charts, "loss-step", "loss per step (smoothed " + SMOOTHING + ", raw faint)", "scalars", stepLoss(runs));
    add(charts, "loss-epoch", "loss per epoch (train solid, validation dashed)", "scalars",
        epochPair(runs, "loss", RecordedRun.Epoch::trainLoss, RecordedRun.Epoch::validationLoss));
    add(charts, "accuracy-epoch", "accuracy per epoch (train solid, validation dashed)", "scalars",
        epochPair(runs, "accuracy", RecordedRun.Epoch::trainAccuracy, RecordedRun.Epoch::validationAccuracy));
    add(charts, "lr-step", "learning rate per step", "scalars", perStep(runs, "learning rate", RecordedRun.Step::lr, true));
    add(charts, "grad-norm-step", "gradient norm per step", "scalars",
        perStep(runs, "gradient norm", RecordedRun.Step::gradNorm, false));
    add(charts, "seconds-epoch", "seconds per epoch", "timings", secondsPerEpoch(runs));
    add(charts, "throughput-step", "examples per second, per step", "timings",
        perStep(runs, "examples/s", RecordedRun.Step::examplesPerSecond, false));
    if (runs.stream().anyMatch(r -> r.test() != null && r.test().hasConfusion())) {
      charts.add(new Chart("per-class-accuracy", "per-class test accuracy", "test", perClassAccuracy(runs), 1200, 300));
    }
    for (int i = 0; i < runs.size(); i++) {
      RecordedRun.Test t = runs.get(i).test();
      if (t == null || !t.hasConfusion()) continue;
      int side = Math.max(420, Math.min(720, 160 + 44 * t.classes().size()));
      charts.add(new Chart("confusion-" + (i + 1), "confusion matrix: " + runs.get(i).name(), "test",
          confusion(t, color(i)), side + 80, side));
    }
    return charts;
  }

  private static void add(List<Chart> charts, String id, String title, String section, JFreeChart chart) {
    if (chart != null) charts.add(new Chart(id, title, section, chart, 600, 340));
  }

  /** The per-step loss, raw and as an exponential moving average (TensorBoard's smoothing). */
  static JFreeChart stepLoss(List<RecordedRun> runs) {
    XYSeriesCollection data = new XYSeriesCollection();
    XYLineAndShapeRenderer r = lines();
    for (int i = 0; i < runs.size(); i++) {
      XYSeries raw = new XYSeries(runs.get(i).name() + " (raw)", false), smooth = new XYSeries(runs.get(i).name(), false);
      double ema = Double.NaN;
      List<RecordedRun.Step> steps = runs.get(i).steps();
      int stride = stride(steps.size());
      for (int n = 0; n < steps.size(); n++) {
        RecordedRun.Step s = steps.get(n);
        if (!Double.isFinite(s.loss())) continue;
        ema = Double.isNaN(ema) ? s.loss() : SMOOTHING * ema + (1 - SMOOTHING) * s.loss(); // over every step
        if (n % stride != 0 && n != steps.size() - 1) continue;
        raw.add(s.step(), s.loss());
        smooth.add(s.step(), ema);
      }
      if (smooth.isEmpty()) continue;
      Color c = color(i);
      int n = data.getSeriesCount();
      data.addSeries(raw);
      data.addSeries(smooth);
      series(r, n, new Color(c.getRed(), c.getGreen(), c.getBlue(), 70), FAINT, false);
      series(r, n + 1, c, SOLID, true);
    }
    if (data.getSeriesCount() == 0) return null;
    return chart(new XYPlot(data, axis("step"), axis("loss"), r));
  }

  /** One value per step for each run; a log axis for the rate when it spans more than a factor of 10. */
  static JFreeChart perStep(List<RecordedRun> runs, String label, ToDoubleFunction<RecordedRun.Step> value, boolean logIfWide) {
    XYSeriesCollection data = new XYSeriesCollection();
    XYLineAndShapeRenderer r = lines();
    double min = Double.POSITIVE_INFINITY, max = 0;
    for (int i = 0; i < runs.size(); i++) {
      XYSeries s = new XYSeries(runs.get(i).name(), false);
      List<RecordedRun.Step> steps = runs.get(i).steps();
      int stride = stride(steps.size());
      for (int n = 0; n < steps.size(); n++) {
        RecordedRun.Step p = steps.get(n);
        double v = value.applyAsDouble(p);
        if (!Double.isFinite(v) || (n % stride != 0 && n != steps.size() - 1)) continue;
        s.add(p.step(), v);
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
      if (s.isEmpty()) continue;
      series(r, data.getSeriesCount(), color(i), SOLID, true);
      data.addSeries(s);
    }
    if (data.getSeriesCount() == 0) return null;
    ValueAxis y = logIfWide && min > 0 && max / min > 10 ? logAxis(label + " (log scale)") : axis(label);
    return chart(new XYPlot(data, axis("step"), y, r));
  }

  /** Train (solid) and validation (dashed) values per epoch, in each run's colour, with a marker per epoch. */
  static JFreeChart epochPair(List<RecordedRun> runs, String label, ToDoubleFunction<RecordedRun.Epoch> train,
      ToDoubleFunction<RecordedRun.Epoch> validation) {
    XYSeriesCollection data = new XYSeriesCollection();
    XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, true);
    for (int i = 0; i < runs.size(); i++) {
      for (boolean isTrain : new boolean[] {true, false}) {
        XYSeries s = new XYSeries(runs.get(i).name() + (isTrain ? " train" : " validation"), false);
        for (RecordedRun.Epoch e : runs.get(i).epochs()) {
          double v = (isTrain ? train : validation).applyAsDouble(e);
          if (Double.isFinite(v)) s.add(e.epoch(), v);
        }
        if (s.isEmpty()) continue;
        series(r, data.getSeriesCount(), color(i), isTrain ? SOLID : DASHED, true);
        data.addSeries(s);
      }
    }
    if (data.getSeriesCount() == 0) return null;
    return chart(new XYPlot(data, integerAxis("epoch"), axis(label), r));
  }

  /** Each epoch's duration, per run. */
  static JFreeChart secondsPerEpoch(List<RecordedRun> runs) {
    XYSeriesCollection data = new XYSeriesCollection();
    XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, true);
    for (int i = 0; i < runs.size(); i++) {
      XYSeries s = new XYSeries(runs.get(i).name(), false);
      for (RecordedRun.Epoch e : runs.get(i).epochs()) if (Double.isFinite(e.seconds())) s.add(e.epoch(), e.seconds());
      if (s.isEmpty()) continue;
      series(r, data.getSeriesCount(), color(i), SOLID, true);
      data.addSeries(s);
    }
    if (data.getSeriesCount() == 0) return null;
    NumberAxis y = axis("seconds");
    y.setAutoRangeIncludesZero(true);
    return chart(new XYPlot(data, integerAxis("epoch"), y, r));
  }

  /** Each class's test accuracy, one bar per run with a confusion matrix, grouped by class. */
  static JFreeChart perClassAccuracy(List<RecordedRun> runs) {
    DefaultCategoryDataset data = new DefaultCategoryDataset();
    BarRenderer r = new BarRenderer();
    r.setBarPainter(new StandardBarPainter());
    r.setShadowVisible(false);
    r.setItemMargin(0.05);
    int series = 0;
    for (int i = 0; i < runs.size(); i++) {
      RecordedRun.Test t = runs.get(i).test();
      if (t == null || !t.hasConfusion()) continue;
      double[] acc = t.perClassAccuracy();
      for (int k = 0; k < acc.length; k++) data.addValue(Double.isFinite(acc[k]) ? acc[k] : null, runs.get(i).name(), t.classes().get(k));
      r.setSeriesPaint(series++, color(i));
    }
    NumberAxis y = axis("accuracy");
    y.setRange(0, 1.0);
    CategoryAxis x = new CategoryAxis("class");
    x.setCategoryLabelPositions(CategoryLabelPositions.STANDARD);
    CategoryPlot plot = new CategoryPlot(data, x, y, r);
    plot.setBackgroundPaint(Color.WHITE);
    plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
    return legendBelow(plot);
  }

  /**
   * The confusion matrix as a heat map: true class down, predicted class across, each cell's shade its share of
   * the true class (so the diagonal reads as per-class accuracy), and its count written in it.
   */
  static JFreeChart confusion(RecordedRun.Test t, Color color) {
    int k = t.classes().size();
    double[] xs = new double[k * k], ys = new double[k * k], zs = new double[k * k];
    XYPlot plot = new XYPlot();
    String[] labels = t.classes().toArray(String[]::new);
    Font cellFont = new Font(Font.SANS_SERIF, Font.PLAIN, k > 12 ? 9 : 14);
    for (int i = 0; i < k; i++) {
      long row = 0;
      for (long c : t.confusion()[i]) row += c;
      for (int j = 0; j < k; j++) {
        int n = i * k + j;
        xs[n] = j;
        ys[n] = i;
        zs[n] = row == 0 ? 0 : (double) t.confusion()[i][j] / row;
        XYTextAnnotation count = new XYTextAnnotation(Long.toString(t.confusion()[i][j]), j, i);
        count.setFont(cellFont);
        count.setPaint(zs[n] > 0.5 ? Color.WHITE : Color.DARK_GRAY);
        plot.addAnnotation(count);
      }
    }
    DefaultXYZDataset data = new DefaultXYZDataset();
    data.addSeries("share of the true class", new double[][] {xs, ys, zs});
    XYBlockRenderer r = new XYBlockRenderer();
    r.setPaintScale(new ShadeScale(color));
    SymbolAxis predicted = new SymbolAxis("predicted class", labels), truth = new SymbolAxis("true class", labels);
    predicted.setGridBandsVisible(false);
    truth.setGridBandsVisible(false);
    truth.setInverted(true); // the first class on top, as a table reads
    plot.setDataset(data);
    plot.setDomainAxis(predicted);
    plot.setRangeAxis(truth);
    plot.setRenderer(r);
    plot.setBackgroundPaint(Color.WHITE);
    plot.setDomainGridlinesVisible(false);
    plot.setRangeGridlinesVisible(false);
    JFreeChart chart = CurvePlot.white(null, plot);
    chart.removeLegend();  // each cell writes its count; a legend would only name the one series
    return chart;
  }

  /** White to the run's colour over [0, 1]. */
  private record ShadeScale(Color color) implements PaintScale {
    @Override public double getLowerBound() {
      return 0;
    }

    @Override public double getUpperBound() {
      return 1;
    }

    @Override public Paint getPaint(double v) {
      double f = Math.max(0, Math.min(1, v));
      return new Color(mix(255, color.getRed(), f), mix(255, color.getGreen(), f), mix(255, color.getBlue(), f));
    }

    private static int mix(int from, int to, double f) {
      return (int) Math.round(from + (to - from) * f);
    }
  }

  /** Every how many steps a point is drawn so that a series has at most {@link #MAX_POINTS} (plus the last). */
  static int stride(int steps) {
    return Math.max(1, (steps + MAX_POINTS - 1) / MAX_POINTS);
  }

  private static XYLineAndShapeRenderer lines() {
    return new XYLineAndShapeRenderer(true, false);
  }

  private static void series(XYLineAndShapeRenderer r, int index, Color paint, BasicStroke stroke, boolean inLegend) {
    r.setDrawSeriesLineAsPath(true); // one SVG path per series, not one line element per step
    r.setSeriesPaint(index, paint);
    r.setSeriesStroke(index, stroke);
    r.setSeriesVisibleInLegend(index, inLegend);
    r.setSeriesShape(index, new java.awt.geom.Ellipse2D.Double(-3, -3, 6, 6));
  }

  private static NumberAxis axis(String label) {
    NumberAxis a = new NumberAxis(label);
    a.setAutoRangeIncludesZero(false);
    return a;
  }

  private static NumberAxis integerAxis(String label) {
    NumberAxis a = axis(label);
    a.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
    return a;
  }

  private static LogAxis logAxis(String label) {
    LogAxis a = new LogAxis(label);
    a.setBase(10);
    a.setSmallestValue(1e-12);
    // one tick per power of ten: JFreeChart's automatic units put ticks at 10^0.5 steps (3.162E-2)
    a.setTickUnit(new org.jfree.chart.axis.NumberTickUnit(1), false, false);
    a.setAutoTickUnitSelection(false);
    a.setNumberFormatOverride(new java.text.DecimalFormat("0E0"));
    return a;
  }

  private static JFreeChart chart(XYPlot plot) {
    CurvePlot.style(plot);
    return legendBelow(plot);
  }

  /** The untitled chart of a plot on white ({@link CurvePlot#white}), its legend below without a frame. */
  private static JFreeChart legendBelow(org.jfree.chart.plot.Plot plot) {
    JFreeChart chart = CurvePlot.white(null, plot);
    chart.getLegend().setFrame(org.jfree.chart.block.BlockBorder.NONE);
    return chart;
  }
}
