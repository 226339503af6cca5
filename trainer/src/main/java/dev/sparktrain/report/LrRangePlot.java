package dev.sparktrain.report;

import dev.sparktrain.train.LrRangeRecorder;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.util.List;
import java.util.Locale;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * The figure of a learning-rate range test: the raw and smoothed training loss against the learning rate (log
 * axis), with vertical markers at the suggested and the steepest rates. The loss axis ends a little above the
 * highest smoothed loss, so that the raw loss's last spikes do not flatten the curve. Written by
 * {@link CurvePlot#write}.
 */
public final class LrRangePlot {
  private static final Color RAW = new Color(0x9ecae1), SMOOTHED = new Color(0x1f77b4),
      SUGGESTED = new Color(0x2ca02c), STEEPEST = new Color(0xff7f0e);

  private LrRangePlot() {}

  /** Builds the chart of the recorded points and their suggestion (NaN rates get no marker). */
  public static JFreeChart chart(String title, List<LrRangeRecorder.Point> points, LrRangeRecorder.Suggestion s) {
    XYSeries raw = new XYSeries("loss", false), smoothed = new XYSeries("smoothed loss (β = "
        + LrRangeRecorder.BETA + ")", false);
    double low = Double.POSITIVE_INFINITY, high = Double.NEGATIVE_INFINITY;
    for (LrRangeRecorder.Point p : points) {
      raw.add(p.lr(), p.loss());
      smoothed.add(p.lr(), p.smoothedLoss());
      low = Math.min(low, Math.min(p.loss(), p.smoothedLoss()));
      high = Math.max(high, p.smoothedLoss());
    }
    XYSeriesCollection data = new XYSeriesCollection();
    data.addSeries(raw);
    data.addSeries(smoothed);
    LogAxis lrAxis = CurvePlot.learningRateAxis();
    NumberAxis lossAxis = new NumberAxis("training loss");
    lossAxis.setAutoRangeIncludesZero(false);
    if (low < high) {
      double pad = 0.05 * (high - low);
      lossAxis.setRange(low - pad, high + pad);
    }
    XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, false);
    r.setSeriesPaint(0, RAW);
    r.setSeriesStroke(0, new BasicStroke(1.0f));
    r.setSeriesPaint(1, SMOOTHED);
    r.setSeriesStroke(1, new BasicStroke(2.0f));
    XYPlot plot = CurvePlot.style(new XYPlot(data, lrAxis, lossAxis, r));
    mark(plot, s.suggestedLr(), "suggested", SUGGESTED, true);
    mark(plot, s.steepestLr(), "steepest", STEEPEST, false);
    return CurvePlot.white(title, plot);
  }

  /** A dashed vertical line at lr, labelled at the plot's top or bottom so that two close markers stay legible. */
  private static void mark(XYPlot plot, double lr, String name, Color color, boolean top) {
    if (!(lr > 0) || Double.isInfinite(lr)) return;
    ValueMarker m = new ValueMarker(lr, color, new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10,
        new float[] {6, 4}, 0));
    m.setLabel(String.format(Locale.ROOT, "%s %.3g", name, lr));
    m.setLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    m.setLabelPaint(color);
    m.setLabelBackgroundColor(new Color(255, 255, 255, 0));
    m.setLabelAnchor(top ? RectangleAnchor.TOP_LEFT : RectangleAnchor.BOTTOM_LEFT);
    m.setLabelTextAnchor(top ? TextAnchor.TOP_RIGHT : TextAnchor.BOTTOM_RIGHT);
    plot.addDomainMarker(m);
  }
}
