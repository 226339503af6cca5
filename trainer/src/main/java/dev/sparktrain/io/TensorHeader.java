// The JSON header of a tensor file: builds it for writing and validates it, strictly, before any tensor is allocated.
package dev.sparktrain.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparktrain.UserError;
import java.io.IOException;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * A parsed, validated header: the file's format name, the caller's metadata and the tensor list.
 *
 * <p>Parsing rejects anything the writer would not produce (duplicate keys, unknown fields, non-integer
 * dimensions) so that a corrupt or hostile header fails here, with a message naming the file, instead of
 * surprising the reader later.
 */
record TensorHeader(String format, ObjectNode meta, List<TensorHeader.Entry> tensors) {
  /** The header schema this code writes and reads. */
  static final int FORMAT_VERSION = 1;

  /** One tensor as the header lists it; {@code count} is the product of {@code shape}. */
  record Entry(String name, int[] shape, int count) {}

  private static final Set<String> FIELDS = Set.of("format", "format_version", "tensors", "meta");
  private static final Set<String> TENSOR_FIELDS = Set.of("name", "dtype", "shape");
  private static final ObjectMapper JSON = JsonMapper.builder()
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .build();

  /** Bytes of tensor data the header promises: 4 per value. */
  long dataBytes() {
    long bytes = 0;
    for (Entry e : tensors) bytes += 4L * e.count; // at most ~10^6 entries of < 2^33 bytes: no overflow
    return bytes;
  }

  /**
   * The UTF-8 header for these tensors, padded with spaces so that the data after it starts at a multiple of
   * 8 bytes from the start of the file ({@code prefixBytes} is what precedes the header).
   */
  static byte[] encode(String format, ObjectNode meta, List<NamedTensor> tensors, int prefixBytes) {
    ObjectNode root = JSON.createObjectNode();
    root.put("format", format);
    root.put("format_version", FORMAT_VERSION);
    ArrayNode list = root.putArray("tensors");
    for (NamedTensor t : tensors) {
      ObjectNode entry = list.addObject();
      entry.put("name", t.name());
      entry.put("dtype", "float32");
      ArrayNode shape = entry.putArray("shape");
      for (int d : t.shape()) shape.add(d);
    }
    root.set("meta", meta == null ? JSON.createObjectNode() : meta);
    byte[] json;
    try {
      json = JSON.writeValueAsBytes(root);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("metadata cannot be written as JSON: " + e.getOriginalMessage(), e);
    }
    int padded = json.length + Math.floorMod(-(prefixBytes + json.length), 8);
    byte[] header = Arrays.copyOf(json, padded);
    Arrays.fill(header, json.length, padded, (byte) ' ');
    return header;
  }

  /** Parses and validates a header read from {@code source}; every rejection is a UserError naming it. */
  static TensorHeader parse(String source, byte[] json, String expectedFormat) {
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (JsonProcessingException e) {
      throw bad(source, "header is not valid JSON (" + TensorFile.shorten(e.getOriginalMessage()) + ")");
    } catch (IOException e) {
      throw bad(source, "header is not valid JSON (" + TensorFile.shorten(e.getMessage()) + ")");
    }
    if (!(root instanceof ObjectNode header)) throw bad(source, "header is not a JSON object");
    String format = checkFormat(source, header, expectedFormat);
    checkVersion(source, header.get("format_version"));
    for (Iterator<String> it = header.fieldNames(); it.hasNext(); ) {
      String field = it.next();
      if (!FIELDS.contains(field)) throw bad(source, "header has unknown field " + quoted(field));
    }
    List<Entry> entries = parseTensors(source, header.get("tensors"));
    JsonNode meta = header.get("meta");
    if (meta != null && !(meta instanceof ObjectNode)) throw bad(source, "header field \"meta\" is not a JSON object");
    return new TensorHeader(format, meta == null ? JSON.createObjectNode() : (ObjectNode) meta, entries);
  }

  private static String checkFormat(String source, ObjectNode header, String expectedFormat) {
    JsonNode format = header.get("format");
    if (format == null || !format.isTextual()) throw bad(source, "header has no \"format\" string");
    if (!format.textValue().equals(expectedFormat)) {
      throw bad(source, "holds format " + quoted(format.textValue()) + ", expected " + quoted(expectedFormat));
    }
    return format.textValue();
  }

  private static void checkVersion(String source, JsonNode version) {
    if (version == null || !version.isIntegralNumber()) throw bad(source, "header has no integer \"format_version\"");
    if (version.isInt() && version.intValue() == FORMAT_VERSION) return;
    if (version.bigIntegerValue().compareTo(BigInteger.valueOf(FORMAT_VERSION)) > 0) {
      throw bad(source, "format_version " + TensorFile.shorten(version.asText())
          + " is newer than this sparktrain reads (" + FORMAT_VERSION + "); upgrade sparktrain");
    }
    throw bad(source, "unsupported format_version " + TensorFile.shorten(version.asText()));
  }

  private static List<Entry> parseTensors(String source, JsonNode tensors) {
    if (tensors == null || !tensors.isArray()) throw bad(source, "header has no \"tensors\" list");
    List<Entry> entries = new ArrayList<>(tensors.size());
    Set<String> names = new HashSet<>();
    for (JsonNode node : tensors) {
      Entry entry = parseEntry(source, node, entries.size());
      if (!names.add(entry.name)) throw bad(source, "header lists tensor " + quoted(entry.name) + " twice");
      entries.add(entry);
    }
    return entries;
  }

  private static Entry parseEntry(String source, JsonNode node, int index) {
    String where = "tensor #" + index;
    if (!(node instanceof ObjectNode entry)) throw bad(source, where + " in the header is not a JSON object");
    for (Iterator<String> it = entry.fieldNames(); it.hasNext(); ) {
      String field = it.next();
      if (!TENSOR_FIELDS.contains(field)) throw bad(source, where + " has unknown field " + quoted(field));
    }
    JsonNode name = entry.get("name");
    if (name == null || !name.isTextual() || name.textValue().isEmpty()) throw bad(source, where + " has no name");
    where = "tensor " + quoted(name.textValue());
    JsonNode dtype = entry.get("dtype");
    if (dtype == null || !"float32".equals(dtype.textValue())) {
      String found = dtype == null ? "(missing)" : quoted(dtype.asText());
      throw bad(source, where + " has dtype " + found + ", expected \"float32\"");
    }
    int[] shape = parseShape(source, where, entry.get("shape"));
    long count = NamedTensor.elementCount(shape);
    if (count < 0) {
      throw bad(source, where + " has shape " + TensorFile.shorten(Arrays.toString(shape)) + ", more than "
          + NamedTensor.MAX_VALUES + " values");
    }
    return new Entry(name.textValue(), shape, (int) count);
  }

  private static int[] parseShape(String source, String where, JsonNode shape) {
    if (shape == null || !shape.isArray()) throw bad(source, where + " has no \"shape\" list");
    int[] dims = new int[shape.size()];
    for (int i = 0; i < dims.length; i++) {
      JsonNode d = shape.get(i);
      if (!d.isInt() || d.intValue() < 0) {
        throw bad(source,
            where + " has dimension " + TensorFile.shorten(d.toString()) + "; dimensions are integers in [0, 2^31)");
      }
      dims[i] = d.intValue();
    }
    return dims;
  }

  /** A string from the file, quoted, cut short and stripped of control characters, safe for a one-line message. */
  static String quoted(String s) {
    return "'" + TensorFile.shorten(s) + "'";
  }

  private static UserError bad(String source, String what) {
    return new UserError(source + ": " + what);
  }
}
