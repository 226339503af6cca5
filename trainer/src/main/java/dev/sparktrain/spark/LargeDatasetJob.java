package dev.sparktrain.spark;

import dev.sparktrain.UserError;
import dev.sparktrain.augment.Augmentation;
import dev.sparktrain.data.DatasetFetcher;
import dev.sparktrain.data.IdxFile;
import dev.sparktrain.tensor.Rng;
import dev.sparktrain.train.Progress;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Writes a large Parquet data set: {@code copies} copies of Fashion-MNIST's training set (or any 28×28 uint8 IDX
 * pair), copy 0 the original and every other copy a seeded offline augmentation of it, e.g. 20 copies = 1.2M rows.
 *
 * <p>Schema (fixed; the trainer's loader reads it): {@code row} LONG, the global row id copy·n + index (0-based, n
 * the source's image count); {@code image} BINARY, 784 bytes, row-major 28×28, one channel, 0..255; {@code label}
 * INT. Partition p holds the rows [p·total/P, (p+1)·total/P) in order and becomes the file {@code part-0000p-*}, so
 * the files in name order hold the rows in row order.
 *
 * <p>Augmentation of (copy ≥ 1, index): with the stream {@code Rng.derive(seed, Rng.OFFLINE_AUGMENT, copy, index)},
 * a random translation by up to ±pad pixels in each direction with zero fill ({@link Augmentation.Crop}: dy then dx),
 * then a horizontal flip with p = 0.5 ({@link Augmentation.Flip}), the same ops as the {@code augment} setting, on the
 * bytes' integer values, so the result is exact bytes again. A row depends only on (seed, pad, copy, index): any
 * partition count writes the same rows.
 *
 * <p>Nothing half-written is left: Spark writes into {@code OUT.tmp-<random>}, which is renamed to OUT only when
 * complete, and deleted on failure.
 */
public final class LargeDatasetJob {
  public static final int DEFAULT_COPIES = 20, DEFAULT_PAD = 2, SIDE = 28, PIXELS = SIDE * SIDE;
  public static final String USAGE = "make-large-dataset OUT [copies=20] [seed=1] [partitions=N] [pad=2]"
      + " [overwrite=false] [images=IDX labels=IDX]";
  /** Rows per file when partitions is not given: about 25 MB of Parquet (snappy) per file on Fashion-MNIST. */
  static final long ROWS_PER_FILE = 50_000;
  public static final StructType SCHEMA = new StructType()
      .add("row", DataTypes.LongType, false)
      .add("image", DataTypes.BinaryType, false)
      .add("label", DataTypes.IntegerType, false);

  private LargeDatasetJob() {}

  /**
   * What to write. partitions = 0 chooses one per {@link #ROWS_PER_FILE} rows; empty images and labels mean
   * Fashion-MNIST's training set, located as {@code data.dataset = fashion-mnist} is.
   */
  public record Options(String out, int copies, long seed, int partitions, int pad, boolean overwrite, String images,
      String labels) {
    public Options {
      if (out == null || out.isBlank()) throw new UserError("make-large-dataset: OUT is missing (" + USAGE + ")");
      if (copies < 1) throw new UserError("copies = " + copies + ": must be at least 1");
      if (partitions < 0) throw new UserError("partitions = " + partitions + ": must be at least 1");
      if (pad < 0 || pad >= SIDE) throw new UserError("pad = " + pad + ": must be in [0, " + (SIDE - 1) + "]");
      if (images.isEmpty() != labels.isEmpty()) {
        throw new UserError((images.isEmpty() ? "labels" : "images") + " = " + (images.isEmpty() ? labels : images)
            + ": give both images= and labels=, or neither (Fashion-MNIST's training set)");
      }
    }

    public static Options defaults(String out) {
      return new Options(out, DEFAULT_COPIES, 1, 0, DEFAULT_PAD, false, "", "");
    }
  }

  /** Writes the data set and returns the command's JSON result. */
  public static Map<String, Object> run(SparkSession spark, Options o, Progress progress) {
    long start = System.nanoTime();
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    FileSystem fs = fileSystem(new Path(o.out()), conf, o.out());
    Path target = fs.makeQualified(new Path(o.out()));
    refuseExisting(fs, target, o);
    String[] source = source(o, progress);
    IdxFile imageFile = IdxFile.open(source[0], 3, conf), labelFile = IdxFile.open(source[1], 1, conf);
    if (imageFile.recordSize() != PIXELS) {
      throw new UserError(source[0] + ": images of " + imageFile.recordSize() + " pixels; expected 28×28 = " + PIXELS);
    }
    if (labelFile.count() != imageFile.count()) {
      throw new UserError(source[1] + ": " + labelFile.count() + " labels for the " + imageFile.count() + " images of "
          + source[0]);
    }
    int n = imageFile.count();
    long rows = (long) o.copies() * n;
    int parts = (int) Math.max(1, Math.min(rows, o.partitions() > 0 ? o.partitions() : ceilDiv(rows, ROWS_PER_FILE)));
    progress.info("make-large-dataset: " + o.copies() + " copies of " + n + " images (" + rows + " rows) into " + parts
        + " files at " + o.out());

    JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Broadcast<byte[]> images = sc.broadcast(imageFile.readRecords(0, n, conf));
    Broadcast<byte[]> labels = sc.broadcast(labelFile.readRecords(0, n, conf));
    Path temp = new Path(target.getParent(), target.getName() + ".tmp-" + Long.toHexString(ThreadLocalRandom.current().nextLong()));
    try {
      List<Integer> partIds = new ArrayList<>();
      for (int p = 0; p < parts; p++) partIds.add(p);
      long seed = o.seed();
      int pad = o.pad();
      JavaRDD<Row> data = sc.parallelize(partIds, parts)
          .flatMap(p -> new Rows(images.value(), labels.value(), n, p * rows / parts, (p + 1) * rows / parts, seed, pad));
      spark.createDataFrame(data, SCHEMA).write().parquet(temp.toString());
      moveIntoPlace(fs, temp, target, o);
    } finally {
      deleteQuietly(fs, temp);
      images.destroy();
      labels.destroy();
    }
    long[] files = parquetFiles(fs, target, o.out());
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("path", target.toString());
    r.put("copies", o.copies());
    r.put("rows", rows);
    r.put("files", files[0]);
    r.put("bytes", files[1]);
    r.put("float32_bytes", rows * PIXELS * 4);
    r.put("seed", o.seed());
    r.put("pad", o.pad());
    r.put("images", source[0]);
    r.put("labels", source[1]);
    r.put("seconds", Math.round((System.nanoTime() - start) / 1e7) / 100.0);
    return r;
  }

  /**
   * The 784 bytes of row (copy, index): the source image for copy 0, else its augmentation (class comment). buf and
   * scratch hold at least 784 floats each.
   */
  static byte[] image(byte[] images, int index, int copy, long seed, int pad, float[] buf, float[] scratch) {
    byte[] out = new byte[PIXELS];
    System.arraycopy(images, index * PIXELS, out, 0, PIXELS);
    if (copy == 0) return out;
    for (int i = 0; i < PIXELS; i++) buf[i] = out[i] & 0xFF;
    Rng rng = Rng.derive(seed, Rng.OFFLINE_AUGMENT, copy, index);
    new Augmentation.Crop(pad).apply(buf, 0, 1, SIDE, SIDE, rng, scratch);
    new Augmentation.Flip(Augmentation.Flip.DEFAULT_P).apply(buf, 0, 1, SIDE, SIDE, rng, scratch);
    for (int i = 0; i < PIXELS; i++) out[i] = (byte) (int) buf[i]; // whole numbers 0..255: moved, never computed
    return out;
  }

  /** The rows [from, to) of one partition, made one at a time. */
  private static final class Rows implements Iterator<Row> {
    private final byte[] images, labels;
    private final int n, pad;
    private final long seed, to;
    private final float[] buf = new float[PIXELS], scratch = new float[PIXELS];
    private long next;

    Rows(byte[] images, byte[] labels, int n, long from, long to, long seed, int pad) {
      this.images = images;
      this.labels = labels;
      this.n = n;
      this.next = from;
      this.to = to;
      this.seed = seed;
      this.pad = pad;
    }

    @Override public boolean hasNext() {
      return next < to;
    }

    @Override public Row next() {
      if (next >= to) throw new NoSuchElementException();
      long row = next++;
      int copy = (int) (row / n), index = (int) (row % n);
      return RowFactory.create(row, image(images, index, copy, seed, pad, buf, scratch), labels[index] & 0xFF);
    }
  }

  private static String[] source(Options o, Progress progress) {
    if (!o.images().isEmpty()) return new String[] {o.images(), o.labels()};
    String dir = DatasetFetcher.standard(progress::info).locate("fashion-mnist").toUri().toString();
    return new String[] {dir + "train-images-idx3-ubyte.gz", dir + "train-labels-idx1-ubyte.gz"};
  }

  private static FileSystem fileSystem(Path target, Configuration conf, String out) {
    try {
      return target.getFileSystem(conf);
    } catch (IOException e) {
      throw new UserError(out + ": cannot open its file system (" + e.getMessage() + ")", e);
    }
  }

  private static void refuseExisting(FileSystem fs, Path target, Options o) {
    try {
      if (fs.exists(target) && !o.overwrite()) {
        throw new UserError(o.out() + ": already exists; choose another OUT or pass overwrite=true to replace it");
      }
    } catch (IOException e) {
      throw new UserError(o.out() + ": cannot check whether it exists (" + e.getMessage() + ")", e);
    }
  }

  /**
   * Renames the finished temp directory to target. With overwrite the old target is first renamed aside and
   * deleted only after the new one is in place.
   */
  private static void moveIntoPlace(FileSystem fs, Path temp, Path target, Options o) {
    try {
      refuseExisting(fs, target, o); // it may have appeared while the job ran
      Path old = null;
      if (fs.exists(target)) {
        old = new Path(temp.getParent(), target.getName() + ".old-" + Long.toHexString(ThreadLocalRandom.current().nextLong()));
        if (!fs.rename(target, old)) throw new IOException("could not move the old " + target.getName() + " aside");
      }
      if (!fs.rename(temp, target)) {
        if (old != null) fs.rename(old, target);
        throw new IOException("could not rename " + temp.getName() + " to " + target.getName());
      }
      if (old != null) fs.delete(old, true);
    } catch (IOException e) {
      throw new UserError(o.out() + ": cannot move the finished data set into place (" + e.getMessage() + ")", e);
    }
  }

  /** {number of Parquet files, their total bytes} under dir. */
  private static long[] parquetFiles(FileSystem fs, Path dir, String out) {
    try {
      long count = 0, bytes = 0;
      for (FileStatus s : fs.listStatus(dir)) {
        if (s.isFile() && s.getPath().getName().endsWith(".parquet")) {
          count++;
          bytes += s.getLen();
        }
      }
      return new long[] {count, bytes};
    } catch (IOException e) {
      throw new UserError(out + ": cannot list the written files (" + e.getMessage() + ")", e);
    }
  }

  private static void deleteQuietly(FileSystem fs, Path p) {
    try {
      if (fs.exists(p)) fs.delete(p, true);
    } catch (IOException | RuntimeException e) {
      // a failure is already being reported, or the data set is in place; a leftover temp dir is named .tmp-
    }
  }

  private static long ceilDiv(long a, long b) {
    return (a + b - 1) / b;
  }
}
