package dev.sparktrain.config;

import dev.sparktrain.UserError;
import dev.sparktrain.tensor.Rng;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The random search of search.*: for run i, settings drawn from the configured ranges (Bergstra &amp; Bengio 2012):
 * a log-uniform learning rate and weight decay, a uniform dropout for every {@code dropout(p)} of model.layers, and
 * a width multiplier from a list for every {@code conv} and {@code dense} layer but the output layer. Run i's draw
 * depends only on (seed, i), so a search is reproducible and a run can be redrawn alone.
 */
public final class SearchSpace {
  private static final long PURPOSE = 0x5EA4C4L;
  private static final Pattern DROPOUT = Pattern.compile("dropout\\(\\s*([0-9.eE+-]+)\\s*\\)");
  private static final Pattern WIDTH = Pattern.compile("(dense|conv)\\(\\s*(\\d+)");

  private final SearchRange learningRate, weightDecay, dropout;
  private final List<Double> widths;
  private final String layers;
  private final long seed;

  public SearchSpace(SearchRange learningRate, SearchRange weightDecay, SearchRange dropout, List<Double> widths,
                     String layers, long seed) {
    this.learningRate = learningRate;
    this.weightDecay = weightDecay;
    this.dropout = dropout;
    this.widths = List.copyOf(widths);
    this.layers = layers;
    this.seed = seed;
    if (dropout != null && !DROPOUT.matcher(layers).find()) {
      throw new UserError("search.dropout = " + dropout + ": model.layers has no dropout(p) to vary");
    }
    if (learningRate == null && weightDecay == null && dropout == null && widths.isEmpty()) {
      throw new UserError("search.*: nothing to search; set search.learning_rate, search.weight_decay, "
          + "search.dropout or search.width");
    }
  }

  /** The space the config's search.* settings describe, seeded by train.seed. */
  public static SearchSpace of(TrainConfig cfg) {
    return new SearchSpace(cfg.get(SettingsTable.SEARCH_LEARNING_RATE), cfg.get(SettingsTable.SEARCH_WEIGHT_DECAY),
        cfg.get(SettingsTable.SEARCH_DROPOUT), cfg.get(SettingsTable.SEARCH_WIDTH), cfg.model().layers(),
        cfg.training().seed());
  }

  /** Run i's settings, as overrides in a fixed order (learning rate, weight decay, layers). */
  public Map<String, String> sample(int run) {
    Rng rng = Rng.derive(seed, PURPOSE, run);
    double u1 = rng.nextDouble(), u2 = rng.nextDouble(), u3 = rng.nextDouble();
    int pick = widths.isEmpty() ? 0 : rng.nextInt(widths.size());
    Map<String, String> m = new LinkedHashMap<>();
    if (learningRate != null) m.put("optimizer.learning_rate", round(learningRate.at(u1)));
    if (weightDecay != null) m.put("optimizer.weight_decay", round(weightDecay.at(u2)));
    String l = layers;
    if (dropout != null) l = DROPOUT.matcher(l).replaceAll("dropout(" + round(dropout.at(u3)) + ")");
    if (!widths.isEmpty()) l = widen(l, widths.get(pick));
    if (!l.equals(layers)) m.put("model.layers", l);
    return m;
  }

  /** Every conv's filters and every dense layer's units but the last dense's (the classes) times w, at least 1. */
  static String widen(String layers, double w) {
    Matcher m = WIDTH.matcher(layers);
    int lastDense = -1;
    while (m.find()) if (m.group(1).equals("dense")) lastDense = m.start();
    m.reset();
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      int n = Integer.parseInt(m.group(2));
      int scaled = m.start() == lastDense ? n : (int) Math.max(1, Math.round(n * w));
      m.appendReplacement(out, m.group(1) + "(" + scaled);
    }
    m.appendTail(out);
    return out.toString();
  }

  /** Four significant digits: configs and tables stay readable, and the value in the config is the value used. */
  private static String round(double v) {
    return String.format(Locale.ROOT, "%.4g", v).replaceFirst("(\\.\\d*?)0+(e|$)", "$1$2").replaceFirst("\\.(e|$)", "$1");
  }
}
