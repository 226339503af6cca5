// A small JSON file that carries its own SHA-256: the envelope shared by the zoo's manifests and pointers and by leases.
package dev.sparktrain.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparktrain.UserError;
import java.io.ByteArrayOutputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The one-line envelope {@code {"format":F,"version":V,BODY:{…},"sha256":"…"}}, where the checksum is the SHA-256
 * of the body's bytes exactly as they stand in the file (the same rule as ensemble manifests, docs/model-format.md).
 * Decoding is strict: no duplicate or unknown top-level fields, nothing after the object, and the field helpers
 * here refuse a missing or ill-typed field by its dotted name. Errors are one-line {@link UserError}s without the
 * file name; {@link #decode} adds it.
 */
final class ChecksummedJson {
  static final ObjectMapper JSON = JsonMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
  /** The largest envelope file accepted, checked before it is read. */
  static final long MAX_BYTES = 1 << 20;

  private ChecksummedJson() {}

  /** The file's bytes, ending in a newline. */
  static byte[] encode(String format, int version, String bodyField, ObjectNode body) {
    byte[] b;
    try {
      b = JSON.writeValueAsBytes(body);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a tree of strings and numbers always serializes", e);
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(("{\"format\":\"" + format + "\",\"version\":" + version + ",\"" + bodyField + "\":")
        .getBytes(StandardCharsets.UTF_8));
    out.writeBytes(b);
    out.writeBytes((",\"sha256\":\"" + Sha256.hex(b) + "\"}\n").getBytes(StandardCharsets.UTF_8));
    return out.toByteArray();
  }

  /**
   * The body of an envelope, after checking, in order: JSON, format, version, known fields, the checksum.
   * {@code source} names the file in every error.
   */
  static ObjectNode decode(String source, byte[] bytes, String format, int version, String bodyField) {
    try {
      Map<String, JsonNode> top = new LinkedHashMap<>();
      byte[] body = parseTop(bytes, bodyField, top);
      JsonNode f = top.get("format");
      if (f == null || !f.isTextual() || !f.textValue().equals(format)) {
        String found = f == null ? "no format field" : "format '" + TensorFile.shorten(f.asText()) + "'";
        throw new UserError("not a " + format + " file (" + found + ")");
      }
      int v = integer(top.get("version"), "version");
      if (v != version) throw new UserError(format + " version " + v + " is not supported (this sparktrain reads " + version + ")");
      only(top.keySet().iterator(), Set.of("format", "version", bodyField, "sha256"), "the file");
      ObjectNode node = object(top.get(bodyField), bodyField);
      if (!Sha256.hex(body).equalsIgnoreCase(text(top.get("sha256"), "sha256"))) {
        throw new UserError("checksum mismatch: field " + bodyField + " was changed or damaged");
      }
      return node;
    } catch (UserError e) {
      throw new UserError(source + ": " + e.getMessage(), e);
    }
  }

  /** The bytes of a small file, refusing one over {@link #MAX_BYTES} before reading it. */
  static byte[] readSmall(FileSystem fs, Path path) throws IOException {
    FileStatus status = fs.getFileStatus(path);
    if (status.isDirectory()) throw new UserError(path + ": is a directory, not a file");
    if (status.getLen() > MAX_BYTES) throw new UserError(path + ": " + status.getLen() + " bytes is more than 1 MiB");
    try (FSDataInputStream in = fs.open(path)) {
      return in.readNBytes((int) status.getLen());
    }
  }

  /** Whether {@code path} is missing; other I/O errors propagate. */
  static boolean missing(FileSystem fs, Path path) throws IOException {
    try {
      fs.getFileStatus(path);
      return false;
    } catch (FileNotFoundException e) {
      return true;
    }
  }

  /**
   * Parses the top-level object into {@code fields} and returns the bytes of the {@code bodyField} value exactly as
   * they stand in the file (empty if there is none), the bytes its checksum covers. Malformed or truncated JSON is a
   * UserError, never a stack trace. The ensemble manifest's envelope is read with it too.
   */
  static byte[] parseTop(byte[] bytes, String bodyField, Map<String, JsonNode> fields) {
    byte[] body = new byte[0];
    try (JsonParser p = JSON.createParser(bytes)) {
      if (p.nextToken() != JsonToken.START_OBJECT) throw new UserError("not a JSON object");
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken first = p.nextToken();
        long start = p.currentTokenLocation().getByteOffset();
        fields.put(name, JSON.readTree(p));
        if (name.equals(bodyField) && first == JsonToken.START_OBJECT) {
          long end = p.currentTokenLocation().getByteOffset() + 1; // just past the object's closing '}'
          body = Arrays.copyOfRange(bytes, (int) start, (int) end);
        }
      }
      if (p.nextToken() != null) throw new UserError("unexpected text after the JSON object");
    } catch (JsonProcessingException e) {
      throw new UserError("truncated or not JSON (" + TensorFile.shorten(e.getOriginalMessage()) + ")");
    } catch (IOException e) {
      throw new UncheckedIOException(e); // parsing bytes in memory does no I/O
    }
    return body;
  }

  // ---------------------------------------------------------------- strict field access

  static void only(Iterator<String> fields, Set<String> allowed, String where) {
    while (fields.hasNext()) {
      String f = fields.next();
      if (!allowed.contains(f)) throw new UserError(where + " has unknown field '" + TensorFile.shorten(f) + "'");
    }
  }

  /** Refuses an object whose fields are not exactly {@code required}: missing ones by name, then unknown ones. */
  static void exactly(ObjectNode node, Set<String> required, String where) {
    for (String r : required) if (!node.has(r)) throw missingOrNot(where + "." + r, "present");
    only(node.fieldNames(), required, where);
  }

  static ObjectNode object(JsonNode node, String field) {
    if (node instanceof ObjectNode o) return o;
    throw missingOrNot(field, "an object");
  }

  static String text(JsonNode node, String field) {
    if (node != null && node.isTextual() && !node.textValue().isBlank()) return node.textValue();
    throw missingOrNot(field, "a non-blank string");
  }

  /** A string, or null for JSON null. */
  static String textOrNull(JsonNode node, String field) {
    return node != null && node.isNull() ? null : text(node, field);
  }

  static int integer(JsonNode node, String field) {
    if (node != null && node.isInt()) return node.intValue();
    throw missingOrNot(field, "an integer");
  }

  static long nonNegativeLong(JsonNode node, String field) {
    if (node != null && node.isIntegralNumber() && node.canConvertToLong() && node.longValue() >= 0) return node.longValue();
    throw missingOrNot(field, "a non-negative integer");
  }

  /** A number, or NaN for JSON null (NaN and infinities are never written as numbers). */
  static double numberOrNull(JsonNode node, String field) {
    if (node != null && node.isNull()) return Double.NaN;
    if (node != null && node.isNumber()) return node.doubleValue();
    throw missingOrNot(field, "a number or null");
  }

  static String sha256(JsonNode node, String field) {
    String s = text(node, field);
    if (!s.matches("[0-9a-f]{64}")) throw new UserError("field " + field + " '" + TensorFile.shorten(s) + "' is not 64 lowercase hex digits");
    return s;
  }

  /** An ISO-8601 instant such as {@code 2025-01-02T03:04:05Z}. */
  static Instant instant(JsonNode node, String field) {
    String s = text(node, field);
    try {
      return Instant.parse(s);
    } catch (DateTimeParseException e) {
      throw new UserError("field " + field + " '" + TensorFile.shorten(s) + "' is not an ISO-8601 instant");
    }
  }

  static void putNumberOrNull(ObjectNode n, String field, double value) {
    if (Double.isFinite(value)) n.put(field, value);
    else n.putNull(field);
  }

  private static UserError missingOrNot(String field, String expected) {
    return new UserError("field " + field + " is missing or not " + expected);
  }
}
