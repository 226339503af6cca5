package dev.sparktrain.nn;

import dev.sparktrain.UserError;
import dev.sparktrain.tensor.Gemm;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An immutable layer description, written in configs and model headers as text such as {@code dense(512)} or
 * {@code relu}; {@link #build} makes the runtime layer for a given input size.
 */
public sealed interface LayerSpec extends java.io.Serializable {
  /** The output size for an input of the given size. */
  int outSize(int inSize);

  Layer build(int inSize, Init init, Gemm gemm);

  /** A fully connected layer with the given number of units. */
  record Dense(int units) implements LayerSpec {
    public Dense {
      if (units <= 0) throw new UserError("dense(" + units + "): the number of units must be positive");
    }

    @Override public int outSize(int inSize) { return units; }

    @Override public Layer build(int inSize, Init init, Gemm gemm) {
      return new dev.sparktrain.nn.Dense(inSize, units, init, gemm);
    }

    @Override public String toString() { return "dense(" + units + ")"; }
  }

  /** The rectified linear unit. */
  record Relu() implements LayerSpec {
    @Override public int outSize(int inSize) { return inSize; }

    @Override public Layer build(int inSize, Init init, Gemm gemm) {
      return new dev.sparktrain.nn.Relu(inSize);
    }

    @Override public String toString() { return "relu"; }
  }

  /** Inverted dropout; p is the probability of DROPPING an activation. */
  record Dropout(double p) implements LayerSpec {
    public Dropout {
      if (!(p >= 0 && p < 1)) {
        throw new UserError("dropout(" + p + "): p is the drop probability and must be in [0, 1)");
      }
    }

    @Override public int outSize(int inSize) { return inSize; }

    @Override public Layer build(int inSize, Init init, Gemm gemm) {
      throw new UnsupportedOperationException("dropout is built by Network, which knows its position");
    }

    @Override public String toString() { return "dropout(" + p + ")"; }
  }

  Pattern ITEM = Pattern.compile("([a-z_]+)\\s*(?:\\(\\s*([^)]*)\\))?");

  /** Parses a comma-separated list such as {@code dense(512), relu, dense(10)}; errors name the setting. */
  static List<LayerSpec> parseList(String text, String setting) {
    List<LayerSpec> out = new ArrayList<>();
    for (String raw : text.split(",(?![^(]*\\))")) {
      String item = raw.trim().toLowerCase(Locale.ROOT);
      Matcher m = ITEM.matcher(item);
      if (!m.matches()) throw new UserError(setting + ": cannot parse layer '" + raw.trim() + "'");
      String args = m.group(2);
      try {
        switch (m.group(1)) {
          case "dense" -> out.add(new Dense(Integer.parseInt(requireArgs(args, item, setting))));
          case "relu" -> {
            if (args != null) throw new UserError(setting + ": relu takes no arguments: '" + raw.trim() + "'");
            out.add(new Relu());
          }
          case "dropout" -> out.add(new Dropout(Double.parseDouble(requireArgs(args, item, setting))));
          default -> throw new UserError(setting + ": unknown layer '" + m.group(1)
              + "' (known: dense(units), relu, dropout(p))");
        }
      } catch (NumberFormatException e) {
        throw new UserError(setting + ": bad number in layer '" + raw.trim() + "'");
      }
    }
    if (out.isEmpty()) throw new UserError(setting + ": no layers");
    return List.copyOf(out);
  }

  private static String requireArgs(String args, String item, String setting) {
    if (args == null || args.isBlank()) throw new UserError(setting + ": layer '" + item + "' needs an argument");
    return args.trim();
  }

  static String format(List<LayerSpec> layers) {
    return String.join(", ", layers.stream().map(Object::toString).toList());
  }
}
