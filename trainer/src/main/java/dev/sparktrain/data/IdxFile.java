package dev.sparktrain.data;

import dev.sparktrain.UserError;
import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.util.zip.GZIPInputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * An IDX file (the MNIST format), raw or gzipped, read through Hadoop's FileSystem so that file://, hdfs:// and
 * s3a:// paths all work. The header is validated on the driver; executors then read their own slice of records.
 *
 * <p>Layout: magic {@code 00 00 08 D} (unsigned bytes, D dimensions), D big-endian u32 sizes, then records.
 * Images (D = 3) become float rows scaled to [0, 1]; labels (D = 1) become ints.
 */
public record IdxFile(String path, int dims, int count, int recordSize, int headerBytes, boolean gzipped)
    implements java.io.Serializable {
  /** The largest record count or record size accepted, to reject absurd headers before allocating. */
  private static final long MAX_ELEMENTS = 1L << 40;

  /** Reads and validates the header, and checks that the file holds every record it declares. */
  public static IdxFile open(String path, int expectedDims, Configuration conf) {
    IdxFile f;
    try (InputStream in = stream(path, conf)) {
      byte[] magic = in.readNBytes(4);
      if (magic.length < 4) throw new UserError(path + ": truncated IDX header (" + magic.length + " bytes)");
      int dims = magic[3] & 0xFF;
      if (magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 || dims != expectedDims) {
        throw new UserError(String.format("%s: wrong IDX magic number 0x%02x%02x%02x%02x (expected 0x000008%02x: %s)",
            path, magic[0], magic[1], magic[2], magic[3], expectedDims,
            expectedDims == 1 ? "unsigned-byte labels" : "unsigned-byte images"));
      }
      byte[] sizes = in.readNBytes(4 * dims);
      if (sizes.length < 4 * dims) throw new UserError(path + ": truncated IDX header");
      for (int d = 0; d < dims; d++) checkSize(path, d, dims, u32(sizes, 4 * d));
      long count = u32(sizes, 0), recordSize = 1;
      for (int d = 1; d < dims; d++) recordSize *= u32(sizes, 4 * d);
      if (count > Integer.MAX_VALUE || recordSize > Integer.MAX_VALUE || count * recordSize > MAX_ELEMENTS) {
        throw new UserError(path + ": IDX header declares " + count + " records of " + recordSize + " bytes, too large");
      }
      f = new IdxFile(path, dims, (int) count, (int) recordSize, 4 + 4 * dims, isGzip(path, conf));
      long expected = count * recordSize;
      long present = f.gzipped ? countBytes(in, expected) : fileLength(path, conf) - f.headerBytes;
      if (present < expected) {
        throw new UserError(path + ": truncated: header declares " + count + " records but only "
            + present / Math.max(1, recordSize) + " are complete");
      }
      if (present > expected) {
        throw new UserError(path + ": " + (present - expected) + " bytes after the " + count + " records the header declares");
      }
    } catch (EOFException e) {
      throw new UserError(path + ": truncated file (" + e.getMessage() + ")");
    } catch (IOException e) {
      throw new UserError(path + ": cannot read: " + e.getMessage());
    }
    return f;
  }

  /**
   * One size of the header: the format stores signed 32-bit sizes, so a size of 2^31 or more (0xFFFFFFFF, say) is
   * not a huge file but a damaged header, and a size of 0 would describe records with no bytes or no records.
   */
  private static void checkSize(String path, int d, int dims, long size) {
    if (size >= 1 && size <= Integer.MAX_VALUE) return;
    String field = "dimension " + (d + 1) + " of " + dims + " (" + dimensionName(d, dims) + ")";
    if (size == 0) throw new UserError(path + ": invalid IDX header: " + field + " is 0; every dimension must be at least 1");
    throw new UserError(String.format("%s: invalid IDX header: %s is 0x%08X (%d), above the format's limit of %d",
        path, field, size, size, Integer.MAX_VALUE));
  }

  /** What dimension d of an IDX file of the given rank counts: records first, then the sizes of one record. */
  static String dimensionName(int d, int dims) {
    if (d == 0) return dims == 1 ? "label count" : "record count";
    if (dims == 3) return d == 1 ? "rows" : "columns";
    return "size " + d + " of a record";
  }

  /** The unsigned-byte records [from, to) as floats in [0, 1], row-major (to − from)×recordSize. */
  public float[] readImages(int from, int to, Configuration conf) {
    byte[] raw = readRecords(from, to, conf);
    float[] x = new float[raw.length];
    for (int i = 0; i < raw.length; i++) x[i] = DataBlock.pixel(raw[i]);
    return x;
  }

  /** The raw pixels of images [from, to), row-major bytes (0–255), for a uint8 cache (data.pixel_type). */
  public byte[] readPixels(int from, int to, Configuration conf) {
    return readRecords(from, to, conf);
  }

  /** The labels [from, to), each checked to lie in [0, numClasses); the error names the 1-based row. */
  public int[] readLabels(int from, int to, int numClasses, Configuration conf) {
    byte[] raw = readRecords(from, to, conf);
    int[] y = new int[raw.length];
    for (int i = 0; i < raw.length; i++) {
      y[i] = raw[i] & 0xFF;
      if (y[i] >= numClasses) {
        throw new UserError(path + ": row " + (from + i + 1) + ": label " + y[i] + " out of range [0, " + numClasses
            + ") (data.num_classes = " + numClasses + ")");
      }
    }
    return y;
  }

  /** The raw unsigned-byte records [from, to), row-major (to − from)×recordSize, e.g. uint8 pixels. */
  public byte[] readRecords(int from, int to, Configuration conf) {
    if (from < 0 || to > count || from > to) throw new IllegalArgumentException("records [" + from + ", " + to + ") of " + count);
    byte[] out = new byte[Math.multiplyExact(to - from, recordSize)];
    try (InputStream in = stream(path, conf)) {
      skipFully(in, headerBytes + (long) from * recordSize);
      int got = in.readNBytes(out, 0, out.length);
      if (got < out.length) throw new UserError(path + ": truncated while reading records " + from + ".." + to);
    } catch (IOException e) {
      throw new UserError(path + ": cannot read: " + e.getMessage());
    }
    return out;
  }

  /** Reads up to limit + 1 bytes and returns how many there were (a gzip stream has no cheaper length). */
  private static long countBytes(InputStream in, long limit) throws IOException {
    byte[] buf = new byte[1 << 16];
    long total = 0;
    int r;
    while (total <= limit && (r = in.read(buf, 0, (int) Math.min(buf.length, limit + 1 - total))) > 0) total += r;
    return total;
  }

  private static long fileLength(String path, Configuration conf) throws IOException {
    Path p = new Path(path);
    return p.getFileSystem(conf).getFileStatus(p).getLen();
  }

  private static void skipFully(InputStream in, long n) throws IOException {
    while (n > 0) {
      long s = in.skip(n);
      if (s <= 0) {
        if (in.read() < 0) throw new EOFException("unexpected end of file");
        s = 1;
      }
      n -= s;
    }
  }

  private static long u32(byte[] b, int off) {
    return ((b[off] & 0xFFL) << 24) | ((b[off + 1] & 0xFFL) << 16) | ((b[off + 2] & 0xFFL) << 8) | (b[off + 3] & 0xFFL);
  }

  private static boolean isGzip(String path, Configuration conf) throws IOException {
    try (InputStream raw = rawStream(path, conf)) {
      return raw.read() == 0x1f && raw.read() == 0x8b;
    }
  }

  /** The decompressed byte stream of the file (gzip detected by its magic bytes, not by the name). */
  static InputStream stream(String path, Configuration conf) throws IOException {
    InputStream raw = new BufferedInputStream(rawStream(path, conf), 1 << 16);
    raw.mark(2);
    boolean gz = raw.read() == 0x1f && raw.read() == 0x8b;
    raw.reset();
    return gz ? new BufferedInputStream(new GZIPInputStream(raw, 1 << 16), 1 << 16) : raw;
  }

  static InputStream rawStream(String path, Configuration conf) throws IOException {
    Path p = new Path(path);
    try {
      FileSystem fs = p.getFileSystem(conf);
      return fs.open(p);
    } catch (FileNotFoundException e) {
      throw new UserError(path + ": file not found");
    }
  }
}
