// The JSON text of an ensemble manifest: encoding, and strict decoding with the manifest's own checksum.
package dev.sparktrain.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparktrain.UserError;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Turns an {@link EnsembleManifest} into the bytes of its file and back. The writer emits one compact line,
 * {@code {"format":…,"version":1,"ensemble":E,"sha256":"…"}}, where the checksum is the SHA-256 of E's bytes;
 * the reader finds E's bytes in the file as it parses and hashes them, so any change inside E, even one that
 * leaves the JSON valid, is caught. Parsing is strict: no duplicate or unknown fields, nothing after the object.
 */
final class EnsembleJson {
  private static final ObjectMapper JSON = JsonMapper.builder()
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      .build();
  private static final Set<String> TOP = Set.of("format", "version", "ensemble", "sha256");
  private static final Set<String> ENSEMBLE = Set.of("num_classes", "input_shape", "input_size", "weighting",
      "created", "source", "members", "failed");
  private static final Set<String> MEMBER = Set.of("name", "path", "sha256", "bytes", "validation_accuracy",
      "test_accuracy", "config");
  private static final Set<String> FAILURE = Set.of("name", "reason");

  private EnsembleJson() {}

  /** The whole manifest file, ending in a newline. */
  static byte[] encode(EnsembleManifest m) {
    byte[] ensemble = compact(ensembleNode(m));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(("{\"format\":\"" + EnsembleManifest.FORMAT + "\",\"version\":" + EnsembleManifest.VERSION
        + ",\"ensemble\":").getBytes(StandardCharsets.UTF_8));
    out.writeBytes(ensemble);
    out.writeBytes((",\"sha256\":\"" + Sha256.hex(ensemble) + "\"}\n").getBytes(StandardCharsets.UTF_8));
    return out.toByteArray();
  }

  /** Parses and validates a manifest's bytes; {@code source} names the file in every error. */
  static EnsembleManifest decode(String source, byte[] bytes) {
    try {
      return decode(bytes);
    } catch (UserError e) {
      throw new UserError(source + ": " + e.getMessage(), e);
    }
  }

  /** Checks, in order: JSON, format, version, known fields, the checksum, then every field of the ensemble. */
  private static EnsembleManifest decode(byte[] bytes) {
    Map<String, JsonNode> top = new LinkedHashMap<>();
    byte[] ensembleBytes = parseTop(bytes, top);
    JsonNode format = top.get("format");
    if (format == null || !format.isTextual() || !format.textValue().equals(EnsembleManifest.FORMAT)) {
      String found = format == null ? "no format field" : "format '" + TensorFile.shorten(format.asText()) + "'";
      throw new UserError("not a sparktrain ensemble manifest (" + found + ", expected '" + EnsembleManifest.FORMAT + "')");
    }
    int version = integer(top.get("version"), "version");
    if (version != EnsembleManifest.VERSION) {
      throw new UserError("ensemble manifest version " + version + " is not supported (this sparktrain reads version "
          + EnsembleManifest.VERSION + ")");
    }
    only(top.keySet().iterator(), TOP, "the manifest");
    ObjectNode ensemble = object(top.get("ensemble"), "ensemble");
    String sha = text(top.get("sha256"), "sha256");
    if (!Sha256.hex(ensembleBytes).equalsIgnoreCase(sha)) {
      throw new UserError("checksum mismatch: the manifest was changed or damaged");
    }
    return manifest(ensemble);
  }

  /**
   * Parses the top-level object into {@code fields} and returns the bytes of the {@code ensemble} value exactly as
   * they stand in the file (empty if there is none). Malformed or truncated JSON is a UserError, never a stack trace.
   */
  private static byte[] parseTop(byte[] bytes, Map<String, JsonNode> fields) {
    return ChecksummedJson.parseTop(bytes, "ensemble", fields);
  }

