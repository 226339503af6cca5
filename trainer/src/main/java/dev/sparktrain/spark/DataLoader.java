package dev.sparktrain.spark;

import dev.sparktrain.UserError;
import dev.sparktrain.data.DataBlock;
import dev.sparktrain.data.IdxFile;
import dev.sparktrain.data.LibsvmLine;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;
import scala.Tuple2;

/**
 * Reads a data source (IDX, LIBSVM, or a Parquet/CSV DataFrame) into an RDD of exactly one dense float32 block
 * per partition. Every path goes through Hadoop's FileSystem. Headers and labels are checked where the error
 * can name the file and row.
 */
final class DataLoader {
  private final SparkSession spark;
  private final JavaSparkContext sc;
  private final int numClasses;
  private final int partitions;
  /** Images cached as bytes (data.pixel_type = uint8) rather than float32. */
  private final boolean pixels;

  DataLoader(SparkSession spark, int numClasses, int partitions) {
    this(spark, numClasses, partitions, false);
  }

  DataLoader(SparkSession spark, int numClasses, int partitions, boolean pixels) {
    this.spark = spark;
    this.pixels = pixels;
    this.sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    this.numClasses = numClasses;
    this.partitions = partitions;
  }

  /** A data source: format, features path (images, LIBSVM file or table) and, for IDX, the labels path. */
  record Source(String format, String features, String labels, String featuresCol, String labelCol) {}

  Examples load(Source src) {
    requireExists(src.features());
    return switch (src.format()) {
      case "idx" -> idx(src);
      case "libsvm" -> libsvm(src);
      default -> dataFrame(src);
    };
  }

  private void requireExists(String path) {
    try {
      Path p = new Path(path);
      if (!p.getFileSystem(sc.hadoopConfiguration()).exists(p)) throw new UserError(path + ": file not found");
    } catch (java.io.IOException e) {
      throw new UserError(path + ": cannot access: " + e.getMessage());
    }
  }

  private Examples idx(Source src) {
    requireExists(src.labels());
    var conf = sc.hadoopConfiguration();
    IdxFile images = IdxFile.open(src.features(), 3, conf);
    IdxFile labels = IdxFile.open(src.labels(), 1, conf);
    if (images.count() != labels.count()) {
      throw new UserError(src.features() + " has " + images.count() + " images but " + src.labels() + " has "
          + labels.count() + " labels");
    }
    labels.readLabels(0, labels.count(), numClasses, conf);  // every label checked here, on the driver
    int n = images.count(), parts = Math.min(partitions, Math.max(1, n));
    List<int[]> ranges = new ArrayList<>();
    for (int p = 0; p < parts; p++) ranges.add(new int[] {(int) ((long) n * p / parts), (int) ((long) n * (p + 1) / parts)});
    HadoopConf hc = new HadoopConf(conf);
    int dim = images.recordSize(), nc = numClasses;
    boolean bytes = pixels;
    JavaRDD<DataBlock> blocks = sc.parallelize(ranges, parts).map(r -> {
      int[] y = labels.readLabels(r[0], r[1], nc, hc.get());
      long[] rows = new long[r[1] - r[0]];
      for (int i = 0; i < rows.length; i++) rows[i] = r[0] + i + 1;  // 1-based, like the line numbers of text sources
      if (bytes) return DataBlock.ofPixels(rows.length, dim, images.readPixels(r[0], r[1], hc.get()), y, rows);
      return new DataBlock(rows.length, dim, images.readImages(r[0], r[1], hc.get()), y, rows);
    });
    return new Examples(blocks, dim, src.features());
  }

  private Examples libsvm(Source src) {
    String path = src.features();
    int nc = numClasses;
    JavaRDD<Parsed> parsed = sc.textFile(path, partitions).zipWithIndex().rdd().toJavaRDD()
        .filter(t -> !LibsvmLine.isBlank(t._1()))
        .map(t -> {
          LibsvmLine l = LibsvmLine.parse(t._1(), path, t._2() + 1, nc);
          return new Parsed(t._2() + 1, l.label(), l.indices(), l.values());
        });
    sc.setJobDescription("load " + path + " · feature dimension");
    int dim = parsed.map(r -> r.indices().length == 0 ? 0 : r.indices()[r.indices().length - 1]).fold(0, Math::max);
    if (dim == 0) throw new UserError(path + ": no examples");
    return new Examples(blocksByRow(parsed, dim, path), dim, path);
  }

