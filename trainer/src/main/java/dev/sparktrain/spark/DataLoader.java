package dev.sparktrain.spark;

import dev.sparktrain.UserError;
import dev.sparktrain.data.DataBlock;
import dev.sparktrain.data.IdxFile;
import dev.sparktrain.data.LibsvmLine;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
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
      for (int i = 0; i < rows.length; i++) rows[i] = r[0] + i;
      return new DataBlock(rows.length, dim, x, y, rows);
    });
    return new Examples(blocks, dim, src.features());
  }

  private Examples libsvm(Source src) {
    String path = src.features();
    JavaRDD<String> lines = sc.textFile(path, partitions);
    if (lines.getNumPartitions() > partitions) lines = lines.coalesce(partitions);
    JavaRDD<Tuple2<String, Long>> numbered = lines.zipWithIndex().rdd().toJavaRDD().filter(t -> !LibsvmLine.isBlank(t._1()));
    int nc = numClasses;
    sc.setJobDescription("load " + path + " · feature dimension");
    int dim = numbered.map(t -> LibsvmLine.parse(t._1(), path, t._2() + 1, nc).maxIndex())
        .fold(0, Math::max);
    if (dim == 0) throw new UserError(path + ": no examples");
    JavaRDD<DataBlock> blocks = numbered.mapPartitions(it -> {
      List<LibsvmLine> rows = new ArrayList<>();
      List<Long> ids = new ArrayList<>();
      while (it.hasNext()) {
        Tuple2<String, Long> t = it.next();
        rows.add(LibsvmLine.parse(t._1(), path, t._2() + 1, nc));
        ids.add(t._2() + 1);
      }
      float[] x = new float[rows.size() * dim];
      int[] y = new int[rows.size()];
      long[] r = new long[rows.size()];
      for (int i = 0; i < rows.size(); i++) {
        rows.get(i).scatter(x, i * dim, dim);
        y[i] = rows.get(i).label();
        r[i] = ids.get(i);
      }
      return List.of(new DataBlock(rows.size(), dim, x, y, r)).iterator();
    });
    return new Examples(blocks, dim, path);
  }

  private Examples dataFrame(Source src) {
    String path = src.features();
    Dataset<Row> df = src.format().equals("csv")
        ? spark.read().option("header", "true").option("inferSchema", "true").csv(path)
        : spark.read().format(src.format()).load(path);
    String label = src.labelCol();
    if (!Arrays.asList(df.columns()).contains(label)) {
      throw new UserError(path + ": no label column '" + label + "' (data.label_col; columns: "
          + String.join(", ", df.columns()) + ")");
    }
    Column features;
    if (Arrays.asList(df.columns()).contains(src.featuresCol())) {
      features = df.col(src.featuresCol());
    } else if (src.format().equals("csv")) {
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
      throw new UserError(path + ": no features column '" + src.featuresCol() + "' (data.features_col)");
    }
    Dataset<Row> sel = df.select(features.as("f"), df.col(label).cast("double").as("y"));
    DataType ft = sel.schema().fields()[0].dataType();
    if (!(ft instanceof ArrayType) && !ft.typeName().equals("vector")) {
      throw new UserError(path + ": features column '" + src.featuresCol() + "' is " + ft.simpleString()
          + ", expected a vector or an array of numbers");
    }
    JavaRDD<Row> rows = sel.javaRDD();
    if (rows.getNumPartitions() > partitions) rows = rows.coalesce(partitions);
    JavaRDD<Tuple2<Row, Long>> numbered = rows.zipWithIndex().rdd().toJavaRDD();
    sc.setJobDescription("load " + path + " · feature dimension");
    Tuple2<Row, Long> first = numbered.first();
    int dim = toFloats(first._1().get(0), path, 1).length;
    int nc = numClasses;
    JavaRDD<DataBlock> blocks = numbered.mapPartitions((Iterator<Tuple2<Row, Long>> it) -> {
      List<float[]> xs = new ArrayList<>();
      List<Integer> ys = new ArrayList<>();
      List<Long> ids = new ArrayList<>();
      while (it.hasNext()) {
        Tuple2<Row, Long> t = it.next();
        long row = t._2() + 1;
        float[] x = toFloats(t._1().get(0), path, row);
        if (x.length != dim) {
          throw new UserError(path + ": row " + row + ": " + x.length + " features, but row 1 has " + dim);
        }
        xs.add(x);
        ys.add(LibsvmLine.classLabel(t._1().isNullAt(1) ? Double.NaN : t._1().getDouble(1), path, row, nc));
        ids.add(row);
      }
      float[] x = new float[xs.size() * dim];
      int[] y = new int[xs.size()];
      long[] r = new long[xs.size()];
      for (int i = 0; i < xs.size(); i++) {
        System.arraycopy(xs.get(i), 0, x, i * dim, dim);
        y[i] = ys.get(i);
        r[i] = ids.get(i);
      }
      return List.of(new DataBlock(xs.size(), dim, x, y, r)).iterator();
    });
    return new Examples(blocks, dim, path);
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
