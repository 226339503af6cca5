// Reads and writes sparktrain tensor files (models, checkpoints): checksummed, validated, written atomically.
package dev.sparktrain.io;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparktrain.UserError;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.CRC32C;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The sparktrain tensor file, specified in {@code docs/model-format.md}:
 *
 * <pre>
 *   offset      size  content
 *   0           8     magic "SPKTRN01" (ASCII; the last two digits version this layout)
 *   8           4     H, the header length in bytes (u32, little-endian), at most 16 MiB
 *   12          H     header: a UTF-8 JSON object {format, format_version, tensors, meta}, space-padded
 *   12+H        4·N   the tensors' values, float32 little-endian, row-major, in header order
 *   16+H+4·N-4  4     CRC32C of every preceding byte (u32, little-endian)
 * </pre>
 *
 * <p>Reading validates before it allocates: the header length against its limit and the file's length, the
 * header against its schema, and the total size the header implies against the file's actual length. Only then
 * are the tensors allocated and read, and the checksum compared. Every rejection of a bad file, and every failed
 * read or write, is a one-line {@link UserError} naming the file.
 *
 * <p>Writing is atomic: the file is written to a hidden temporary file in the target's directory and renamed
 * over the target. On failure the temporary file is deleted and an existing target is left as it was.
 *
 * <p>Paths go through Hadoop's {@link FileSystem}, so local paths, {@code file://}, {@code hdfs://} and
 * {@code s3a://} all work. On the local file system the raw file system is used: the format carries its own
 * checksum, so Hadoop's {@code .crc} side files would only be clutter.
 */
public final class TensorFile {
  /** The format name of a trained model. */
  public static final String MODEL_FORMAT = "sparktrain-model";
  /** The largest header accepted, in bytes; metadata larger than this does not belong in a header. */
  public static final int MAX_HEADER_BYTES = 16 << 20;

  static final byte[] MAGIC = "SPKTRN01".getBytes(StandardCharsets.US_ASCII);
  /** Bytes before the header: magic and header length. */
  static final int PREFIX_BYTES = 12;
  /** Bytes besides the header and the values: prefix and checksum. */
  static final int FIXED_BYTES = PREFIX_BYTES + 4;
  /** Values converted per chunk: 256 KiB of bytes, large enough to stream at disk speed, small enough to not matter. */
  private static final int CHUNK_VALUES = 1 << 16;

  /** What a tensor file holds; {@code tensors} is unmodifiable and in file order, {@code source} names the file. */
  public record Contents(String source, String format, ObjectNode meta, Map<String, NamedTensor> tensors) {
    /** The tensor called {@code name}; a file without it is a UserError naming the file. */
    public NamedTensor tensor(String name) {
      NamedTensor t = tensors.get(name);
      if (t == null) {
        String names = shorten(tensors.keySet().toString());
        throw new UserError(source + ": has no tensor '" + name + "' (it has " + names + ")");
      }
      return t;
    }

    /** The values of the tensor called {@code name}. */
    public float[] values(String name) {
      return tensor(name).values();
    }
  }

  private TensorFile() {}

  /**
   * Writes {@code tensors} (in order) with the caller's {@code meta} to {@code uri}, atomically.
   *
   * @param format what the file is, e.g. {@link #MODEL_FORMAT}; readers demand the format they expect
   * @param meta the caller's metadata (architecture, resolved config, provenance), returned by read; may be null
   * @throws IllegalArgumentException for a blank format or duplicate tensor names, before any file is touched
   * @throws UserError if the file cannot be written; the previous file, if any, is then unchanged
   */
  public static void write(String uri, Configuration conf, String format, ObjectNode meta, List<NamedTensor> tensors) {
    byte[] header = headerFor(format, meta, tensors);
    AtomicWrite.write(uri, conf, out -> encode(out, header, tensors));
  }

  /**
   * Reads and fully validates the tensor file at {@code uri}.
   *
   * @param expectedFormat the format the caller needs, e.g. {@link #MODEL_FORMAT}; any other is rejected
   * @throws UserError if the file is missing, unreadable, corrupt, or not a {@code expectedFormat} file
   */
  public static Contents read(String uri, Configuration conf, String expectedFormat) {
    requireFormat(expectedFormat);
    try {
      Path path = OutputFileSystem.qualified(uri, conf);
      FileSystem fs = OutputFileSystem.of(path, conf);
      FileStatus status = fs.getFileStatus(path);
      if (status.isDirectory()) throw new UserError(uri + ": is a directory, not a tensor file");
      try (FSDataInputStream in = fs.open(path)) {
        return decode(uri, in, status.getLen(), expectedFormat);
      }
    } catch (FileNotFoundException e) {
      throw new UserError(uri + ": no such file", e);
    } catch (IOException e) {
      throw new UserError(uri + ": cannot read (" + describe(e) + ")", e);
    }
  }

  /** Writes a whole tensor file to {@code out} (not closed); what {@link #write} puts in the file. */
  public static void encode(OutputStream out, String format, ObjectNode meta, List<NamedTensor> tensors)
      throws IOException {
    encode(out, headerFor(format, meta, tensors), tensors);
  }

  /**
   * Reads a whole tensor file of exactly {@code length} bytes from {@code in} (not closed), validating as
   * {@link #read} does; {@code source} names it in errors.
   */
  public static Contents decode(String source, InputStream in, long length, String expectedFormat) throws IOException {
    requireFormat(expectedFormat);
    if (length < FIXED_BYTES) throw bad(source, "too short (" + length + " bytes) to be a sparktrain tensor file");
    CRC32C crc = new CRC32C();
    ByteBuffer prefix = ByteBuffer.wrap(readExactly(source, in, PREFIX_BYTES, crc)).order(ByteOrder.LITTLE_ENDIAN);
    checkMagic(source, prefix.array());
    long headerLength = Integer.toUnsignedLong(prefix.getInt(MAGIC.length));
    if (headerLength > MAX_HEADER_BYTES) {
      throw bad(source, "header length " + headerLength + " exceeds the 16 MiB limit (corrupt file?)");
    }
    if (headerLength > length - FIXED_BYTES) {
      throw bad(source,
          "header length " + headerLength + " does not fit in the file's " + length + " bytes (truncated?)");
    }
    TensorHeader header = TensorHeader.parse(source, readExactly(source, in, (int) headerLength, crc), expectedFormat);
    long expected = FIXED_BYTES + headerLength + header.dataBytes();
    if (expected > length) {
      throw bad(source, "truncated: the header describes " + expected + " bytes, the file has " + length);
    }
    if (expected < length) {
      throw bad(source, (length - expected) + " unexpected bytes after the data: the header describes " + expected
          + ", the file has " + length);
    }
    // Only now, with the size proven to match the file, are the tensors allocated.
    Map<String, NamedTensor> tensors = new LinkedHashMap<>();
    Chunk chunk = new Chunk(header.dataBytes());
    for (TensorHeader.Entry e : header.tensors()) {
      float[] values = new float[e.count()];
      chunk.read(source, in, crc, values);
      tensors.put(e.name(), new NamedTensor(e.name(), e.shape(), values));
    }
    int stored = ByteBuffer.wrap(readExactly(source, in, 4, null)).order(ByteOrder.LITTLE_ENDIAN).getInt();
    if (stored != (int) crc.getValue()) throw bad(source, "checksum mismatch (file corrupted?)");
    return new Contents(source, header.format(), header.meta(), Collections.unmodifiableMap(tensors));
  }

  /** The whole tensor file as bytes, e.g. for a broadcast or a test. */
  public static byte[] toBytes(String format, ObjectNode meta, List<NamedTensor> tensors) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      encode(out, format, meta, tensors);
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a ByteArrayOutputStream does not fail
    }
    return out.toByteArray();
  }

  /** Decodes a whole tensor file held in memory; {@code source} names it in errors. */
  public static Contents fromBytes(String source, byte[] bytes, String expectedFormat) {
    try {
      return decode(source, new ByteArrayInputStream(bytes), bytes.length, expectedFormat);
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a ByteArrayInputStream does not fail
    }
  }

  /** Validates the arguments of a write and builds its header, before any file is touched. */
  private static byte[] headerFor(String format, ObjectNode meta, List<NamedTensor> tensors) {
    requireFormat(format);
    Set<String> names = new HashSet<>();
    for (NamedTensor t : tensors) {
      if (!names.add(t.name())) throw new IllegalArgumentException("duplicate tensor name '" + t.name() + "'");
    }
    byte[] header = TensorHeader.encode(format, meta, tensors, PREFIX_BYTES);
    if (header.length > MAX_HEADER_BYTES) {
      throw new IllegalArgumentException("header of " + header.length + " bytes exceeds the 16 MiB limit");
    }
    return header;
  }

  private static void encode(OutputStream out, byte[] header, List<NamedTensor> tensors) throws IOException {
    CRC32C crc = new CRC32C();
    ByteBuffer prefix = ByteBuffer.allocate(PREFIX_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    prefix.put(MAGIC).putInt(header.length);
    writeChecked(out, crc, prefix.array(), PREFIX_BYTES);
    writeChecked(out, crc, header, header.length);
    long dataBytes = 0;
    for (NamedTensor t : tensors) dataBytes += 4L * t.values().length;
    Chunk chunk = new Chunk(dataBytes);
    for (NamedTensor t : tensors) chunk.write(out, crc, t.values());
    out.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) crc.getValue()).array());
    out.flush();
  }

  /** A reusable byte buffer with a little-endian float view, through which values stream in bulk. */
  private static final class Chunk {
    private final byte[] bytes;
    private final FloatBuffer floats;

    Chunk(long dataBytes) {
      bytes = new byte[(int) Math.min(4L * CHUNK_VALUES, dataBytes)];
      floats = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
    }

    void write(OutputStream out, CRC32C crc, float[] values) throws IOException {
      for (int off = 0; off < values.length; off += CHUNK_VALUES) {
        int n = Math.min(CHUNK_VALUES, values.length - off);
        floats.clear();
        floats.put(values, off, n);
        writeChecked(out, crc, bytes, 4 * n);
      }
    }

    void read(String source, InputStream in, CRC32C crc, float[] values) throws IOException {
      for (int off = 0; off < values.length; off += CHUNK_VALUES) {
        int n = Math.min(CHUNK_VALUES, values.length - off);
        readExactly(source, in, bytes, 4 * n);
        crc.update(bytes, 0, 4 * n);
        floats.clear();
        floats.get(values, off, n);
      }
    }
  }

  private static void writeChecked(OutputStream out, CRC32C crc, byte[] bytes, int n) throws IOException {
    crc.update(bytes, 0, n);
    out.write(bytes, 0, n);
  }

  /** Reads exactly {@code n} bytes, adding them to {@code crc} unless it is null. */
  private static byte[] readExactly(String source, InputStream in, int n, CRC32C crc) throws IOException {
    byte[] bytes = new byte[n];
    readExactly(source, in, bytes, n);
    if (crc != null) crc.update(bytes);
    return bytes;
  }

  private static void readExactly(String source, InputStream in, byte[] bytes, int n) throws IOException {
    // The length was checked up front, so a short read means the file shrank while it was being read.
    if (in.readNBytes(bytes, 0, n) != n) throw bad(source, "truncated (the file ended early)");
  }

  private static void checkMagic(String source, byte[] prefix) {
    if (Arrays.equals(prefix, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) return;
    int family = MAGIC.length - 2; // "SPKTRN", then two digits of layout version
    if (Arrays.equals(prefix, 0, family, MAGIC, 0, family)) {
      String found = new String(prefix, family, 2, StandardCharsets.ISO_8859_1);
      throw bad(source, "tensor file layout " + shorten(found) + " is not supported by this sparktrain (it reads 01)");
    }
    throw bad(source, "not a sparktrain tensor file (wrong magic bytes)");
  }

  private static void requireFormat(String format) {
    if (format == null || format.isBlank()) throw new IllegalArgumentException("format must be non-blank");
  }

  /** Text from a file or an exception made safe for a one-line message: control characters out, at most 160 chars. */
  static String shorten(String s) {
    if (s == null) return "";
    String line = s.replaceAll("\\p{Cntrl}+", " ").strip();
    return line.length() <= 160 ? line : line.substring(0, 157) + "...";
  }

  /** An IOException's message, made safe for a one-line message. */
  static String describe(IOException e) {
    return e.getMessage() == null ? e.getClass().getSimpleName() : shorten(e.getMessage());
  }

  private static UserError bad(String source, String what) {
    return new UserError(source + ": " + what);
  }
}