  private Examples dataFrame(Source src) {
    String path = src.features();
    Dataset<Row> df = src.format().equals("csv")
        ? spark.read().option("header", "true").option("inferSchema", "true").csv(path)
        : spark.read().format(src.format()).load(path);
    return dataFrame(df, path, src.featuresCol(), src.labelCol(), src.format().equals("csv"));
  }

  /**
   * The examples of a DataFrame: a vector or numeric-array features column and a numeric label column, in row
   * order; name stands for the frame in error messages. Without the features column, a CSV's other numeric
   * columns (allColumns) are the features.
   */
  Examples dataFrame(Dataset<Row> df, String name, String featuresCol, String label, boolean allColumns) {
    String path = name;
    if (!Arrays.asList(df.columns()).contains(label)) {
      throw new UserError(path + ": no label column '" + label + "' (data.label_col; columns: "
          + String.join(", ", df.columns()) + ")");
    }
    Column features;
    if (Arrays.asList(df.columns()).contains(featuresCol)) {
      features = df.col(featuresCol);
    } else if (allColumns) {
      List<Column> cols = new ArrayList<>();
      for (StructField f : df.schema().fields()) {
        if (f.name().equals(label)) continue;
        if (!(f.dataType() instanceof NumericType)) {
          throw new UserError(path + ": column '" + f.name() + "' is not numeric (" + f.dataType().simpleString() + ")");
        }
        cols.add(df.col(f.name()).cast("double"));
      }
      features = functions.array(cols.toArray(new Column[0]));
    } else {
      throw new UserError(path + ": no features column '" + featuresCol + "' (data.features_col)");
    }
    Dataset<Row> sel = df.select(features.as("f"), df.col(label).cast("double").as("y"));
    DataType ft = sel.schema().fields()[0].dataType();
    boolean binary = ft instanceof org.apache.spark.sql.types.BinaryType;
    if (!(ft instanceof ArrayType) && !ft.typeName().equals("vector") && !binary) {
      throw new UserError(path + ": features column '" + featuresCol + "' is " + ft.simpleString()
          + ", expected a vector, an array of numbers, or binary (image bytes)");
    }
    if (pixels && !binary) {
      throw new UserError(path + ": data.pixel_type = uint8 needs the features column '" + featuresCol
          + "' as binary image bytes, not " + ft.simpleString());
    }
    int nc = numClasses;
    JavaRDD<Parsed> parsed = sel.javaRDD().zipWithIndex().rdd().toJavaRDD().map(t -> {
      long row = t._2() + 1;
      int y = LibsvmLine.classLabel(t._1().isNullAt(1) ? Double.NaN : t._1().getDouble(1), path, row, nc);
      if (binary) {
        if (t._1().isNullAt(0)) throw new UserError(path + ": row " + row + ": missing features");
        return new Parsed(row, y, null, null, (byte[]) t._1().get(0));
      }
      return new Parsed(row, y, null, toFloats(t._1().get(0), path, row), null);
    });
    sc.setJobDescription("load " + path + " · feature dimension");
    Parsed first = parsed.first();
    int dim = binary ? first.pixels().length : first.values().length;
    return new Examples(blocksByRow(parsed, dim, path), dim, path);
  }

  /**
   * One parsed example: sparse (1-based indices) when indices is non-null, dense values, or image bytes (a binary
   * column; pixels, 0–255 standing for 0–1 as in IDX files).
   */
  record Parsed(long row, int label, int[] indices, float[] values, byte[] pixels) implements java.io.Serializable {
    Parsed(long row, int label, int[] indices, float[] values) {
      this(row, label, indices, values, null);
    }

    int width() {
      return pixels != null ? pixels.length : values.length;
    }
  }

