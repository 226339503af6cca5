// A directory of named, versioned saved models on any Hadoop file system, each version checksummed, with a latest pointer.
package dev.sparktrain.io;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparktrain.UserError;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A model zoo (docs/zoo.md): {@code ROOT/NAME/vN/model.stm} (a saved model, copied byte for byte),
 * {@code ROOT/NAME/vN/manifest.json} ({@link ZooManifest}) and {@code ROOT/NAME/latest}, a checksummed pointer
 * naming one version and its manifest's SHA-256.
 *
 * <p>A publish claims the next number by creating {@code vN/.claim} exclusively ({@link ExclusiveFile}; a racer
 * that loses tries N+1), copies the model, writes the manifest, then replaces {@code latest}, each file atomically
 * ({@link AtomicWrite}). A version exists once its manifest does, and the pointer only ever names such a version,
 * so a reader sees a complete version or none. {@link #resolve} checks the pointer, the manifest and the model
 * file's size and SHA-256 before it returns. Every refusal is a one-line {@link UserError} naming the file, field
 * or value.
 */
public final class ModelZoo {
  /** The pointer file's name and the reference suffix that follows it. */
  public static final String LATEST = "latest";
  public static final String POINTER_FORMAT = "sparktrain-zoo-latest";
  public static final int POINTER_VERSION = 1;
  static final String MANIFEST_FILE = "manifest.json";
  private static final String CLAIM = ".claim";
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,99}");
  private static final Pattern VERSION = Pattern.compile("v[1-9][0-9]{0,8}");
  /** How long a reader waits for a pointer that an HDFS or S3A replace has briefly removed. */
  private static final int POINTER_TRIES = 50, POINTER_WAIT_MS = 10;

  private final String root;
  private final Path rootPath;
  private final Configuration conf;
  private final FileSystem fs;

  /**
   * One verified version.
   *
   * @param version {@code vN}
   * @param modelPath the model file, to load with {@link SavedModel#load}
   */
  public record Version(String name, String version, String directory, String modelPath, String manifestPath,
                        ZooManifest manifest) {
    /** N of {@code vN}. */
    public int number() {
      return Integer.parseInt(version.substring(1));
    }

    /** {@code NAME@vN}. */
    public String ref() {
      return name + "@" + version;
    }
  }

  /** A version as {@link #list} reports it: manifest read and checked, model file not re-hashed. */
  public record Entry(String name, String version, boolean latest, ZooManifest manifest) {}

  /** A zoo at {@code root} (need not exist until the first publish). */
  public ModelZoo(String root, Configuration conf) {
    this.root = root;
    this.conf = conf;
    try {
      this.rootPath = OutputFileSystem.qualified(root, conf);
      this.fs = OutputFileSystem.of(rootPath, conf);
    } catch (IOException e) {
      throw new UserError("zoo " + root + ": cannot open (" + TensorFile.describe(e) + ")", e);
    }
  }

  // ---------------------------------------------------------------- names and references

  /** Refuses a model name that is not 1–100 of {@code [A-Za-z0-9._-]}, or that starts with '.' or '-'. */
  public static void checkName(String name) {
    if (name != null && NAME.matcher(name).matches()) return;
    String shown = name == null ? "null" : "'" + TensorFile.shorten(name) + "'";
    String why = name == null || name.isEmpty() ? "is empty"
        : name.startsWith(".") || name.startsWith("-") ? "starts with '" + name.charAt(0) + "'"
        : name.length() > 100 ? "is longer than 100 characters"
        : "has a character outside [A-Za-z0-9._-]";
    throw new UserError("model name " + shown + " " + why + " (use 1-100 letters, digits, '.', '_' or '-', not first '.' or '-')");
  }

  /** Refuses a version that is not {@code v} and a positive integer without leading zeros ({@code v01} is refused). */
  public static void checkVersion(String version) {
    if (version != null && VERSION.matcher(version).matches()) return;
    throw new UserError("version " + (version == null ? "null" : "'" + TensorFile.shorten(version) + "'")
        + " is not v and a positive integer without leading zeros (e.g. v3)");
  }

  /** A parsed {@code NAME}, {@code NAME@latest} or {@code NAME@vN}; version null means latest. */
  private record Ref(String name, String version) {
    static Ref parse(String ref) {
      if (ref == null || ref.isEmpty()) throw new UserError("model reference is empty (give NAME, NAME@latest or NAME@vN)");
      int at = ref.indexOf('@');
      String name = at < 0 ? ref : ref.substring(0, at);
      checkName(name);
      if (at < 0) return new Ref(name, null);
      String version = ref.substring(at + 1);
      if (version.equals(LATEST)) return new Ref(name, null);
      checkVersion(version);
      return new Ref(name, version);
    }
  }

  // ---------------------------------------------------------------- publish, resolve, get, promote

  /**
   * Copies the saved model at {@code modelPath} into version {@code v<highest+1>} of {@code name} (v1 first),
   * writes its manifest and points {@code latest} at it. With concurrent publishers each gets its own version and
   * {@code latest} ends at one of them (the last to write it).
   *
   * @param extra numbers are added to the manifest's metrics, strings to its notes;
   *     {@value ZooManifest#TRAINING_DATASET} names the training data when the model does not
   * @throws UserError naming {@code modelPath} if it is not a valid saved model; the claimed version is left
   *     without a manifest, so it does not exist
   */
  public Version publish(String name, String modelPath, Map<String, Object> extra) {
    checkName(name);
    try {
      Path nameDir = new Path(rootPath, name);
      int n = claim(nameDir);
      Path dir = new Path(nameDir, "v" + n), model = new Path(dir, ZooManifest.MODEL_FILE);
      copy(modelPath, model.toString(), null);
      SavedModel saved;
      try {
        saved = SavedModel.load(model.toString(), conf);
      } catch (UserError e) {
        fs.delete(model, false);
        throw new UserError(modelPath + ": cannot publish, not a valid saved model (" + e.getMessage() + ")", e);
      }
      String sha;
      try (InputStream in = fs.open(model)) {
        sha = Sha256.hex(in);
      }
      ZooManifest manifest = ZooManifest.of(name, "v" + n, saved, fs.getFileStatus(model).getLen(), sha,
          modelPath, extra, Instant.now());
      byte[] bytes = manifest.encode();
      AtomicWrite.write(new Path(dir, MANIFEST_FILE).toString(), conf, out -> out.write(bytes));
      writePointer(name, "v" + n, Sha256.hex(bytes));
      return version(name, "v" + n, manifest);
    } catch (IOException e) {
      throw new UserError("zoo " + root + ": cannot publish " + name + " (" + TensorFile.describe(e) + ")", e);
    }
  }

  /** The version {@code ref} names ({@code NAME} = {@code NAME@latest}), after checking its files. */
  public Version resolve(String ref) {
    Ref r = Ref.parse(ref);
    try {
      if (ChecksummedJson.missing(fs, new Path(rootPath, r.name()))) throw unknownName(r.name());
      if (r.version() != null) return open(r.name(), r.version(), null);
      ObjectNode pointer = pointer(r.name(), true);
      return open(r.name(), pointer.get("version").textValue(), pointer.get("manifest_sha256").textValue());
    } catch (IOException e) {
      throw new UserError("zoo " + root + ": cannot read " + ref + " (" + TensorFile.describe(e) + ")", e);
    }
  }

  /** Copies the model {@code ref} names to {@code destPath} (atomically; refused if its bytes no longer match). */
  public String get(String ref, String destPath) {
    Version v = resolve(ref);
    copy(v.modelPath(), destPath, v.manifest().modelSha256());
    return destPath;
  }

  /** Points {@code latest} of the named model at the version {@code ref} names, after checking its files. */
  public Version promote(String ref) {
    Version v = resolve(ref);
    try {
      writePointer(v.name(), v.version(), Sha256.hex(ChecksummedJson.readSmall(fs, new Path(v.manifestPath()))));
    } catch (IOException e) {
      throw new UserError(v.manifestPath() + ": cannot read (" + TensorFile.describe(e) + ")", e);
    }
    return v;
  }

  // ---------------------------------------------------------------- listing

  /** The model names in the zoo, sorted; empty if the root does not exist. */
  public List<String> names() {
    try {
      if (ChecksummedJson.missing(fs, rootPath)) return List.of();
      List<String> names = new ArrayList<>();
      for (FileStatus s : fs.listStatus(rootPath)) {
        if (s.isDirectory() && NAME.matcher(s.getPath().getName()).matches()) names.add(s.getPath().getName());
      }
      names.sort(null);
      return names;
    } catch (IOException e) {
      throw new UserError("zoo " + root + ": cannot list (" + TensorFile.describe(e) + ")", e);
    }
  }

  /** Every version of every model, by name then number. */
  public List<Entry> list() {
    List<Entry> all = new ArrayList<>();
    for (String name : names()) all.addAll(list(name));
    return all;
  }

  /** The versions of {@code name} that have a manifest, by number, with which one {@code latest} names. */
  public List<Entry> list(String name) {
    checkName(name);
    try {
      if (ChecksummedJson.missing(fs, new Path(rootPath, name))) throw unknownName(name);
      ObjectNode pointer = pointer(name, false);
      String latest = pointer == null ? null : pointer.get("version").textValue();
      List<Entry> entries = new ArrayList<>();
      for (String v : versions(name)) entries.add(new Entry(name, v, v.equals(latest), manifest(name, v).manifest()));
      return entries;
    } catch (IOException e) {
      throw new UserError("zoo " + root + ": cannot list " + name + " (" + TensorFile.describe(e) + ")", e);
    }
  }

  // ---------------------------------------------------------------- internals

  /** Claims the lowest number above every {@code vN} directory of the name by creating its claim file exclusively. */
  private int claim(Path nameDir) throws IOException {
    byte[] who = (ManagementFactory.getRuntimeMXBean().getName() + " " + Instant.now() + "\n").getBytes(StandardCharsets.UTF_8);
    for (int attempt = 0; attempt < 1000; attempt++) {
      int n = highest(nameDir) + 1;
      Path dir = new Path(nameDir, "v" + n);
      fs.mkdirs(dir);
      if (ExclusiveFile.create(fs, new Path(dir, CLAIM), who)) return n;
    }
    throw new UserError("zoo " + root + ": " + nameDir.getName() + ": lost 1000 races for a version number");
  }

  /** The highest N of the {@code vN} directories, complete or not; 0 if there are none. */
  private int highest(Path nameDir) throws IOException {
    int max = 0;
    if (ChecksummedJson.missing(fs, nameDir)) return 0;
    for (FileStatus s : fs.listStatus(nameDir)) {
      String v = s.getPath().getName();
      if (s.isDirectory() && VERSION.matcher(v).matches()) max = Math.max(max, Integer.parseInt(v.substring(1)));
    }
    return max;
  }

  /** The versions of {@code name} whose manifest file exists, by number. */
  private List<String> versions(String name) throws IOException {
    Path nameDir = new Path(rootPath, name);
    List<String> found = new ArrayList<>();
    if (ChecksummedJson.missing(fs, nameDir)) return found;
    for (FileStatus s : fs.listStatus(nameDir)) {
      String v = s.getPath().getName();
      if (s.isDirectory() && VERSION.matcher(v).matches() && !ChecksummedJson.missing(fs, new Path(s.getPath(), MANIFEST_FILE))) {
        found.add(v);
      }
    }
    found.sort(Comparator.comparingInt(v -> Integer.parseInt(v.substring(1))));
    return found;
  }

  /** The version's manifest, read strictly and matched to its directory, with its file's SHA-256. */
  private record Read(ZooManifest manifest, String sha256) {}

  private Read manifest(String name, String version) throws IOException {
    Path file = new Path(new Path(new Path(rootPath, name), version), MANIFEST_FILE);
    byte[] bytes;
    try {
      bytes = ChecksummedJson.readSmall(fs, file);
    } catch (FileNotFoundException e) {
      throw new UserError("zoo " + root + ": model " + name + " has no version " + version + " ("
          + describeVersions(name) + ")", e);
    }
    ZooManifest m = ZooManifest.decode(file.toString(), bytes);
    if (!m.name().equals(name)) throw mismatch(file, "manifest.name", m.name(), name);
    if (!m.version().equals(version)) throw mismatch(file, "manifest.version", m.version(), version);
    return new Read(m, Sha256.hex(bytes));
  }

  /** Reads the version and checks its model file's size and SHA-256; {@code manifestSha} is the pointer's, or null. */
  private Version open(String name, String version, String manifestSha) throws IOException {
    Read read = manifest(name, version);
    Version v = version(name, version, read.manifest());
    if (manifestSha != null && !manifestSha.equals(read.sha256())) {
      throw new UserError(new Path(new Path(rootPath, name), LATEST) + ": field latest.manifest_sha256 does not match "
          + v.manifestPath() + " (SHA-256 " + read.sha256() + "); the version was changed after it was published");
    }
    Path model = new Path(v.modelPath());
    long bytes;
    try {
      bytes = fs.getFileStatus(model).getLen();
    } catch (FileNotFoundException e) {
      throw new UserError(v.modelPath() + ": model file missing, though " + v.manifestPath() + " lists it", e);
    }
    ZooManifest m = read.manifest();
    if (bytes != m.modelBytes()) {
      throw new UserError(v.modelPath() + ": " + bytes + " bytes, " + v.manifestPath() + " says " + m.modelBytes()
          + " (changed or damaged since it was published)");
    }
    String sha;
    try (InputStream in = fs.open(model)) {
      sha = Sha256.hex(in);
    }
    if (!sha.equals(m.modelSha256())) {
      throw new UserError(v.modelPath() + ": SHA-256 " + sha + ", " + v.manifestPath() + " says " + m.modelSha256()
          + " (changed or damaged since it was published)");
    }
    return v;
  }

  private Version version(String name, String version, ZooManifest m) {
    Path dir = new Path(new Path(rootPath, name), version);
    return new Version(name, version, dir.toString(), new Path(dir, ZooManifest.MODEL_FILE).toString(),
        new Path(dir, MANIFEST_FILE).toString(), m);
  }

  /**
   * The pointer's checked body, or null if there is none and {@code wait} is false. With {@code wait}, a missing
   * pointer beside published versions is read again for up to half a second: HDFS and S3A replace a file by
   * delete then rename.
   */
  private ObjectNode pointer(String name, boolean wait) throws IOException {
    Path file = new Path(new Path(rootPath, name), LATEST);
    for (int attempt = 1; ; attempt++) {
      byte[] bytes = null;
      try {
        bytes = ChecksummedJson.readSmall(fs, file);
      } catch (FileNotFoundException e) {
        // replaced right now, never written, or deleted
      }
      if (bytes != null) return checkPointer(file, name, bytes);
      if (!wait) return null;
      List<String> versions = versions(name);
      if (versions.isEmpty()) throw new UserError("zoo " + root + ": model " + name + " has no published version");
      if (attempt == POINTER_TRIES) {
        throw new UserError(file + ": missing, though versions " + String.join(", ", versions)
            + " exist (a publish was interrupted?); promote one with NAME@vN");
      }
      try {
        Thread.sleep(POINTER_WAIT_MS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new UserError(file + ": interrupted while waiting for the pointer", e);
      }
    }
  }

  private static ObjectNode checkPointer(Path file, String name, byte[] bytes) {
    ObjectNode p = ChecksummedJson.decode(file.toString(), bytes, POINTER_FORMAT, POINTER_VERSION, LATEST);
    try {
      ChecksummedJson.exactly(p, Set.of("name", "version", "manifest_sha256", "updated"), LATEST);
      String n = ChecksummedJson.text(p.get("name"), "latest.name");
      if (!n.equals(name)) throw new UserError("field latest.name '" + TensorFile.shorten(n) + "' is not " + name);
      String v = ChecksummedJson.text(p.get("version"), "latest.version");
      try {
        checkVersion(v);
      } catch (UserError e) {
        throw new UserError("field latest.version: " + e.getMessage());
      }
      ChecksummedJson.sha256(p.get("manifest_sha256"), "latest.manifest_sha256");
      ChecksummedJson.instant(p.get("updated"), "latest.updated");
    } catch (UserError e) {
      throw new UserError(file + ": " + e.getMessage(), e);
    }
    return p;
  }

  private void writePointer(String name, String version, String manifestSha) {
    ObjectNode body = ChecksummedJson.JSON.createObjectNode().put("name", name).put("version", version)
        .put("manifest_sha256", manifestSha).put("updated", Instant.now().toString());
    byte[] bytes = ChecksummedJson.encode(POINTER_FORMAT, POINTER_VERSION, LATEST, body);
    AtomicWrite.write(new Path(new Path(rootPath, name), LATEST).toString(), conf, out -> out.write(bytes));
  }

  /** Copies {@code from} to {@code to} atomically; with {@code expectSha}, refuses (writing nothing) other bytes. */
  private void copy(String from, String to, String expectSha) {
    AtomicWrite.write(to, conf, out -> {
      MessageDigest md = Sha256.digest();
      try (InputStream in = open(from)) {
        OutputStream o = new DigestOutputStream(out, md); // not closed: AtomicWrite syncs and closes out
        in.transferTo(o);
        o.flush();
      }
      String sha = HexFormat.of().formatHex(md.digest());
      if (expectSha != null && !sha.equals(expectSha)) {
        throw new UserError(from + ": SHA-256 " + sha + " while copying, the manifest says " + expectSha
            + " (changed since it was checked)");
      }
    });
  }

  private InputStream open(String uri) throws IOException {
    Path p = OutputFileSystem.qualified(uri, conf);
    try {
      return OutputFileSystem.of(p, conf).open(p);
    } catch (FileNotFoundException e) {
      throw new UserError(uri + ": no such file", e);
    }
  }

  private UserError unknownName(String name) {
    List<String> names = names();
    return new UserError("zoo " + root + " has no model '" + name + "' ("
        + (names.isEmpty() ? "the zoo is empty" : "models: " + String.join(", ", names)) + ")");
  }

  private String describeVersions(String name) throws IOException {
    List<String> versions = versions(name);
    if (versions.isEmpty()) return "it has no published version";
    ObjectNode p = null;
    try {
      p = pointer(name, false);
    } catch (UserError e) {
      // a damaged pointer does not hide the list of versions
    }
    return "versions: " + String.join(", ", versions) + (p == null ? "" : "; latest " + p.get("version").textValue());
  }

  private static UserError mismatch(Path file, String field, String found, String expected) {
    return new UserError(file + ": field " + field + " '" + TensorFile.shorten(found) + "' does not match its directory ("
        + expected + ")");
  }
}