  private static EnsembleManifest manifest(ObjectNode e) {
    only(e.fieldNames(), ENSEMBLE, "ensemble");
    List<EnsembleManifest.Member> members = new ArrayList<>();
    ArrayNode memberNodes = array(e.get("members"), "ensemble.members");
    for (int i = 0; i < memberNodes.size(); i++) members.add(member(memberNodes.get(i), "ensemble.members[" + i + "]"));
    List<EnsembleManifest.Failure> failed = new ArrayList<>();
    ArrayNode failedNodes = array(e.get("failed"), "ensemble.failed");
    for (int i = 0; i < failedNodes.size(); i++) {
      String where = "ensemble.failed[" + i + "]";
      ObjectNode f = object(failedNodes.get(i), where);
      only(f.fieldNames(), FAILURE, where);
      failed.add(new EnsembleManifest.Failure(text(f.get("name"), where + ".name"),
          text(f.get("reason"), where + ".reason")));
    }
    return new EnsembleManifest(integer(e.get("num_classes"), "ensemble.num_classes"),
        text(e.get("input_shape"), "ensemble.input_shape"),
        integer(e.get("input_size"), "ensemble.input_size"),
        text(e.get("weighting"), "ensemble.weighting"), text(e.get("source"), "ensemble.source"),
        members, failed, text(e.get("created"), "ensemble.created"));
  }

  private static EnsembleManifest.Member member(JsonNode node, String where) {
    ObjectNode m = object(node, where);
    only(m.fieldNames(), MEMBER, where);
    JsonNode bytes = m.get("bytes");
    if (bytes == null || !bytes.isIntegralNumber() || !bytes.canConvertToLong()) throw illTyped(where + ".bytes", "an integer");
    Map<String, String> config = new LinkedHashMap<>();
    ObjectNode c = object(m.get("config"), where + ".config");
    c.fields().forEachRemaining(f -> config.put(f.getKey(), text(f.getValue(), where + ".config." + f.getKey())));
    return new EnsembleManifest.Member(text(m.get("name"), where + ".name"),
        text(m.get("path"), where + ".path"), text(m.get("sha256"), where + ".sha256"),
        bytes.longValue(), accuracy(m.get("validation_accuracy"), where + ".validation_accuracy"),
        accuracy(m.get("test_accuracy"), where + ".test_accuracy"), config);
  }

  private static ObjectNode ensembleNode(EnsembleManifest m) {
    ObjectNode e = JSON.createObjectNode();
    e.put("num_classes", m.numClasses());
    e.put("input_shape", m.inputShape());
    e.put("input_size", m.inputSize());
    e.put("weighting", m.weighting());
    e.put("created", m.created());
    e.put("source", m.source());
    ArrayNode members = e.putArray("members");
    for (EnsembleManifest.Member x : m.members()) {
      ObjectNode n = members.addObject();
      n.put("name", x.name());
      n.put("path", x.path());
      n.put("sha256", x.sha256());
      n.put("bytes", x.bytes());
      putAccuracy(n, "validation_accuracy", x.validationAccuracy());
      putAccuracy(n, "test_accuracy", x.testAccuracy());
      x.config().forEach(n.putObject("config")::put);
    }
    ArrayNode failed = e.putArray("failed");
    for (EnsembleManifest.Failure f : m.failed()) failed.addObject().put("name", f.name()).put("reason", f.reason());
    return e;
  }

  private static void putAccuracy(ObjectNode n, String field, double value) {
    if (Double.isNaN(value)) n.putNull(field);
    else n.put(field, value);
  }

  private static byte[] compact(JsonNode node) {
    try {
      return JSON.writeValueAsBytes(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a tree of strings and numbers always serializes", e);
    }
  }

  private static void only(Iterator<String> fields, Set<String> allowed, String where) {
    while (fields.hasNext()) {
      String f = fields.next();
      if (!allowed.contains(f)) throw new UserError(where + " has unknown field '" + TensorFile.shorten(f) + "'");
    }
  }

  private static ObjectNode object(JsonNode node, String field) {
    if (node instanceof ObjectNode o) return o;
    throw illTyped(field, "an object");
  }

  private static ArrayNode array(JsonNode node, String field) {
    if (node instanceof ArrayNode a) return a;
    throw illTyped(field, "an array");
  }

  private static String text(JsonNode node, String field) {
    if (node != null && node.isTextual()) return node.textValue();
    throw illTyped(field, "a string");
  }

  private static int integer(JsonNode node, String field) {
    if (node != null && node.isInt()) return node.intValue();
    throw illTyped(field, "an integer");
  }

  /** A number, or null for unknown (NaN). */
  private static double accuracy(JsonNode node, String field) {
    if (node != null && node.isNull()) return Double.NaN;
    if (node != null && node.isNumber()) return node.doubleValue();
    throw illTyped(field, "a number or null");
  }

  private static UserError illTyped(String field, String expected) {
    return new UserError("field " + field + " is missing or not " + expected);
  }
}