  /**
   * Exactly `partitions` blocks of contiguous source rows, whatever partitioning the source had: a range
   * partitioner on the row number, then rows sorted within each partition, so the result is deterministic.
   */
  private JavaRDD<DataBlock> blocksByRow(JavaRDD<Parsed> parsed, int dim, String path) {
    sc.setJobDescription("load " + path + " · count and row range");
    // one pass: {count, first row, last row}
    long[] range = parsed.map(r -> new long[] {1, r.row(), r.row()}).fold(new long[] {0, Long.MAX_VALUE, 0},
        (a, b) -> new long[] {a[0] + b[0], Math.min(a[1], b[1]), Math.max(a[2], b[2])});
    long n = range[0];
    if (n == 0) throw new UserError(path + ": no examples");
    int parts = (int) Math.min(partitions, n);
    long first = range[1], last = range[2];
    long span = last - first + 1;
    boolean bytes = pixels;
    return parsed.mapToPair(r -> new Tuple2<>(r.row(), r))
        .partitionBy(new RowRangePartitioner(parts, first, span))
        .mapPartitions(it -> {
          List<Parsed> rows = new ArrayList<>();
          it.forEachRemaining(t -> rows.add(t._2()));
          rows.sort(java.util.Comparator.comparingLong(Parsed::row));
          if (bytes) return List.of(pixelBlock(rows, dim, path)).iterator();
          float[] x = new float[Math.multiplyExact(rows.size(), dim)];
          int[] y = new int[rows.size()];
          long[] ids = new long[rows.size()];
          for (int i = 0; i < rows.size(); i++) {
            Parsed r = rows.get(i);
            if (r.indices() != null) {
              for (int j = 0; j < r.indices().length; j++) x[i * dim + r.indices()[j] - 1] = r.values()[j];
            } else if (r.width() != dim) {
              throw new UserError(path + ": row " + r.row() + ": " + r.width() + " features, but the first row has " + dim);
            } else if (r.pixels() != null) {
              for (int j = 0; j < dim; j++) x[i * dim + j] = DataBlock.pixel(r.pixels()[j]);
            } else {
              System.arraycopy(r.values(), 0, x, i * dim, dim);
            }
            y[i] = r.label();
            ids[i] = r.row();
          }
          return List.of(new DataBlock(rows.size(), dim, x, y, ids)).iterator();
        });
  }

  /** A uint8 block of rows of image bytes, sorted by row. */
  private static DataBlock pixelBlock(List<Parsed> rows, int dim, String path) {
    byte[] px = new byte[Math.multiplyExact(rows.size(), dim)];
    int[] y = new int[rows.size()];
    long[] ids = new long[rows.size()];
    for (int i = 0; i < rows.size(); i++) {
      Parsed r = rows.get(i);
      if (r.width() != dim) {
        throw new UserError(path + ": row " + r.row() + ": " + r.width() + " bytes, but the first row has " + dim);
      }
      System.arraycopy(r.pixels(), 0, px, i * dim, dim);
      y[i] = r.label();
      ids[i] = r.row();
    }
    return DataBlock.ofPixels(rows.size(), dim, px, y, ids);
  }

  /** Partition p holds the rows [first + p·span/P, first + (p+1)·span/P). */
  static final class RowRangePartitioner extends org.apache.spark.Partitioner {
    private static final long serialVersionUID = 1L;
    private final int parts;
    private final long first;
    private final long span;

    RowRangePartitioner(int parts, long first, long span) {
      this.parts = parts;
      this.first = first;
      this.span = span;
    }

    @Override public int numPartitions() { return parts; }

    @Override public int getPartition(Object key) {
      return (int) Math.min(parts - 1, (((Long) key) - first) * parts / span);
    }

    @Override public boolean equals(Object o) {
      return o instanceof RowRangePartitioner r && r.parts == parts && r.first == first && r.span == span;
    }

    @Override public int hashCode() { return java.util.Objects.hash(parts, first, span); }
  }

  private static float[] toFloats(Object value, String path, long row) {
    if (value == null) throw new UserError(path + ": row " + row + ": missing features");
    if (value instanceof Vector v) {
      double[] d = v.toArray();
      float[] f = new float[d.length];
      for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
      return f;
    }
    if (value instanceof scala.collection.Seq<?> seq) {
      float[] f = new float[seq.size()];
      for (int i = 0; i < f.length; i++) {
        Object o = seq.apply(i);
        if (!(o instanceof Number num)) throw new UserError(path + ": row " + row + ": feature " + i + " is missing");
        f[i] = num.floatValue();
      }
      return f;
    }
    throw new UserError(path + ": row " + row + ": unsupported features value " + value.getClass().getSimpleName());
  }
}
