package dev.sparktrain.report;

import dev.sparktrain.UserError;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Rectangle;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;
import org.jfree.svg.SVGGraphics2D;

/**
 * One figure of several runs: the training loss per iteration (smoothed, log scale) above the validation
 * accuracy per epoch, on a shared axis in epochs. Drawn by JFreeChart, written as PNG and SVG.
 */
public final class CurvePlot {
  private static final Color[] PALETTE = {new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c),
      new Color(0xd62728), new Color(0x9467bd), new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f)};

  private CurvePlot() {}

  /** Builds the chart; smoothing is an exponential moving average of the iteration losses. */
  public static JFreeChart chart(String title, List<Curves> runs, double smoothing) {
    XYSeriesCollection loss = new XYSeriesCollection(), acc = new XYSeriesCollection();
    for (Curves run : runs) {
      XYSeries l = new XYSeries(run.name(), false), a = new XYSeries(run.name(), false);
      double ema = Double.NaN;
      for (Curves.Point p : run.iterations()) {
        ema = Double.isNaN(ema) ? p.loss() : smoothing * ema + (1 - smoothing) * p.loss();
        if (ema > 0 && Double.isFinite(ema)) l.add(p.epoch() - 1 + (p.iteration() + 1.0) / run.iterationsPerEpoch(), ema);
      }
      for (Curves.EpochPoint e : run.epochs()) if (Double.isFinite(e.valAccuracy())) a.add(e.epoch(), e.valAccuracy());
      loss.addSeries(l);
      acc.addSeries(a);
    }
    LogAxis lossAxis = new LogAxis("training loss (moving average " + smoothing + ", log scale)");
    lossAxis.setBase(10);
    lossAxis.setSmallestValue(1e-3);
    lossAxis.setNumberFormatOverride(new java.text.DecimalFormat("0.0##"));
    XYPlot top = new XYPlot(loss, null, lossAxis, renderer(runs.size(), false, true));
    NumberAxis accAxis = new NumberAxis("validation accuracy");
    accAxis.setAutoRangeIncludesZero(false);
    XYPlot bottom = new XYPlot(acc, null, accAxis, renderer(runs.size(), true, false));
    NumberAxis epochAxis = new NumberAxis("epoch");
    CombinedDomainXYPlot plot = new CombinedDomainXYPlot(epochAxis);
    plot.add(top, 3);
    plot.add(bottom, 2);
    for (XYPlot p : List.of(top, bottom)) style(p);
    return white(title, plot);
  }

  /** A plot as every figure here draws one: white, with light grey grid lines. */
  static XYPlot style(XYPlot p) {
    p.setBackgroundPaint(Color.WHITE);
    p.setDomainGridlinePaint(Color.LIGHT_GRAY);
    p.setRangeGridlinePaint(Color.LIGHT_GRAY);
    return p;
  }

  /** The chart of a plot, with its title and legend, on white. */
  static JFreeChart white(String title, org.jfree.chart.plot.Plot plot) {
    JFreeChart chart = new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, true);
    chart.setBackgroundPaint(Color.WHITE);
    return chart;
  }

  /** A learning-rate axis on a log scale (base 10), labelled like 1E-3. */
  static LogAxis learningRateAxis() {
    LogAxis lr = new LogAxis("learning rate (log scale)");
    lr.setBase(10);
    lr.setSmallestValue(1e-12);
    lr.setNumberFormatOverride(new java.text.DecimalFormat("0.#E0"));
    return lr;
  }

  private static XYLineAndShapeRenderer renderer(int series, boolean shapes, boolean inLegend) {
    XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, shapes);
    for (int i = 0; i < series; i++) {
      r.setSeriesVisibleInLegend(i, inLegend);
      r.setSeriesPaint(i, PALETTE[i % PALETTE.length]);
      r.setSeriesStroke(i, new BasicStroke(1.6f));
    }
    return r;
  }

  /** Writes base.png and base.svg (through Hadoop's FileSystem, so any path works); returns the PNG path. */
  public static String write(JFreeChart chart, String base, int width, int height, Configuration conf) {
    try {
      Path png = new Path(base + ".png"), svg = new Path(base + ".svg");
      FileSystem fs = dev.sparktrain.io.OutputFileSystem.of(png, conf);
      try (OutputStream out = fs.create(png, true)) {
        ChartUtils.writeChartAsPNG(out, chart, width, height);
      }
      SVGGraphics2D g = new SVGGraphics2D(width, height);
      chart.draw(g, new Rectangle(0, 0, width, height));
      try (OutputStream out = fs.create(svg, true)) {
        out.write(g.getSVGDocument().getBytes(StandardCharsets.UTF_8));
      }
      return png.toString();
    } catch (IOException e) {
      throw new UserError(base + ".png: cannot write the plot (" + e.getMessage() + ")");
    }
  }
}
