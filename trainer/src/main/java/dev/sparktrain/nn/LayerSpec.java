package dev.sparktrain.nn;

import dev.sparktrain.UserError;
import dev.sparktrain.tensor.Gemm;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An immutable layer description, written in configs and model headers as text such as {@code conv(32, 3)},
 * {@code batchnorm} or {@code dense(10)}; {@link #outShape} checks it against its input shape and {@link #build}
 * makes the runtime layer. Layer sizes follow the example's {@link Shape}; dense layers flatten what they get.
 */
public sealed interface LayerSpec extends java.io.Serializable {
  /** The output shape for an input of the given shape; a UserError names the layer if they do not fit. */
  Shape outShape(Shape in);

  /** Floats of the flat parameter vector this layer owns (trainable parameters and running averages). */
  default int paramCount(Shape in) { return 0; }

  Layer build(Shape in, Context context);

  /** What building a layer needs besides its input shape: its position, initialization, GEMM and survival. */
  record Context(int index, Init init, Gemm gemm, double survival) {}

  /** A fully connected layer with the given number of units. */
  record Dense(int units) implements LayerSpec {
    public Dense {
      if (units <= 0) throw new UserError("dense(" + units + "): the number of units must be positive");
    }

    @Override public Shape outShape(Shape in) { return Shape.flat(units); }

    @Override public int paramCount(Shape in) { return in.size() * units + units; }

    @Override public Layer build(Shape in, Context c) {
      return new dev.sparktrain.nn.Dense(in.size(), units, c.init(), c.gemm());
    }

    @Override public String toString() { return "dense(" + units + ")"; }
  }

  /** The rectified linear unit. */
  record Relu() implements LayerSpec {
    @Override public Shape outShape(Shape in) { return in; }

    @Override public Layer build(Shape in, Context c) { return new dev.sparktrain.nn.Relu(in.size()); }

    @Override public String toString() { return "relu"; }
  }

  /** Inverted dropout; p is the probability of DROPPING an activation. */
  record Dropout(double p) implements LayerSpec {
    public Dropout {
      if (!(p >= 0 && p < 1)) {
        throw new UserError("dropout(" + p + "): p is the drop probability and must be in [0, 1)");
      }
    }

    @Override public Shape outShape(Shape in) { return in; }

    @Override public Layer build(Shape in, Context c) {
      return new dev.sparktrain.nn.Dropout(in.size(), p, c.index());
    }

    @Override public String toString() { return "dropout(" + p + ")"; }
  }

  /** A Dense layer with DropConnect (Wan et al. 2013): p is the probability of dropping each weight. */
  record DropConnect(int units, double p) implements LayerSpec {
    public DropConnect {
      if (units <= 0) throw new UserError("dropconnect(" + units + ", " + p + "): the number of units must be positive");
      if (!(p >= 0 && p < 1)) throw new UserError("dropconnect(" + units + ", " + p + "): p is the drop probability and must be in [0, 1)");
    }

    @Override public Shape outShape(Shape in) { return Shape.flat(units); }

    @Override public int paramCount(Shape in) { return in.size() * units + units; }

    @Override public Layer build(Shape in, Context c) {
      return new dev.sparktrain.nn.DropConnect(in.size(), units, p, c.index(), c.init(), c.gemm());
    }

    @Override public String toString() { return "dropconnect(" + units + ", " + p + ")"; }
  }

  /** 2-D convolution with k filters of size×size, stride and zero padding (default size/2: "same" for odd sizes). */
  record Conv(int filters, int size, int stride, int pad) implements LayerSpec {
    public Conv {
      if (filters < 1 || size < 1 || stride < 1 || pad < 0) {
        throw new UserError("conv(" + filters + ", " + size + ", " + stride + ", " + pad
            + "): filters, size and stride must be positive and pad ≥ 0");
      }
    }

    @Override public Shape outShape(Shape in) {
      var s = shape(in);
      return new Shape(filters, s.p(), s.q());
    }

    dev.sparktrain.tensor.Conv2dShape shape(Shape in) {
      requireImage(this, in);
      if (in.h() + 2 * pad < size || in.w() + 2 * pad < size) {
        throw new UserError(this + ": a " + size + "×" + size + " kernel does not fit the input " + in
            + (in.isFlat() ? " (set data.shape, e.g. 1x28x28, for image input)" : ""));
      }
      return new dev.sparktrain.tensor.Conv2dShape(in.c(), in.h(), in.w(), filters, size, size, stride, pad);
    }

    @Override public int paramCount(Shape in) { return filters * in.c() * size * size + filters; }

    @Override public Layer build(Shape in, Context c) { return new Conv2dLayer(shape(in), c.init(), c.gemm()); }

    @Override public String toString() {
      return stride == 1 && pad == size / 2 ? "conv(" + filters + ", " + size + ")"
          : "conv(" + filters + ", " + size + ", " + stride + ", " + pad + ")";
    }
  }

  /** Max or average pooling over window×window with a stride (default: the window). */
  record Pool(boolean max, int window, int stride) implements LayerSpec {
    public Pool {
      if (window < 1 || stride < 1) throw new UserError(name(max) + "(" + window + ", " + stride + "): window and stride must be positive");
    }

    private static String name(boolean max) { return max ? "maxpool" : "avgpool"; }

    dev.sparktrain.tensor.Pool2dShape shape(Shape in) {
      requireImage(this, in);
      if (window > in.h() || window > in.w()) {
        throw new UserError(this + ": window " + window + " is larger than the input " + in
            + (in.isFlat() ? " (set data.shape, e.g. 1x28x28, for image input)" : ""));
      }
      return new dev.sparktrain.tensor.Pool2dShape(in.c(), in.h(), in.w(), window, stride);
    }

    @Override public Shape outShape(Shape in) {
      var s = shape(in);
      return new Shape(in.c(), s.p(), s.q());
    }

    @Override public Layer build(Shape in, Context c) { return new PoolLayer(shape(in), max); }

    @Override public String toString() {
      return name(max) + "(" + window + (stride == window ? "" : ", " + stride) + ")";
    }
  }

  /** Fractional max pooling (Graham 2014) by a ratio in (1, 2], with disjoint or overlapping regions. */
  record FractionalMaxPool(double ratio, boolean overlap) implements LayerSpec {
    public FractionalMaxPool {
      if (!(ratio > 1 && ratio <= 2)) throw new UserError("fmp(" + ratio + "): the ratio must be in (1, 2], e.g. 1.414");
    }

    @Override public Shape outShape(Shape in) {
      requireImage(this, in);
      int p = (int) Math.floor(in.h() / ratio), q = (int) Math.floor(in.w() / ratio);
      if (p < 1 || q < 1) throw new UserError(this + ": the input " + in + " is too small to pool");
      return new Shape(in.c(), p, q);
    }

    @Override public Layer build(Shape in, Context c) {
      return new FractionalMaxPoolLayer(in, ratio, overlap, c.index());
    }

    @Override public String toString() { return "fmp(" + ratio + (overlap ? ", overlap" : "") + ")"; }
  }

  /** Global average pooling: each channel's mean over H×W. */
  record GlobalAvgPool() implements LayerSpec {
    @Override public Shape outShape(Shape in) { return Shape.flat(in.c()); }

    @Override public Layer build(Shape in, Context c) { return new GlobalAvgPoolLayer(in); }

    @Override public String toString() { return "gap"; }
  }

  /** Flattens C×H×W to a vector; the data do not move (CHW is already row-major). */
  record Flatten() implements LayerSpec {
    @Override public Shape outShape(Shape in) { return Shape.flat(in.size()); }

    @Override public Layer build(Shape in, Context c) { return new dev.sparktrain.nn.Flatten(in.size()); }

    @Override public String toString() { return "flatten"; }
  }

  /** Batch normalization, per feature (flat input) or per channel (images); momentum of the running averages. */
  record BatchNorm(double momentum) implements LayerSpec {
    public BatchNorm {
      if (!(momentum > 0 && momentum <= 1)) throw new UserError("batchnorm(" + momentum + "): the momentum must be in (0, 1]");
    }

    @Override public Shape outShape(Shape in) { return in; }

    @Override public int paramCount(Shape in) { return 4 * in.c(); }

    @Override public Layer build(Shape in, Context c) { return new BatchNormLayer(in, momentum); }

    @Override public String toString() { return momentum == 0.1 ? "batchnorm" : "batchnorm(" + momentum + ")"; }
  }

  /**
   * A residual block (He et al. 2016): conv3×3-BN-ReLU-conv3×3-BN plus the shortcut, then ReLU; the shortcut is
   * the identity, or a 1×1 convolution and BN when the channels or the stride change. With stochastic depth
   * (model.stochastic_depth) the residual branch survives each training step with its block's probability.
   */
  record Residual(int channels, int stride) implements LayerSpec {
    public Residual {
      if (channels < 1 || stride < 1) throw new UserError("res(" + channels + ", " + stride + "): channels and stride must be positive");
    }

    @Override public Shape outShape(Shape in) {
      requireImage(this, in);
      return new Shape(channels, (in.h() - 1) / stride + 1, (in.w() - 1) / stride + 1);
    }

    boolean projects(Shape in) { return stride != 1 || in.c() != channels; }

    @Override public int paramCount(Shape in) {
      int k = channels, main = k * in.c() * 9 + k + 4 * k + k * k * 9 + k + 4 * k;
      return main + (projects(in) ? k * in.c() + k + 4 * k : 0);
    }

    @Override public Layer build(Shape in, Context c) { return new ResidualBlock(in, this, c); }

    @Override public String toString() { return "res(" + channels + (stride == 1 ? "" : ", " + stride) + ")"; }
  }

  /** Spatial layers need an image: a flat vector (H = W = 1) almost always means data.shape was not set. */
  private static void requireImage(LayerSpec layer, Shape in) {
    if (in.isFlat()) {
      throw new UserError(layer + ": needs image input, but gets a flat vector of " + in.c()
          + " (set data.shape, e.g. 1x28x28, and put spatial layers before flatten or dense)");
    }
  }

  Pattern ITEM = Pattern.compile("([a-z_]+)\\s*(?:\\(\\s*([^)]*)\\))?");

  String KNOWN = "dense(units), relu, dropout(p), dropconnect(units, p), conv(filters, size[, stride, pad]), "
      + "maxpool(window[, stride]), avgpool(window[, stride]), fmp(ratio[, overlap]), gap, flatten, "
      + "batchnorm[(momentum)], res(channels[, stride])";

  /** Parses a comma-separated list such as {@code conv(32, 3), relu, dense(10)}; errors name the setting. */
  static List<LayerSpec> parseList(String text, String setting) {
    List<LayerSpec> out = new ArrayList<>();
    for (String raw : text.split(",(?![^(]*\\))")) {
      String item = raw.trim().toLowerCase(Locale.ROOT);
      Matcher m = ITEM.matcher(item);
      if (!m.matches()) throw new UserError(setting + ": cannot parse layer '" + raw.trim() + "'");
      String[] a = m.group(2) == null || m.group(2).isBlank() ? new String[0] : m.group(2).trim().split("\\s*,\\s*");
      try {
        out.add(switch (m.group(1)) {
          case "dense" -> new Dense(integer(arity(a, 1, 1, item, setting)[0]));
          case "relu" -> { arity(a, 0, 0, item, setting); yield new Relu(); }
          case "dropout" -> new Dropout(Double.parseDouble(arity(a, 1, 1, item, setting)[0]));
          case "dropconnect" -> new DropConnect(integer(arity(a, 2, 2, item, setting)[0]), Double.parseDouble(a[1]));
          case "conv" -> {
            arity(a, 2, 4, item, setting);
            int size = integer(a[1]);
            yield new Conv(integer(a[0]), size, a.length > 2 ? integer(a[2]) : 1, a.length > 3 ? integer(a[3]) : size / 2);
          }
          case "maxpool", "avgpool" -> {
            arity(a, 1, 2, item, setting);
            int window = integer(a[0]);
            yield new Pool(m.group(1).equals("maxpool"), window, a.length > 1 ? integer(a[1]) : window);
          }
          case "fmp" -> {
            arity(a, 1, 2, item, setting);
            if (a.length > 1 && !a[1].equals("overlap") && !a[1].equals("disjoint")) {
              throw new UserError(setting + ": fmp's second argument is 'overlap' or 'disjoint', not '" + a[1] + "'");
            }
            yield new FractionalMaxPool(Double.parseDouble(a[0]), a.length > 1 && a[1].equals("overlap"));
          }
          case "gap" -> { arity(a, 0, 0, item, setting); yield new GlobalAvgPool(); }
          case "flatten" -> { arity(a, 0, 0, item, setting); yield new Flatten(); }
          case "batchnorm", "bn" -> new BatchNorm(arity(a, 0, 1, item, setting).length == 0 ? 0.1 : Double.parseDouble(a[0]));
          case "res" -> new Residual(integer(arity(a, 1, 2, item, setting)[0]), a.length > 1 ? integer(a[1]) : 1);
          default -> throw new UserError(setting + ": unknown layer '" + m.group(1) + "' (known: " + KNOWN + ")");
        });
      } catch (NumberFormatException e) {
        throw new UserError(setting + ": bad number in layer '" + raw.trim() + "'");
      } catch (UserError e) {
        throw e.getMessage().startsWith(setting) ? e : new UserError(setting + ": " + e.getMessage());
      }
    }
    if (out.isEmpty()) throw new UserError(setting + ": no layers");
    return List.copyOf(out);
  }

  private static int integer(String s) {
    return Integer.parseInt(s);
  }

  private static String[] arity(String[] args, int min, int max, String item, String setting) {
    if (args.length < min || args.length > max) {
      String want = min == max ? (min == 0 ? "no arguments" : min + " argument" + (min > 1 ? "s" : ""))
          : min + " to " + max + " arguments";
      throw new UserError(setting + ": layer '" + item + "' takes " + want);
    }
    return args;
  }

  static String format(List<LayerSpec> layers) {
    return String.join(", ", layers.stream().map(Object::toString).toList());
  }
}
