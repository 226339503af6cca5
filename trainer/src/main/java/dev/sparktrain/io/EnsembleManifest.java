// An ensemble model: a checksummed JSON manifest naming K member model files whose softmax outputs are averaged.
package dev.sparktrain.io;

import dev.sparktrain.UserError;
import dev.sparktrain.nn.Shape;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The manifest of an ensemble model, format {@code sparktrain-ensemble} (see docs/model-format.md, "Ensemble
 * models"): the members' model files with their SHA-256 and size, what they predict (classes, input shape), how
 * their probabilities are combined, and the members that failed to train. {@link #read} checks the manifest's
 * structure and its own checksum; {@link #loadMembers} checks every member file against it and against each
 * other. Every rejection is a one-line {@link UserError} naming the manifest (and the member).
 *
 * @param inputShape {@code CxHxW} as models write it ({@code 784x1x1} for a flat input); other spellings that
 *     {@link Shape#parse} accepts are normalized to that form
 * @param weighting how members' probabilities are combined: {@code uniform} (the plain mean) or
 *     {@code validation_accuracy} (each member weighted by its validation accuracy)
 * @param source the command that made the ensemble: {@code ensemble} (independent runs) or {@code snapshot}
 * @param failed members that were planned but did not produce a model, with the reason; may be empty
 * @param created when the manifest was made, e.g. an ISO-8601 instant
 */
public record EnsembleManifest(int numClasses, String inputShape, int inputSize, String weighting, String source,
                               List<Member> members, List<Failure> failed, String created) {
  /** The {@code format} of a manifest. */
  public static final String FORMAT = "sparktrain-ensemble";
  /** How members' probabilities may be combined. */
  public static final List<String> WEIGHTINGS = List.of("uniform", "validation_accuracy");
  /** The manifest schema this code writes and reads. */
  public static final int VERSION = 1;
  /** The largest manifest accepted, in bytes, checked before the file is read. */
  public static final long MAX_BYTES = 16 << 20;
  /** The values of {@code source}. */
  public static final List<String> SOURCES = List.of("ensemble", "snapshot");
  private static final Pattern SHA256 = Pattern.compile("[0-9a-fA-F]{64}");

  /**
   * One member model.
   *
   * @param path the model file, relative to the manifest's directory unless absolute or a URI with a scheme
   * @param sha256 the hex SHA-256 of the whole model file
   * @param bytes the model file's length
   * @param validationAccuracy NaN when unknown
   * @param testAccuracy NaN when unknown (no test set)
   * @param config the member's settings that differ from the job's, in insertion order
   */
  public record Member(String name, String path, String sha256, long bytes, double validationAccuracy,
                       double testAccuracy, Map<String, String> config) {
    public Member {
      requireText(name, "a member's name");
      requireText(path, "member " + name + ": path");
      if (sha256 == null || !SHA256.matcher(sha256).matches()) {
        throw new UserError("member " + name + ": sha256 '" + TensorFile.shorten(sha256) + "' is not 64 hex digits");
      }
      sha256 = sha256.toLowerCase(java.util.Locale.ROOT);
      if (bytes < 0) throw new UserError("member " + name + ": bytes " + bytes + " is negative");
      requireAccuracy(name, "validation_accuracy", validationAccuracy);
      requireAccuracy(name, "test_accuracy", testAccuracy);
      if (config == null) throw new UserError("member " + name + ": config is missing");
      Map<String, String> copy = new LinkedHashMap<>();
      config.forEach((k, v) -> {
        if (k == null || v == null) throw new UserError("member " + name + ": config " + k + " = " + v + " has a null");
        copy.put(k, v);
      });
      config = Collections.unmodifiableMap(copy);
    }
  }

  /** A member that did not produce a model, and why (e.g. {@code non-finite loss at step 12}). */
  public record Failure(String name, String reason) {
    public Failure {
      requireText(name, "a failed member's name");
      if (reason == null) throw new UserError("failed member " + name + ": no reason");
    }
  }

  public EnsembleManifest {
    if (numClasses < 2) throw new UserError("num_classes " + numClasses + ": must be at least 2");
    Shape shape = Shape.parse(requireText(inputShape, "input_shape"), "input_shape");
    inputShape = shape.toString();
    if (inputSize != shape.size()) {
      throw new UserError("input_size " + inputSize + " does not match input_shape " + inputShape + " (" + shape.size() + ")");
    }
    if (!WEIGHTINGS.contains(weighting)) {
      throw new UserError("weighting '" + TensorFile.shorten(weighting) + "' is not supported (only "
          + String.join(", ", WEIGHTINGS) + ")");
    }
    if (!SOURCES.contains(source)) {
      throw new UserError("source '" + TensorFile.shorten(source) + "' is not one of " + String.join(", ", SOURCES));
    }
    requireText(created, "created");
    members = List.copyOf(members);
    failed = List.copyOf(failed);
    if (members.isEmpty()) throw new UserError("the ensemble has no members");
    Set<String> names = new HashSet<>();
    for (Member m : members) if (!names.add(m.name())) throw new UserError("two members are named " + m.name());
    for (Failure f : failed) if (!names.add(f.name())) throw new UserError("two members are named " + f.name());
  }

  /** Writes this manifest to {@code uri}, atomically (see {@link AtomicWrite}). */
  public void write(String uri, Configuration conf) {
    byte[] bytes = EnsembleJson.encode(this);
    AtomicWrite.write(uri, conf, out -> out.write(bytes));
  }

  /**
   * Reads the manifest at {@code uri}, checking its size, structure and checksum; the member files are not
   * opened (see {@link #loadMembers}).
   */
  public static EnsembleManifest read(String uri, Configuration conf) {
    try {
      Path path = OutputFileSystem.qualified(uri, conf);
      FileSystem fs = OutputFileSystem.of(path, conf);
      FileStatus status = fs.getFileStatus(path);
      if (status.isDirectory()) throw new UserError(uri + ": is a directory, not an ensemble manifest");
      long length = status.getLen();
      if (length > MAX_BYTES) {
        throw new UserError(uri + ": " + length + " bytes is more than an ensemble manifest may have (16 MiB)");
      }
      byte[] bytes;
      try (FSDataInputStream in = fs.open(path)) {
        bytes = in.readNBytes((int) length);
      }
      return EnsembleJson.decode(uri, bytes);
    } catch (FileNotFoundException e) {
      throw new UserError(uri + ": no such file", e);
    } catch (IOException e) {
      throw new UserError(uri + ": cannot read (" + TensorFile.describe(e) + ")", e);
    }
  }

  /**
   * Whether the file at {@code uri} looks like a manifest: its first byte other than JSON whitespace is
   * {@code '{'} (a model file starts with TensorFile's magic). A missing or empty file is not a manifest.
   */
  public static boolean isManifest(String uri, Configuration conf) {
    try {
      Path path = OutputFileSystem.qualified(uri, conf);
      FileSystem fs = OutputFileSystem.of(path, conf);
      if (!fs.getFileStatus(path).isFile()) return false;
      try (FSDataInputStream in = fs.open(path)) {
        byte[] chunk = new byte[8192];
        for (int n; (n = in.read(chunk)) > 0; ) {
          for (int i = 0; i < n; i++) {
            byte b = chunk[i];
            if (b != ' ' && b != '\t' && b != '\n' && b != '\r') return b == '{';
          }
        }
        return false;
      }
    } catch (FileNotFoundException e) {
      return false;
    } catch (IOException e) {
      throw new UserError(uri + ": cannot read (" + TensorFile.describe(e) + ")", e);
    }
  }

  /** The hex SHA-256 of the bytes of the file at {@code uri}, read as a stream. */
  public static String sha256(String uri, Configuration conf) {
    try {
      Path path = OutputFileSystem.qualified(uri, conf);
      try (InputStream in = OutputFileSystem.of(path, conf).open(path)) {
        return Sha256.hex(in);
      }
    } catch (FileNotFoundException e) {
      throw new UserError(uri + ": no such file", e);
    } catch (IOException e) {
      throw new UserError(uri + ": cannot read (" + TensorFile.describe(e) + ")", e);
    }
  }

  /**
   * The member for the model file at {@code memberUri}, with its SHA-256 and size; its path is stored relative to
   * the directory of the manifest at {@code manifestUri} when it lies inside it, otherwise as a qualified URI.
   */
  public static Member member(String name, String manifestUri, String memberUri, double val, double test,
                              Map<String, String> config, Configuration conf) {
    try {
      Path dir = OutputFileSystem.qualified(manifestUri, conf).getParent();
      Path file = OutputFileSystem.qualified(memberUri, conf);
      long bytes = OutputFileSystem.of(file, conf).getFileStatus(file).getLen();
      return new Member(name, relativeTo(dir, file), sha256(memberUri, conf), bytes, val, test, config);
    } catch (FileNotFoundException e) {
      throw new UserError(memberUri + ": no such file", e);
    } catch (IOException e) {
      throw new UserError(memberUri + ": cannot read (" + TensorFile.describe(e) + ")", e);
    }
  }

  /**
   * Loads every member of this manifest (read from {@code manifestUri}, against whose directory relative paths
   * resolve), in order. Each member file must exist, match its SHA-256 and size (checked before it is parsed),
   * load as a model, and predict what the manifest and the first member do: the same classes, input size and
   * input shape. Any failure is a UserError naming the manifest and the member; nothing is skipped.
   */
  public List<SavedModel> loadMembers(String manifestUri, Configuration conf) {
    List<SavedModel> models = new ArrayList<>();
    for (Member m : members) {
      String where = manifestUri + ": member " + m.name();
      String file = resolve(manifestUri, m.path(), conf);
      checkFile(where, file, m, conf);
      SavedModel model;
      try {
        model = SavedModel.load(file, conf);
      } catch (UserError e) {
        throw new UserError(where + ": " + e.getMessage(), e);
      }
      String against = models.isEmpty() ? "the manifest says" : members.get(0).name() + " has";
      int classes = models.isEmpty() ? numClasses : models.get(0).spec().numClasses();
      int size = models.isEmpty() ? inputSize : models.get(0).spec().inputSize();
      String shape = models.isEmpty() ? inputShape : models.get(0).spec().inputShape().toString();
      String prefix = manifestUri + ": member " + m.name() + " has ";
      if (model.spec().numClasses() != classes) {
        throw new UserError(prefix + model.spec().numClasses() + " classes, " + against + " " + classes);
      }
      if (model.spec().inputSize() != size) {
        throw new UserError(prefix + "input size " + model.spec().inputSize() + ", " + against + " " + size);
      }
      if (!model.spec().inputShape().toString().equals(shape)) {
        throw new UserError(prefix + "input shape " + model.spec().inputShape() + ", " + against + " " + shape);
      }
      models.add(model);
    }
    return List.copyOf(models);
  }

  /** The member's model file as a path: {@code path} itself when absolute or a URI, else beside the manifest. */
  static String resolve(String manifestUri, String path, Configuration conf) {
    Path child = new Path(path);
    if (child.isAbsolute() || child.toUri().getScheme() != null) return path;
    try {
      return new Path(OutputFileSystem.qualified(manifestUri, conf).getParent(), child).toString();
    } catch (IOException e) {
      throw new UserError(manifestUri + ": cannot resolve member path " + path + " (" + TensorFile.describe(e) + ")", e);
    }
  }

  /** Checks that the member file exists and is the one the manifest names, by size and SHA-256. */
  private static void checkFile(String where, String file, Member m, Configuration conf) {
    long bytes;
    try {
      Path path = OutputFileSystem.qualified(file, conf);
      bytes = OutputFileSystem.of(path, conf).getFileStatus(path).getLen();
    } catch (FileNotFoundException e) {
      throw new UserError(where + ": model file " + file + " not found", e);
    } catch (IOException e) {
      throw new UserError(where + ": cannot read model file " + file + " (" + TensorFile.describe(e) + ")", e);
    }
    if (bytes != m.bytes()) {
      throw new UserError(where + ": model file " + file + " has " + bytes + " bytes, the manifest says " + m.bytes()
          + " (changed or replaced since the ensemble was made)");
    }
    String sha = sha256(file, conf);
    if (!sha.equals(m.sha256())) {
      throw new UserError(where + ": model file " + file + " has SHA-256 " + sha + ", the manifest says " + m.sha256()
          + " (changed or replaced since the ensemble was made)");
    }
  }

  /** {@code file} relative to {@code dir} when it lies inside it on the same file system, else its full URI. */
  private static String relativeTo(Path dir, Path file) {
    var d = dir.toUri();
    var f = file.toUri();
    String prefix = d.getPath().endsWith("/") ? d.getPath() : d.getPath() + "/";
    boolean sameFs = Objects.equals(d.getScheme(), f.getScheme()) && Objects.equals(d.getAuthority(), f.getAuthority());
    return sameFs && f.getPath().startsWith(prefix) ? f.getPath().substring(prefix.length()) : file.toString();
  }

  private static String requireText(String value, String what) {
    if (value == null || value.isBlank()) throw new UserError(what + " is missing or blank");
    return value;
  }

  private static void requireAccuracy(String member, String field, double value) {
    if (!Double.isNaN(value) && !(value >= 0 && value <= 1)) {
      throw new UserError("member " + member + ": " + field + " " + value + " is not in [0, 1]");
    }
  }
}
