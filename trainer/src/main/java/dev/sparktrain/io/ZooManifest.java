// The manifest.json of one model-zoo version: what the model is, where it came from, and its file's SHA-256.
package dev.sparktrain.io;

import static dev.sparktrain.io.ChecksummedJson.exactly;
import static dev.sparktrain.io.ChecksummedJson.instant;
import static dev.sparktrain.io.ChecksummedJson.integer;
import static dev.sparktrain.io.ChecksummedJson.nonNegativeLong;
import static dev.sparktrain.io.ChecksummedJson.numberOrNull;
import static dev.sparktrain.io.ChecksummedJson.object;
import static dev.sparktrain.io.ChecksummedJson.text;
import static dev.sparktrain.io.ChecksummedJson.textOrNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparktrain.UserError;
import dev.sparktrain.data.FeatureStats;
import dev.sparktrain.nn.Init;
import dev.sparktrain.nn.ModelSpec;
import dev.sparktrain.nn.Shape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The manifest of a published model, format {@code sparktrain-zoo-manifest} version 1 (docs/zoo.md): the
 * checksummed envelope of {@link ChecksummedJson} around a {@code manifest} object. Reading checks every field's
 * type and value and refuses unknown ones; the model file itself is checked by {@link ModelZoo#resolve}.
 *
 * @param created ISO-8601 UTC instant of the publish
 * @param publishedFrom the path the model was copied from
 * @param modelBytes the length of {@code model.stm}
 * @param modelSha256 the lowercase hex SHA-256 of {@code model.stm}
 * @param trainingDataset the training data as the model's provenance or config names it, else as the publisher
 *     gave it; null when unknown
 * @param metrics the model's final metrics, then the publisher's numeric extras; NaN when unknown (null in JSON)
 * @param notes the publisher's string extras
 */
public record ZooManifest(String name, String version, String created, String sparktrainVersion, String publishedFrom,
                          long modelBytes, String modelSha256, Architecture architecture,
                          Standardization standardization, String trainingDataset, Map<String, Double> metrics,
                          Map<String, String> notes) {
  public static final String FORMAT = "sparktrain-zoo-manifest";
  public static final int VERSION = 1;
  /** The model file's name inside a version directory. */
  public static final String MODEL_FILE = "model.stm";
  /** The extra's key whose string value names the training data when the model does not. */
  public static final String TRAINING_DATASET = "training_dataset";

  /** The network, as {@link SavedModel}'s header gives it; {@code numClasses} is all a model says of its classes. */
  public record Architecture(String layers, String inputShape, int inputSize, int numClasses, String init,
                             double stochasticDepth) {
    public Architecture {
      try {
        Shape shape = Shape.parse(inputShape, "input_shape");
        if (shape.size() != inputSize) throw new UserError("input_size " + inputSize + " does not match input_shape " + shape);
        ModelSpec.parse(shape, layers, numClasses, Init.parse(init, "init"), stochasticDepth);
        inputShape = shape.toString();
      } catch (UserError e) {
        throw new UserError("field manifest.architecture: " + e.getMessage());
      }
    }
  }

  /**
   * The input standardization stored in the model.
   *
   * @param kind {@code none} (mean 0, std 1 everywhere), {@code channel} or {@code feature}
   * @param sha256 of the mean vector then the std vector, as float32 little-endian
   */
  public record Standardization(String kind, int features, String sha256) {
    public static final List<String> KINDS = List.of("feature", "channel", "none");

    public Standardization {
      if (!KINDS.contains(kind)) {
        throw new UserError("field manifest.standardization.kind '" + TensorFile.shorten(kind) + "' is not one of " + KINDS);
      }
    }

    static Standardization of(FeatureStats.Standardizer s, Shape shape, Map<String, String> config) {
      ByteBuffer b = ByteBuffer.allocate(8 * s.mean().length).order(ByteOrder.LITTLE_ENDIAN);
      for (float v : s.mean()) b.putFloat(v);
      for (float v : s.std()) b.putFloat(v);
      return new Standardization(kind(s, shape, config), s.mean().length, Sha256.hex(b.array()));
    }

    /** Identity arrays are {@code none}; otherwise the model's {@code data.standardize}, else what the arrays show. */
    private static String kind(FeatureStats.Standardizer s, Shape shape, Map<String, String> config) {
      boolean identity = true;
      for (int j = 0; j < s.mean().length; j++) identity &= s.mean()[j] == 0f && s.std()[j] == 1f;
      if (identity) return "none";
      String configured = config.getOrDefault("data.standardize", "");
      if (configured.equals("feature") || configured.equals("channel")) return configured;
      int plane = shape.h() * shape.w();
      if (plane == 1) return "feature";
      for (int j = 0; j < s.mean().length; j++) {
        int first = j - j % plane;
        if (s.mean()[j] != s.mean()[first] || s.std()[j] != s.std()[first]) return "feature";
      }
      return "channel";
    }
  }

  public ZooManifest {
    ModelZoo.checkName(name);
    ModelZoo.checkVersion(version);
    metrics = Collections.unmodifiableMap(new LinkedHashMap<>(metrics));
    notes = Collections.unmodifiableMap(new LinkedHashMap<>(notes));
  }

  /**
   * The manifest of {@code model}, whose file has {@code bytes} and {@code sha256}. {@code extra}'s numbers are
   * metrics (overriding the model's of the same name), its strings notes, except {@value #TRAINING_DATASET}.
   */
  static ZooManifest of(String name, String version, SavedModel model, long bytes, String sha256, String from,
                        Map<String, Object> extra, Instant created) {
    ModelSpec spec = model.spec();
    Architecture arch = new Architecture(spec.layersText(), spec.inputShape().toString(), spec.inputSize(),
        spec.numClasses(), spec.init().name().toLowerCase(Locale.ROOT), spec.finalSurvival());
    Map<String, Double> metrics = new LinkedHashMap<>(model.metrics());
    Map<String, String> notes = new LinkedHashMap<>();
    String dataset = firstNonBlank(model.provenance().get("train_data"), model.config().get("data.dataset"),
        model.config().get("data.train"));
    for (Map.Entry<String, Object> e : extra.entrySet()) {
      String k = e.getKey();
      Object v = e.getValue();
      if (k == null || k.isBlank()) throw new UserError("publish extra: a key is blank");
      if (k.equals(TRAINING_DATASET) && v instanceof String s) {
        if (dataset == null) dataset = s;
      } else if (v instanceof Number n) {
        metrics.put(k, n.doubleValue());
      } else if (v instanceof String s) {
        notes.put(k, s);
      } else {
        throw new UserError("publish extra '" + TensorFile.shorten(k) + "' = " + TensorFile.shorten(String.valueOf(v))
            + ": give a number (a metric) or a string (a note)");
      }
    }
    return new ZooManifest(name, version, created.toString(), dev.sparktrain.Version.get(), from, bytes, sha256, arch,
        Standardization.of(model.standardizer(), spec.inputShape(), model.config()), dataset, metrics, notes);
  }

  byte[] encode() {
    ObjectNode m = ChecksummedJson.JSON.createObjectNode();
    m.put("name", name).put("version", version).put("created", created).put("sparktrain_version", sparktrainVersion)
        .put("published_from", publishedFrom);
    m.putObject("model").put("file", MODEL_FILE).put("bytes", modelBytes).put("sha256", modelSha256);
    m.putObject("architecture").put("layers", architecture.layers()).put("input_shape", architecture.inputShape())
        .put("input_size", architecture.inputSize()).put("num_classes", architecture.numClasses())
        .put("init", architecture.init()).put("stochastic_depth", architecture.stochasticDepth());
    m.putObject("standardization").put("kind", standardization.kind()).put("features", standardization.features())
        .put("sha256", standardization.sha256());
    if (trainingDataset == null) m.putNull("training_dataset");
    else m.put("training_dataset", trainingDataset);
    ObjectNode metricsNode = m.putObject("metrics");
    metrics.forEach((k, v) -> ChecksummedJson.putNumberOrNull(metricsNode, k, v));
    notes.forEach(m.putObject("notes")::put);
    return ChecksummedJson.encode(FORMAT, VERSION, "manifest", m);
  }

  private static final Set<String> FIELDS = Set.of("name", "version", "created", "sparktrain_version",
      "published_from", "model", "architecture", "standardization", "training_dataset", "metrics", "notes");

  /** Parses and validates the manifest file's bytes; {@code source} names the file in every error. */
  static ZooManifest decode(String source, byte[] bytes) {
    ObjectNode m = ChecksummedJson.decode(source, bytes, FORMAT, VERSION, "manifest");
    try {
      exactly(m, FIELDS, "manifest");
      ObjectNode model = object(m.get("model"), "manifest.model");
      exactly(model, Set.of("file", "bytes", "sha256"), "manifest.model");
      if (!text(model.get("file"), "manifest.model.file").equals(MODEL_FILE)) {
        throw new UserError("field manifest.model.file '" + TensorFile.shorten(model.get("file").asText()) + "' is not " + MODEL_FILE);
      }
      ObjectNode a = object(m.get("architecture"), "manifest.architecture");
      exactly(a, Set.of("layers", "input_shape", "input_size", "num_classes", "init", "stochastic_depth"), "manifest.architecture");
      JsonNode sd = a.get("stochastic_depth");
      if (!sd.isNumber()) throw new UserError("field manifest.architecture.stochastic_depth is missing or not a number");
      Architecture arch = new Architecture(text(a.get("layers"), "manifest.architecture.layers"),
          text(a.get("input_shape"), "manifest.architecture.input_shape"),
          integer(a.get("input_size"), "manifest.architecture.input_size"),
          integer(a.get("num_classes"), "manifest.architecture.num_classes"),
          text(a.get("init"), "manifest.architecture.init"), sd.doubleValue());
      ObjectNode s = object(m.get("standardization"), "manifest.standardization");
      exactly(s, Set.of("kind", "features", "sha256"), "manifest.standardization");
      Standardization std = new Standardization(text(s.get("kind"), "manifest.standardization.kind"),
          integer(s.get("features"), "manifest.standardization.features"),
          ChecksummedJson.sha256(s.get("sha256"), "manifest.standardization.sha256"));
      if (std.features() != arch.inputSize()) {
        throw new UserError("field manifest.standardization.features " + std.features() + " is not the input size " + arch.inputSize());
      }
      Map<String, Double> metrics = new LinkedHashMap<>();
      object(m.get("metrics"), "manifest.metrics").fields().forEachRemaining(e ->
          metrics.put(e.getKey(), numberOrNull(e.getValue(), "manifest.metrics." + e.getKey())));
      Map<String, String> notes = new LinkedHashMap<>();
      object(m.get("notes"), "manifest.notes").fields().forEachRemaining(e ->
          notes.put(e.getKey(), text(e.getValue(), "manifest.notes." + e.getKey())));
      String name = text(m.get("name"), "manifest.name"), version = text(m.get("version"), "manifest.version");
      checked("manifest.name", () -> ModelZoo.checkName(name));
      checked("manifest.version", () -> ModelZoo.checkVersion(version));
      return new ZooManifest(name, version, instant(m.get("created"), "manifest.created").toString(),
          text(m.get("sparktrain_version"), "manifest.sparktrain_version"),
          text(m.get("published_from"), "manifest.published_from"),
          nonNegativeLong(model.get("bytes"), "manifest.model.bytes"),
          ChecksummedJson.sha256(model.get("sha256"), "manifest.model.sha256"), arch, std,
          textOrNull(m.get("training_dataset"), "manifest.training_dataset"), metrics, notes);
    } catch (UserError e) {
      throw new UserError(source + ": " + e.getMessage(), e);
    }
  }

  private static void checked(String field, Runnable check) {
    try {
      check.run();
    } catch (UserError e) {
      throw new UserError("field " + field + ": " + e.getMessage());
    }
  }

  private static String firstNonBlank(String... values) {
    for (String v : values) if (v != null && !v.isBlank()) return v;
    return null;
  }
}
