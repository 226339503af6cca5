package dev.sparktrain.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparktrain.UserError;
import dev.sparktrain.data.FeatureStats;
import dev.sparktrain.nn.Init;
import dev.sparktrain.nn.ModelSpec;
import dev.sparktrain.nn.Shape;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;

/**
 * A trained model as saved by {@code train} and loaded by {@code evaluate} and {@code predict}: architecture,
 * parameters, the feature standardization, the resolved config, provenance and final metrics, in a
 * {@link TensorFile} of format {@code sparktrain-model} (see docs/model-format.md).
 */
public record SavedModel(ModelSpec spec, float[] params, FeatureStats.Standardizer standardizer,
                         Map<String, String> config, Map<String, String> provenance, Map<String, Double> metrics,
                         float[] averagedParams) {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** The optional tensor of EMA-averaged parameters (ema.decay), beside the raw ones. */
  public static final String AVERAGED = "params_ema";

  public SavedModel {
    if (params.length != spec.paramCount()) {
      throw new IllegalArgumentException(params.length + " parameters for an architecture of " + spec.paramCount());
    }
    if (averagedParams != null && averagedParams.length != params.length) {
      throw new IllegalArgumentException(averagedParams.length + " averaged parameters for " + params.length);
    }
  }

  /** A model without averaged parameters. */
  public SavedModel(ModelSpec spec, float[] params, FeatureStats.Standardizer standardizer, Map<String, String> config,
                    Map<String, String> provenance, Map<String, Double> metrics) {
    this(spec, params, standardizer, config, provenance, metrics, null);
  }

  public void save(String uri, Configuration conf) {
    ObjectNode meta = JSON.createObjectNode();
    ObjectNode arch = meta.putObject("architecture");
    arch.put("input_size", spec.inputSize());
    arch.put("input_shape", spec.inputShape().toString());
    arch.put("stochastic_depth", spec.finalSurvival());
    arch.put("layers", spec.layersText());
    arch.put("num_classes", spec.numClasses());
    arch.put("init", spec.init().name().toLowerCase(java.util.Locale.ROOT));
    config.forEach(meta.putObject("config")::put);
    provenance.forEach(meta.putObject("provenance")::put);
    ObjectNode m = meta.putObject("metrics");
    metrics.forEach((k, v) -> {
      if (Double.isFinite(v)) m.put(k, v);
      else m.putNull(k);
    });
    List<NamedTensor> tensors = new java.util.ArrayList<>(List.of(
        NamedTensor.vector("params", params),
        NamedTensor.vector("feature_mean", standardizer.mean()),
        NamedTensor.vector("feature_std", standardizer.std())));
    if (averagedParams != null) tensors.add(NamedTensor.vector(AVERAGED, averagedParams));
    TensorFile.write(uri, conf, TensorFile.MODEL_FORMAT, meta, tensors);
  }

  public static SavedModel load(String uri, Configuration conf) {
    TensorFile.Contents c = TensorFile.read(uri, conf, TensorFile.MODEL_FORMAT);
    JsonNode arch = c.meta() == null ? null : c.meta().get("architecture");
    if (arch == null || !arch.path("input_size").isInt() || !arch.path("layers").isTextual()
        || !arch.path("num_classes").isInt()) {
      throw new UserError(uri + ": model header has no valid 'architecture' (input_size, layers, num_classes)");
    }
    ModelSpec spec;
    try {
      int size = arch.get("input_size").asInt();
      Shape shape = arch.has("input_shape") ? Shape.parse(arch.get("input_shape").asText(), "architecture.input_shape")
          : Shape.flat(size);
      if (shape.size() != size) throw new UserError("input_shape " + shape + " does not hold input_size " + size);
      spec = ModelSpec.parse(shape, arch.get("layers").asText(), arch.get("num_classes").asInt(),
          Init.parse(arch.path("init").asText("he"), "architecture.init"), arch.path("stochastic_depth").asDouble(1.0));
    } catch (UserError e) {
      throw new UserError(uri + ": bad architecture in the model header: " + e.getMessage());
    }
    float[] params = c.values("params"), mean = c.values("feature_mean"), std = c.values("feature_std");
    if (params.length != spec.paramCount()) {
      throw new UserError(uri + ": holds " + params.length + " parameters, but its architecture needs " + spec.paramCount());
    }
    if (mean.length != spec.inputSize() || std.length != spec.inputSize()) {
      throw new UserError(uri + ": feature statistics of length " + mean.length + " for input size " + spec.inputSize());
    }
    float[] averaged = c.tensors().containsKey(AVERAGED) ? c.values(AVERAGED) : null;
    if (averaged != null && averaged.length != params.length) {
      throw new UserError(uri + ": holds " + averaged.length + " averaged parameters for " + params.length + " parameters");
    }
    return new SavedModel(spec, params, new FeatureStats.Standardizer(mean, std),
        strings(c.meta().get("config")), strings(c.meta().get("provenance")), doubles(c.meta().get("metrics")),
        averaged);
  }

  private static Map<String, String> strings(JsonNode node) {
    Map<String, String> m = new LinkedHashMap<>();
    if (node != null) node.fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue().asText()));
    return m;
  }

  private static Map<String, Double> doubles(JsonNode node) {
    Map<String, Double> m = new LinkedHashMap<>();
    if (node != null) node.fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue().isNumber() ? e.getValue().asDouble() : Double.NaN));
    return m;
  }
}
