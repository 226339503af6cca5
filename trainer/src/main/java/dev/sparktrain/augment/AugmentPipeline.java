package dev.sparktrain.augment;

import dev.sparktrain.UserError;
import dev.sparktrain.tensor.Rng;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An immutable, ordered list of {@link Augmentation}s applied to each training example, written in configs as
 * text such as {@code crop(2), flip} or {@code none}; {@link #toString} gives the canonical text back.
 *
 * <p>Items: {@code flip} or {@code flip(p)} (p defaults to 0.5), {@code crop(pad)}, {@code scale_crop(minScale)},
 * {@code jitter(brightness, contrast)}, {@code lighting(sigma)}. Lighting needs the training set's RGB covariance:
 * when {@link #needsPixelStatistics} is true, gather {@link PixelMoments} and call {@link #withPixelStatistics}
 * before shipping the pipeline to executors.
 */
public record AugmentPipeline(List<Augmentation> ops) implements java.io.Serializable {
  public static final AugmentPipeline NONE = new AugmentPipeline(List.of());

  private static final Pattern ITEM = Pattern.compile("([a-z_0-9]+)\\s*(?:\\(([^)]*)\\))?");
  private static final String KNOWN =
      "known: flip, flip(p), crop(pad), scale_crop(minScale), jitter(brightness, contrast), lighting(sigma), none";

  public AugmentPipeline {
    ops = List.copyOf(ops);
  }

  public boolean isEmpty() {
    return ops.isEmpty();
  }

  /**
   * Applies every op in order to x[off, off + C·H·W), a (C,H,W) example, in place; scratch has at least C·H·W
   * floats. rng is this example's own stream.
   */
  public void apply(float[] x, int off, int c, int h, int w, Rng rng, float[] scratch) {
    for (Augmentation op : ops) op.apply(x, off, c, h, w, rng, scratch);
  }

  /** True when some lighting op still lacks its eigen-decomposition. */
  public boolean needsPixelStatistics() {
    return ops.stream().anyMatch(op -> op instanceof Augmentation.Lighting l && !l.isBound());
  }

  /**
   * This pipeline with every lighting op bound to the eigen-decomposition of m's covariance (3 channels).
   * Eigenvalues a rounding error below zero become 0.
   */
  public AugmentPipeline withPixelStatistics(PixelMoments m) {
    if (ops.stream().noneMatch(op -> op instanceof Augmentation.Lighting)) return this;
    if (m.channels() != 3) {
      throw new IllegalArgumentException("lighting needs RGB pixel statistics, not " + m.channels() + " channels");
    }
    SymmetricEigen eig = SymmetricEigen.of(m.covariance());
    double[] lambda = eig.values().clone();
    for (int k = 0; k < lambda.length; k++) lambda[k] = Math.max(0, lambda[k]);
    List<Augmentation> bound = new ArrayList<>();
    for (Augmentation op : ops) {
      bound.add(op instanceof Augmentation.Lighting l ? new Augmentation.Lighting(l.sigma(), lambda, eig.vectors()) : op);
    }
    return new AugmentPipeline(bound);
  }

  /** Throws a UserError naming the setting if an op cannot run on C×H×W examples. */
  public void validateFor(int c, int h, int w, String setting) {
    for (Augmentation op : ops) {
      if (op instanceof Augmentation.Lighting && c != 3) {
        throw new UserError(setting + ": " + op + " needs 3 (RGB) channels, but the examples have " + c);
      }
      if (op instanceof Augmentation.Crop crop && (crop.pad() >= h || crop.pad() >= w)) {
        throw new UserError(setting + ": " + op + ": pad must be less than the image size " + h + "×" + w);
      }
    }
  }

  /** Parses a comma-separated list such as {@code crop(2), flip}; {@code none} or blank is no ops. */
  public static AugmentPipeline parse(String text, String setting) {
    String trimmed = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
    if (trimmed.isEmpty() || trimmed.equals("none")) return NONE;
    List<Augmentation> out = new ArrayList<>();
    for (String raw : trimmed.split(",(?![^(]*\\))")) {
      String item = raw.trim();
      Matcher m = ITEM.matcher(item);
      if (!m.matches()) throw new UserError(setting + ": cannot parse augmentation '" + item + "' (" + KNOWN + ")");
      String[] args = m.group(2) == null ? new String[0] : m.group(2).split(",", -1);
      try {
        out.add(item(m.group(1), args, item, setting));
      } catch (NumberFormatException e) {
        throw new UserError(setting + ": bad number in '" + item + "'");
      } catch (IllegalArgumentException e) {
        throw new UserError(setting + ": " + e.getMessage());
      }
    }
    return new AugmentPipeline(out);
  }

  private static Augmentation item(String name, String[] args, String item, String setting) {
    return switch (name) {
      case "flip" -> new Augmentation.Flip(args.length == 0 ? Augmentation.Flip.DEFAULT_P
          : Double.parseDouble(arg(args, 0, 1, item, setting)));
      case "crop" -> new Augmentation.Crop(Integer.parseInt(arg(args, 0, 1, item, setting)));
      case "scale_crop" -> new Augmentation.ScaleCrop(Double.parseDouble(arg(args, 0, 1, item, setting)));
      case "jitter" -> new Augmentation.Jitter(Double.parseDouble(arg(args, 0, 2, item, setting)),
          Double.parseDouble(arg(args, 1, 2, item, setting)));
      case "lighting" -> new Augmentation.Lighting(Double.parseDouble(arg(args, 0, 1, item, setting)));
      case "none" -> throw new UserError(setting + ": 'none' cannot be combined with other augmentations");
      default -> throw new UserError(setting + ": unknown augmentation '" + name + "' (" + KNOWN + ")");
    };
  }

  /** Argument i of an item that takes exactly n. */
  private static String arg(String[] args, int i, int n, String item, String setting) {
    if (args.length != n) {
      throw new UserError(setting + ": '" + item + "' takes " + n + (n == 1 ? " argument" : " arguments") + ", got "
          + args.length);
    }
    String a = args[i].trim();
    if (a.isEmpty()) throw new UserError(setting + ": empty argument in '" + item + "'");
    return a;
  }

  @Override public String toString() {
    return ops.isEmpty() ? "none" : String.join(", ", ops.stream().map(Object::toString).toList());
  }
}
