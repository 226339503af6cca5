package dev.sparktrain.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.sparktrain.UserError;
import dev.sparktrain.data.DataBlock;
import dev.sparktrain.tensor.Rng;
import dev.sparktrain.testing.SparkFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** LIBSVM, CSV and Parquet sources of the same examples load into the same dense blocks; errors name file and row. */
class DataLoaderTest {
  static final int N = 30, D = 5, K = 3;
  static final float[][] X = new float[N][D];
  static final int[] Y = new int[N];
  @TempDir static Path dir;
  static SparkSession spark;

  @BeforeAll
  static void data() {
    spark = SparkFixture.local2();
    Rng rng = new Rng(3);
    for (int i = 0; i < N; i++) {
      Y[i] = rng.nextInt(K);
      for (int j = 0; j < D; j++) X[i][j] = rng.nextInt(3) == 0 ? 0f : Math.round(rng.nextGaussian() * 100) / 100f;
    }
    X[0][D - 1] = 1.5f;  // the largest LIBSVM index appears
  }

  private static void assertLoadsAllExamples(Examples e) {
    assertEquals(D, e.dim());
    List<DataBlock> blocks = e.blocks().collect();
    assertEquals(2, blocks.size());
    int seen = 0;
    for (DataBlock b : blocks) {
      for (int i = 0; i < b.n(); i++) {
        int row = (int) b.rows()[i] - 1;  // 1-based source rows
        assertEquals(Y[row], b.y()[i], "label of row " + (row + 1));
        float[] x = new float[D];
        System.arraycopy(b.x(), i * D, x, 0, D);
        assertArrayEquals(X[row], x, "features of row " + (row + 1));
        seen++;
      }
    }
    assertEquals(N, seen);
  }

  @Test
  void libsvm() throws Exception {
    StringBuilder s = new StringBuilder("# a comment line\n");
    for (int i = 0; i < N; i++) {
      s.append(Y[i]);
      for (int j = 0; j < D; j++) if (X[i][j] != 0) s.append(' ').append(j + 1).append(':').append(X[i][j]);
      s.append('\n');
    }
    Path p = Files.writeString(dir.resolve("data.libsvm"), s);
    Examples e = new DataLoader(spark, K, 2).load(new DataLoader.Source("libsvm", p.toString(), "", "", ""));
    // rows count lines of the file: the comment is line 1, so example i is line i + 2
    List<DataBlock> blocks = e.blocks().collect();
    List<DataBlock> shifted = new ArrayList<>();
    for (DataBlock b : blocks) {
      long[] r = b.rows().clone();
      for (int i = 0; i < r.length; i++) r[i] -= 1;
      shifted.add(new DataBlock(b.n(), b.dim(), b.x(), b.y(), r));
    }
    assertLoadsAllExamples(new Examples(spark.sparkContext().parallelize(
        scala.jdk.javaapi.CollectionConverters.asScala(shifted).toSeq(), 2,
        scala.reflect.ClassTag$.MODULE$.apply(DataBlock.class)).toJavaRDD(), e.dim(), e.source()));
  }

  @Test
  void libsvmBadLabelNamesFileAndRow() throws Exception {
    Path p = Files.writeString(dir.resolve("bad.libsvm"), "0 1:1\n1 2:1\n7 1:0.5\n");
    Exception e = assertThrows(Exception.class, () -> new DataLoader(spark, K, 2)
        .load(new DataLoader.Source("libsvm", p.toString(), "", "", "")).blocks().count());
    assertEquals(p + ": row 3: label 7.0 out of range [0, 3) (data.num_classes = 3)", UserError.find(e).getMessage());
  }

  @Test
  void csvWithoutFeaturesColumnUsesAllOtherColumns() throws Exception {
    StringBuilder s = new StringBuilder("f1,f2,label,f3,f4,f5\n");
    for (int i = 0; i < N; i++) {
      s.append(X[i][0]).append(',').append(X[i][1]).append(',').append(Y[i]);
      for (int j = 2; j < D; j++) s.append(',').append(X[i][j]);
      s.append('\n');
    }
    Path p = Files.writeString(dir.resolve("data.csv"), s);
    assertLoadsAllExamples(new DataLoader(spark, K, 2).load(new DataLoader.Source("csv", p.toString(), "", "features", "label")));
  }

  @Test
  void parquetWithVectorColumn() {
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < N; i++) {
      double[] v = new double[D];
      for (int j = 0; j < D; j++) v[j] = X[i][j];
      rows.add(RowFactory.create(Vectors.dense(v), (double) Y[i]));
    }
    StructType schema = new StructType().add("features", new VectorUDT()).add("label", DataTypes.DoubleType);
    String path = dir.resolve("data.parquet").toString();
    spark.createDataFrame(rows, schema).coalesce(1).write().parquet(path);
    assertLoadsAllExamples(new DataLoader(spark, K, 2).load(new DataLoader.Source("parquet", path, "", "features", "label")));
    UserError e = assertThrows(UserError.class,
        () -> new DataLoader(spark, K, 2).load(new DataLoader.Source("parquet", path, "", "features", "y")));
    assertEquals(path + ": no label column 'y' (data.label_col; columns: features, label)", e.getMessage());
  }
}
