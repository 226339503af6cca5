package dev.sparktrain.nn;

import dev.sparktrain.UserError;

/**
 * The shape of one example as it flows between layers: C channels of H×W (an image, CHW order) or, with
 * H = W = 1, a flat vector of C features. Written {@code 1x28x28} in configs and model headers.
 */
public record Shape(int c, int h, int w) implements java.io.Serializable {
  public Shape {
    if (c < 1 || h < 1 || w < 1) throw new UserError("shape " + c + "x" + h + "x" + w + ": every dimension must be positive");
  }

  public static Shape flat(int size) {
    return new Shape(size, 1, 1);
  }

  /** Parses {@code CxHxW} (or a single number for a flat vector); errors name the setting. */
  public static Shape parse(String text, String setting) {
    String[] parts = text.trim().toLowerCase(java.util.Locale.ROOT).split("\\s*[x×]\\s*");
    try {
      if (parts.length == 1) return flat(Integer.parseInt(parts[0]));
      if (parts.length == 3) {
        return new Shape(Integer.parseInt(parts[0]), Integer.parseInt(parts[1]), Integer.parseInt(parts[2]));
      }
    } catch (NumberFormatException | UserError e) {
      // fall through to the message below
    }
    throw new UserError(setting + " = " + text + ": expected CxHxW with positive integers, e.g. 1x28x28");
  }

  /** Floats per example, C·H·W. */
  public int size() {
    return c * h * w;
  }

  public boolean isFlat() {
    return h == 1 && w == 1;
  }

  public int spatial() {
    return h * w;
  }

  @Override public String toString() {
    return c + "x" + h + "x" + w;
  }
}
