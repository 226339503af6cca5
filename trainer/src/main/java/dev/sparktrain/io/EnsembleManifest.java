package dev.sparktrain.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparktrain.UserError;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The file of an ensemble model: a JSON manifest naming each member's model file with its SHA-256 and size, its
 * accuracies and how its config differs, the members that failed, and a SHA-256 of the manifest's own content
 * (docs/model-format.md, "Ensemble models"). Written atomically; read with every field, the checksum and every
 * member file validated before a member is loaded, so that nothing is silently dropped.
 *
 * @param numClasses the classes every member predicts
 * @param inputShape every member's input shape (CxHxW, or the flat size)
 * @param inputSize every member's number of input features
 * @param weighting {@code uniform}, or {@code validation_accuracy} (members weighted by it)
 * @param source what made it: {@code ensemble} (the ensemble command) or {@code snapshot} (a snapshot ensemble)
 */
public record EnsembleManifest(int numClasses, String inputShape, int inputSize, String weighting, String source,
                               List<Member> members, List<Failure> failed, String created) {
  public static final String FORMAT = "sparktrain-ensemble";
  public static final int VERSION = 1;
  /** A manifest larger than this is refused before it is read. */
  public static final long MAX_BYTES = 16 << 20;
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * A member: its name, its model file (relative to the manifest's directory unless absolute), the file's SHA-256
   * (hex) and size, its validation and test accuracy (NaN: not measured) and its settings that differ from the job's.
   */
  public record Member(String name, String path, String sha256, long bytes, double validationAccuracy,
                       double testAccuracy, Map<String, String> config) {
    public Member {
      if (name == null || name.isBlank()) throw new IllegalArgumentException("member without a name");
      if (path == null || path.isBlank()) throw new IllegalArgumentException("member " + name + " without a path");
      if (sha256 == null || !sha256.matches("[0-9a-f]{64}")) {
        throw new IllegalArgumentException("member " + name + ": sha256 is not 64 hex digits: " + sha256);
      }
      if (bytes < 0) throw new IllegalArgumentException("member " + name + ": bytes " + bytes);
      config = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(config));
    }
  }

  /** A member that did not finish, and why. */
  public record Failure(String name, String reason) {}

  public EnsembleManifest {
    members = List.copyOf(members);
    failed = List.copyOf(failed);
    if (members.isEmpty()) throw new IllegalArgumentException("an ensemble needs at least one member");
    if (numClasses < 2) throw new IllegalArgumentException("num_classes " + numClasses);
    if (inputSize < 1) throw new IllegalArgumentException("input_size " + inputSize);
    if (!List.of("uniform", "validation_accuracy").contains(weighting)) {
      throw new IllegalArgumentException("weighting " + weighting + ": uniform or validation_accuracy");
    }
    Set<String> names = new HashSet<>();
    for (Member m : members) {
      if (!names.add(m.name())) throw new IllegalArgumentException("member " + m.name() + " named twice");
    }
  }

  /** A member entry for the model file at memberUri: its checksum and size, and its path relative to the manifest. */
  public static Member member(String name, String manifestUri, String memberUri, double validationAccuracy,
                              double testAccuracy, Map<String, String> config, Configuration conf) {
    Digest d = digest(memberUri, conf);
    String dir = new Path(manifestUri).getParent().toString();
    String rel = memberUri.startsWith(dir + "/") ? memberUri.substring(dir.length() + 1) : memberUri;
    return new Member(name, rel, d.sha256(), d.bytes(), validationAccuracy, testAccuracy, config);
  }

  /** Writes the manifest atomically (a hidden temporary file renamed over the target). */
  public void write(String uri, Configuration conf) {
    ObjectNode body = body();
    byte[] content;
    try {
      ObjectNode root = JSON.createObjectNode();
      root.put("format", FORMAT);
      root.put("version", VERSION);
      root.set("ensemble", body);
      root.put("sha256", sha256(JSON.writeValueAsBytes(body)));
      content = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
    TensorFile.writeAtomically(uri, conf, out -> out.write(content));
  }

  private ObjectNode body() {
    ObjectNode b = JSON.createObjectNode();
    b.put("num_classes", numClasses);
    b.put("input_shape", inputShape);
    b.put("input_size", inputSize);
    b.put("weighting", weighting);
    b.put("source", source);
    b.put("created", created);
    ArrayNode ms = b.putArray("members");
    for (Member m : members) {
      ObjectNode o = ms.addObject();
      o.put("name", m.name());
      o.put("path", m.path());
      o.put("sha256", m.sha256());
      o.put("bytes", m.bytes());
      number(o, "validation_accuracy", m.validationAccuracy());
      number(o, "test_accuracy", m.testAccuracy());
      m.config().forEach(o.putObject("config")::put);
      if (m.config().isEmpty()) o.putObject("config");
    }
    ArrayNode fs = b.putArray("failed");
    for (Failure f : failed) fs.addObject().put("name", f.name()).put("reason", f.reason());
    return b;
  }

  private static void number(ObjectNode o, String key, double v) {
    if (Double.isFinite(v)) o.put(key, v);
    else o.putNull(key);
  }

  /** Whether the file at uri is a manifest (JSON) rather than a model file; a missing file is not one. */
  public static boolean isManifest(String uri, Configuration conf) {
    try {
      Path path = TensorFile.qualified(uri, conf);
      FileSystem fs = OutputFileSystem.of(path, conf);
      if (!fs.exists(path) || fs.getFileStatus(path).isDirectory()) return false;
      try (InputStream in = fs.open(path)) {
        int c;
        do c = in.read(); while (c == ' ' || c == '\n' || c == '\r' || c == '\t');
        return c == '{';
      }
    } catch (IOException e) {
      return false;
    }
  }

  /** Reads and validates the manifest's structure and checksum (not yet its members' files). */
  public static EnsembleManifest read(String uri, Configuration conf) {
    byte[] bytes = readAll(uri, conf);
    JsonNode root;
    try {
      root = JSON.readTree(bytes);
    } catch (IOException e) {
      throw new UserError(uri + ": truncated or not JSON (" + TensorFile.shorten(e.getMessage()) + ")");
    }
    if (root == null || !root.isObject()) throw new UserError(uri + ": truncated or not a JSON object");
    if (!FORMAT.equals(root.path("format").asText(null))) {
      throw new UserError(uri + ": not an ensemble manifest (format is " + root.path("format") + ", expected \""
          + FORMAT + "\")");
    }
    if (root.path("version").asInt(-1) != VERSION) {
      throw new UserError(uri + ": manifest version " + root.path("version") + " is not supported (this version reads "
          + VERSION + ")");
    }
    JsonNode body = root.get("ensemble");
    if (body == null || !body.isObject()) throw new UserError(uri + ": the manifest has no 'ensemble' object");
    String sum = root.path("sha256").asText("");
    try {
      if (!sha256(JSON.writeValueAsBytes(body)).equals(sum)) {
        throw new UserError(uri + ": checksum mismatch: the manifest was changed or damaged after it was written");
      }
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
    try {
      List<Member> members = new ArrayList<>();
      JsonNode ms = body.get("members");
      if (ms == null || !ms.isArray() || ms.isEmpty()) throw new UserError(uri + ": the manifest names no members");
      for (JsonNode m : ms) {
        String name = text(uri, m, "name", "a member");
        Map<String, String> config = new LinkedHashMap<>();
        m.path("config").fields().forEachRemaining(e -> config.put(e.getKey(), e.getValue().asText()));
        members.add(new Member(name, text(uri, m, "path", "member " + name), text(uri, m, "sha256", "member " + name),
            integer(uri, m, "bytes", "member " + name), accuracy(m, "validation_accuracy"), accuracy(m, "test_accuracy"),
            config));
      }
      List<Failure> failed = new ArrayList<>();
      for (JsonNode f : body.path("failed")) failed.add(new Failure(f.path("name").asText(), f.path("reason").asText()));
      return new EnsembleManifest((int) integer(uri, body, "num_classes", "the ensemble"),
          text(uri, body, "input_shape", "the ensemble"), (int) integer(uri, body, "input_size", "the ensemble"),
          text(uri, body, "weighting", "the ensemble"), body.path("source").asText("ensemble"), members, failed,
          body.path("created").asText(""));
    } catch (IllegalArgumentException e) {
      throw new UserError(uri + ": " + e.getMessage());
    }
  }

  /**
   * Every member's model, in manifest order, each file checked against its size and SHA-256 before it is parsed,
   * and every member's classes and input checked against the manifest's.
   */
  public List<SavedModel> loadMembers(String manifestUri, Configuration conf) {
    Path dir = new Path(manifestUri).getParent();
    List<SavedModel> out = new ArrayList<>();
    for (Member m : members) {
      Path p = new Path(m.path());
      String file = p.isAbsolute() || p.toUri().getScheme() != null ? m.path() : new Path(dir, p).toString();
      Digest d;
      try {
        d = digest(file, conf);
      } catch (UserError e) {
        throw new UserError(manifestUri + ": member " + m.name() + ": " + e.getMessage());
      }
      if (d.bytes() != m.bytes() || !d.sha256().equals(m.sha256())) {
        throw new UserError(manifestUri + ": member " + m.name() + ": checksum mismatch of " + file + " (SHA-256 "
            + d.sha256().substring(0, 12) + "…, " + d.bytes() + " bytes; the manifest says " + m.sha256().substring(0, 12)
            + "…, " + m.bytes() + " bytes)");
      }
      SavedModel model = SavedModel.load(file, conf);
      var spec = model.spec();
      if (spec.numClasses() != numClasses) {
        throw new UserError(manifestUri + ": member " + m.name() + " has " + spec.numClasses() + " classes, the ensemble "
            + (out.isEmpty() ? "" : "and member " + members.get(0).name() + " ") + "has " + numClasses);
      }
      if (spec.inputSize() != inputSize || !spec.inputShape().toString().equals(inputShape)) {
        throw new UserError(manifestUri + ": member " + m.name() + " takes input " + spec.inputShape() + " ("
            + spec.inputSize() + " features), the ensemble takes " + inputShape + " (" + inputSize + ")");
      }
      out.add(model);
    }
    return out;
  }

  /** A file's SHA-256 (hex) and size. */
  public record Digest(String sha256, long bytes) {}

  /** The SHA-256 and size of the file at uri, streamed. */
  public static Digest digest(String uri, Configuration conf) {
    try {
      Path path = TensorFile.qualified(uri, conf);
      FileSystem fs = OutputFileSystem.of(path, conf);
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      long n = 0;
      try (InputStream in = fs.open(path)) {
        byte[] buf = new byte[1 << 16];
        for (int r; (r = in.read(buf)) > 0; n += r) md.update(buf, 0, r);
      }
      return new Digest(HexFormat.of().formatHex(md.digest()), n);
    } catch (FileNotFoundException e) {
      throw new UserError("model file " + uri + " not found");
    } catch (IOException e) {
      throw new UserError(uri + ": cannot read (" + TensorFile.shorten(e.getMessage()) + ")");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static byte[] readAll(String uri, Configuration conf) {
    try {
      Path path = TensorFile.qualified(uri, conf);
      FileSystem fs = OutputFileSystem.of(path, conf);
      FileStatus st = fs.getFileStatus(path);
      if (st.isDirectory()) throw new UserError(uri + ": is a directory, not an ensemble manifest");
      if (st.getLen() > MAX_BYTES) {
        throw new UserError(uri + ": " + st.getLen() + " bytes is too large for an ensemble manifest (at most "
            + MAX_BYTES + ")");
      }
      try (InputStream in = fs.open(path)) {
        return in.readNBytes((int) st.getLen());
      }
    } catch (FileNotFoundException e) {
      throw new UserError(uri + ": no such file");
    } catch (IOException e) {
      throw new UserError(uri + ": cannot read (" + TensorFile.shorten(e.getMessage()) + ")");
    }
  }

  private static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String text(String uri, JsonNode node, String field, String what) {
    JsonNode v = node.get(field);
    if (v == null || !v.isTextual()) throw new UserError(uri + ": " + what + " has no text field '" + field + "'");
    return v.asText();
  }

  private static long integer(String uri, JsonNode node, String field, String what) {
    JsonNode v = node.get(field);
    if (v == null || !v.canConvertToLong() || !v.isIntegralNumber()) {
      throw new UserError(uri + ": " + what + " has no integer field '" + field + "'");
    }
    return v.asLong();
  }

  private static double accuracy(JsonNode m, String field) {
    JsonNode v = m.get(field);
    return v == null || !v.isNumber() ? Double.NaN : v.asDouble();
  }
}
