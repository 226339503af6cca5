package dev.sparktrain.report;

import java.awt.Color;
import java.awt.geom.Ellipse2D;
import java.util.List;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * The figure of a random search: each run's validation accuracy against its learning rate (log scale), the best
 * run marked, as the lecture's "coarse to fine" plots show where the good region lies.
 */
public final class SearchPlot {
  private SearchPlot() {}

  /** One searched run: its learning rate and validation accuracy. */
  public record Point(double learningRate, double validationAccuracy) {}

  public static JFreeChart chart(String title, List<Point> runs, Point best) {
    XYSeries all = new XYSeries("runs", false), top = new XYSeries("best", false);
    for (Point p : runs) if (Double.isFinite(p.validationAccuracy())) all.add(p.learningRate(), p.validationAccuracy());
    if (best != null) top.add(best.learningRate(), best.validationAccuracy());
    XYSeriesCollection data = new XYSeriesCollection();
    data.addSeries(all);
    data.addSeries(top);
    LogAxis x = CurvePlot.learningRateAxis();
    NumberAxis y = new NumberAxis("validation accuracy");
    y.setAutoRangeIncludesZero(false);
    XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(false, true);
    r.setSeriesPaint(0, new Color(0x1f77b4));
    r.setSeriesShape(0, new Ellipse2D.Double(-4, -4, 8, 8));
    r.setSeriesPaint(1, new Color(0xd62728));
    r.setSeriesShape(1, new Ellipse2D.Double(-7, -7, 14, 14));
    return CurvePlot.white(title, CurvePlot.style(new XYPlot(data, x, y, r)));
  }
}
