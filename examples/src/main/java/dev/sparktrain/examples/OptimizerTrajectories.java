package dev.sparktrain.examples;

import dev.sparktrain.optim.GradientTransform;
import dev.sparktrain.optim.Optimizers;
import dev.sparktrain.optim.Schedule;
import dev.sparktrain.optim.Stepper;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Rectangle;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.LookupPaintScale;
import org.jfree.chart.renderer.xy.XYBlockRenderer;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.LegendTitle;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.data.xy.DefaultXYZDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * The classic picture of the optimizers: SGD, Momentum, Nesterov, AdaGrad, RMSProp and Adam, run with the
 * trainer's own optimizer code on two 2-D functions, their paths drawn over banded loss contours.
 * Writes {@code examples/trajectories/taco.png} and {@code saddle.png} (PNG only: as SVG the heat map is 11 MB):
 * {@code scripts/trajectories}.
 */
public final class OptimizerTrajectories {
  private OptimizerTrajectories() {}

  /** A 2-D test function, its gradient, a start point, the view and the step budget. */
  record Surface(String name, String title, Function<double[], Double> f, Function<double[], double[]> grad,
                 double[] start, double xMin, double xMax, double yMin, double yMax, int steps) {}

  /** An optimizer with the learning rate it gets in the picture. */
  record Run(String label, Function<Schedule, GradientTransform<?>> make, double lr, Color color) {}

  static final List<Run> RUNS = List.of(
      new Run("SGD", Optimizers::sgd, 0.1, new Color(0x1f77b4)),
      new Run("Momentum 0.9", lr -> Optimizers.momentum(lr, 0.9), 0.1, new Color(0xff7f0e)),
      new Run("Nesterov 0.9", lr -> Optimizers.nesterov(lr, 0.9), 0.1, new Color(0x2ca02c)),
      new Run("AdaGrad", lr -> Optimizers.adagrad(lr, 1e-8), 1.0, new Color(0xd62728)),
      new Run("RMSProp 0.9", lr -> Optimizers.rmsprop(lr, 0.9, 1e-8), 0.1, new Color(0x9467bd)),
      new Run("Adam", lr -> Optimizers.adam(lr, 0.9, 0.999, 1e-8), 0.3, new Color(0x8c564b)));

  public static void main(String[] args) throws IOException {
    Path dir = Path.of(args.length > 0 ? args[0] : "examples/trajectories");
    Files.createDirectories(dir);
    // an ill-conditioned quadratic ("taco shell"): curvature 0.2 along x, 4 along y (condition number 20)
    Surface taco = new Surface("taco", "Ill-conditioned quadratic f = 0.1·x² + 2·y²",
        p -> 0.1 * p[0] * p[0] + 2 * p[1] * p[1], p -> new double[] {0.2 * p[0], 4 * p[1]},
        new double[] {-4.5, 1.2}, -5, 2.5, -1.6, 1.6, 60);
    // a saddle: the start sits just off the ridge, so only methods that grow the tiny y-gradient escape fast
    Surface saddle = new Surface("saddle", "Saddle f = x² − y² (start just off the ridge)",
        p -> p[0] * p[0] - p[1] * p[1], p -> new double[] {2 * p[0], -2 * p[1]},
        new double[] {-2.5, 1e-3}, -3, 3, -3, 3, 60);
    StringBuilder json = new StringBuilder("{\"images\": [");
    for (Surface s : List.of(taco, saddle)) {
      String png = draw(s, dir);
      json.append(json.charAt(json.length() - 1) == '[' ? "" : ", ").append('"').append(png).append('"');
    }
    System.out.println(json.append("]}"));
  }

