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

  DataLoader(SparkSession spark, int numClasses, int partitions) {
    this.spark = spark;
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
    JavaRDD<DataBlock> blocks = sc.parallelize(ranges, parts).map(r -> {
      float[] x = images.readImages(r[0], r[1], hc.get());
      int[] y = labels.readLabels(r[0], r[1], nc, hc.get());
      long[] rows = new long[r[1] - r[0]];
      for (int i = 0; i < rows.length; i++) rows[i] = r[0] + i + 1;  // 1-based, like the line numbers of text sources
      return new DataBlock(rows.length, dim, x, y, rows);
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
    if (!(ft instanceof ArrayType) && !ft.typeName().equals("vector")) {
      throw new UserError(path + ": features column '" + featuresCol + "' is " + ft.simpleString()
          + ", expected a vector or an array of numbers");
    }
    int nc = numClasses;
    JavaRDD<Parsed> parsed = sel.javaRDD().zipWithIndex().rdd().toJavaRDD().map(t -> {
      long row = t._2() + 1;
      float[] x = toFloats(t._1().get(0), path, row);
      int y = LibsvmLine.classLabel(t._1().isNullAt(1) ? Double.NaN : t._1().getDouble(1), path, row, nc);
      return new Parsed(row, y, null, x);
    });
    sc.setJobDescription("load " + path + " · feature dimension");
    int dim = parsed.first().values().length;
    return new Examples(blocksByRow(parsed, dim, path), dim, path);
  }

  /** One parsed example: sparse (1-based indices) when indices is non-null, else dense values. */
  record Parsed(long row, int label, int[] indices, float[] values) implements java.io.Serializable {}

  /**
   * Exactly `partitions` blocks of contiguous source rows, whatever partitioning the source had: a range
   * partitioner on the row number, then rows sorted within each partition, so the result is deterministic.
   */
  private JavaRDD<DataBlock> blocksByRow(JavaRDD<Parsed> parsed, int dim, String path) {
    sc.setJobDescription("load " + path + " · count");
    long n = parsed.count();
    if (n == 0) throw new UserError(path + ": no examples");
    int parts = (int) Math.min(partitions, n);
    long first = parsed.map(Parsed::row).fold(Long.MAX_VALUE, Math::min), last = parsed.map(Parsed::row).fold(0L, Math::max);
    long span = last - first + 1;
    return parsed.mapToPair(r -> new Tuple2<>(r.row(), r))
        .partitionBy(new RowRangePartitioner(parts, first, span))
        .mapPartitions(it -> {
          List<Parsed> rows = new ArrayList<>();
          it.forEachRemaining(t -> rows.add(t._2()));
          rows.sort(java.util.Comparator.comparingLong(Parsed::row));
          float[] x = new float[Math.multiplyExact(rows.size(), dim)];
          int[] y = new int[rows.size()];
          long[] ids = new long[rows.size()];
          for (int i = 0; i < rows.size(); i++) {
            Parsed r = rows.get(i);
            if (r.indices() != null) {
              for (int j = 0; j < r.indices().length; j++) x[i * dim + r.indices()[j] - 1] = r.values()[j];
            } else if (r.values().length != dim) {
              throw new UserError(path + ": row " + r.row() + ": " + r.values().length + " features, but the first row has " + dim);
            } else {
              System.arraycopy(r.values(), 0, x, i * dim, dim);
            }
            y[i] = r.label();
            ids[i] = r.row();
          }
          return List.of(new DataBlock(rows.size(), dim, x, y, ids)).iterator();
        });
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