  /** The path of one optimizer: positions after each step, stopping when it leaves the view. */
  static List<double[]> path(Surface s, Run run) {
    float[] p = {(float) s.start()[0], (float) s.start()[1]};
    Stepper<?> opt = Stepper.start(run.make().apply(Schedule.constant(run.lr())), p);
    List<double[]> points = new ArrayList<>();
    points.add(new double[] {p[0], p[1]});
    for (int i = 0; i < s.steps(); i++) {
      double[] g = s.grad().apply(new double[] {p[0], p[1]});
      p = opt.step(new float[] {(float) g[0], (float) g[1]}, p);
      points.add(new double[] {p[0], p[1]});
      if (p[0] < s.xMin() || p[0] > s.xMax() || p[1] < s.yMin() || p[1] > s.yMax()) break;
    }
    return points;
  }

  static String draw(Surface s, Path dir) throws IOException {
    int nx = 200, ny = 120;
    double dx = (s.xMax() - s.xMin()) / nx, dy = (s.yMax() - s.yMin()) / ny;
    double[][] grid = new double[3][nx * ny];
    double lo = Double.MAX_VALUE, hi = -Double.MAX_VALUE;
    for (int i = 0; i < nx; i++) {
      for (int j = 0; j < ny; j++) {
        int k = i * ny + j;
        grid[0][k] = s.xMin() + (i + 0.5) * dx;
        grid[1][k] = s.yMin() + (j + 0.5) * dy;
        grid[2][k] = s.f().apply(new double[] {grid[0][k], grid[1][k]});
        lo = Math.min(lo, grid[2][k]);
        hi = Math.max(hi, grid[2][k]);
      }
    }
    DefaultXYZDataset surface = new DefaultXYZDataset();
    surface.addSeries("loss", grid);
    XYBlockRenderer blocks = new XYBlockRenderer();
    blocks.setBlockWidth(dx);
    blocks.setBlockHeight(dy);
    blocks.setPaintScale(bands(lo, hi, 14));

    XYSeriesCollection paths = new XYSeriesCollection();
    XYLineAndShapeRenderer lines = new XYLineAndShapeRenderer(true, true);
    for (int r = 0; r < RUNS.size(); r++) {
      Run run = RUNS.get(r);
      XYSeries series = new XYSeries(run.label() + " (lr " + run.lr() + ")", false);
      for (double[] q : path(s, run)) series.add(q[0], q[1]);
      paths.addSeries(series);
      lines.setSeriesPaint(r, run.color());
      lines.setSeriesStroke(r, new BasicStroke(2f));
      lines.setSeriesShape(r, new Rectangle(-2, -2, 4, 4));
    }
    NumberAxis x = new NumberAxis("x"), y = new NumberAxis("y");
    x.setRange(s.xMin(), s.xMax());
    y.setRange(s.yMin(), s.yMax());
    XYPlot plot = new XYPlot(paths, x, y, lines);
    plot.setDataset(1, surface);
    plot.setRenderer(1, blocks);
    plot.setDatasetRenderingOrder(org.jfree.chart.plot.DatasetRenderingOrder.REVERSE);  // the surface first, the paths on top
    JFreeChart chart = new JFreeChart(s.title() + ", " + s.steps() + " steps", JFreeChart.DEFAULT_TITLE_FONT, plot, false);
    LegendTitle legend = new LegendTitle(lines);
    legend.setPosition(RectangleEdge.BOTTOM);
    chart.addLegend(legend);
    chart.setBackgroundPaint(Color.WHITE);
    int w = 1000, h = 640;
    File png = dir.resolve(s.name() + ".png").toFile();
    ChartUtils.saveChartAsPNG(png, chart, w, h);
    return png.getPath();
  }

  /** Banded grey-blue levels, equally spaced in the square root of the loss, so the bands read as contours. */
  static LookupPaintScale bands(double lo, double hi, int levels) {
    LookupPaintScale scale = new LookupPaintScale(lo, hi + 1e-9, Color.WHITE);
    for (int i = 0; i < levels; i++) {
      double t = (double) i / levels;
      double v = lo + (hi - lo) * t * t;
      int shade = 250 - (int) (150 * t);
      scale.add(v, new Color(shade - 30, shade - 10, Math.min(255, shade + 5)));
    }
    return scale;
  }
}
