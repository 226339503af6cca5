package dev.sparktrain.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktrain.UserError;
import dev.sparktrain.tensor.Rng;
import dev.sparktrain.testing.CliRun;
import dev.sparktrain.testing.SparkFixture;
import dev.sparktrain.testing.SyntheticImages;
import dev.sparktrain.train.Progress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * make-large-dataset on 50 generated 28×28 images, 3 copies: the schema and rows, copy 0 the source, the other
 * copies its seeded crops and flips (checked against an independent reimplementation), the same bytes whatever the
 * partition count, files in row order, and the outputs it refuses.
 */
class LargeDatasetJobTest {
  private static final int N = 50, COPIES = 3;
  @TempDir Path dir;
  SparkSession spark;
  SyntheticImages source;
  String images, labels;

  @BeforeEach
  void setUp() throws Exception {
    spark = SparkFixture.local2();
    source = new SyntheticImages(N, 28, 10, 5);
    images = dir.resolve("images.gz").toString();
    labels = dir.resolve("labels.gz").toString();
    SyntheticImages.gzip(Path.of(images), source.imagesIdx());
    SyntheticImages.gzip(Path.of(labels), source.labelsIdx());
  }

  private LargeDatasetJob.Options options(String out, long seed, int partitions, boolean overwrite) {
    return new LargeDatasetJob.Options(dir.resolve(out).toString(), COPIES, seed, partitions, 2, overwrite, images, labels);
  }

  private List<Row> rows(String out) {
    return spark.read().parquet(dir.resolve(out).toString()).orderBy("row").collectAsList();
  }

  @Test
  void writesTheCopiesInRowOrder() throws Exception {
    var result = LargeDatasetJob.run(spark, options("one", 1, 3, false), Progress.quiet());
    assertEquals((long) COPIES * N, result.get("rows"));
    assertEquals(3L, result.get("files"));
    assertEquals((long) COPIES * N * 784 * 4, result.get("float32_bytes"));
    assertTrue((long) result.get("bytes") > 0);

    var schema = spark.read().parquet(dir.resolve("one").toString()).schema();
    assertEquals(List.of("row", "image", "label"), Arrays.asList(schema.fieldNames()));
    assertEquals(DataTypes.LongType, schema.apply("row").dataType());
    assertEquals(DataTypes.BinaryType, schema.apply("image").dataType());
    assertEquals(DataTypes.IntegerType, schema.apply("label").dataType());

    List<Row> rows = rows("one");
    assertEquals(COPIES * N, rows.size());
    int[] differing = new int[COPIES];
    for (int r = 0; r < rows.size(); r++) {
      Row row = rows.get(r);
      int copy = r / N, index = r % N;
      assertEquals(r, row.getLong(0));
      assertEquals(source.labels[index], row.getInt(2), "row " + r);
      byte[] image = row.getAs(1), original = Arrays.copyOfRange(source.pixels, index * 784, index * 784 + 784);
      assertEquals(784, image.length);
      if (copy == 0) assertArrayEquals(original, image, "copy 0 is the source, row " + r);
      else assertArrayEquals(expected(original, 1, copy, index), image, "row " + r);
      if (!Arrays.equals(original, image)) differing[copy]++;
    }
    assertEquals(0, differing[0]);
    assertTrue(differing[1] > N * 0.8 && differing[2] > N * 0.8, "augmented copies differ: " + Arrays.toString(differing));
    int sameInBoth = 0;
    for (int i = 0; i < N; i++) if (Arrays.equals((byte[]) rows.get(N + i).getAs(1), (byte[]) rows.get(2 * N + i).getAs(1))) sameInBoth++;
    assertTrue(sameInBoth < N / 5, "copies 1 and 2 differ from each other: " + sameInBoth + " equal images");

    // each file holds a contiguous, ascending run of rows, and the files in name order follow each other
    long next = 0;
    List<Path> files;
    try (Stream<Path> s = Files.list(dir.resolve("one"))) {
      files = s.filter(p -> p.getFileName().toString().endsWith(".parquet")).sorted().toList();
    }
    assertEquals(3, files.size());
    for (Path f : files) {
      for (Row row : spark.read().parquet(f.toString()).collectAsList()) assertEquals(next++, row.getLong(0), f.toString());
    }
    assertEquals(COPIES * N, next);
  }

  /**
   * The documented augmentation, written out independently: dy, dx uniform in [0, 2·pad], then a flip with
   * p = 0.5; out(i, j) = src(i + dy − pad, j' + dx − pad) with j' = 27 − j when flipped, 0 outside.
   */
  private static byte[] expected(byte[] src, long seed, int copy, int index) {
    Rng rng = Rng.derive(seed, Rng.OFFLINE_AUGMENT, copy, index);
    int pad = 2, dy = rng.nextInt(2 * pad + 1), dx = rng.nextInt(2 * pad + 1);
    boolean flip = rng.nextDouble() < 0.5;
    byte[] out = new byte[784];
    for (int i = 0; i < 28; i++) {
      for (int j = 0; j < 28; j++) {
        int si = i + dy - pad, sj = (flip ? 27 - j : j) + dx - pad;
        out[i * 28 + j] = si >= 0 && si < 28 && sj >= 0 && sj < 28 ? src[si * 28 + sj] : 0;
      }
    }
    return out;
  }

  @Test
  void theSameSeedGivesTheSameRowsWithAnyPartitionCount() {
    LargeDatasetJob.run(spark, options("p1", 4, 1, false), Progress.quiet());
    LargeDatasetJob.run(spark, options("p3", 4, 3, false), Progress.quiet());
    LargeDatasetJob.run(spark, options("seed5", 5, 3, false), Progress.quiet());
    List<Row> p1 = rows("p1"), p3 = rows("p3"), other = rows("seed5");
    int differ = 0;
    for (int r = 0; r < p1.size(); r++) {
      assertEquals(p1.get(r).getLong(0), p3.get(r).getLong(0));
      assertArrayEquals((byte[]) p1.get(r).getAs(1), (byte[]) p3.get(r).getAs(1), "row " + r);
      assertEquals(p1.get(r).getInt(2), p3.get(r).getInt(2));
      if (!Arrays.equals((byte[]) p1.get(r).getAs(1), (byte[]) other.get(r).getAs(1))) differ++;
    }
    assertTrue(differ > N, "another seed gives other copies: " + differ + " rows differ");
  }

  @Test
  void refusesAnExistingOutputUnlessTold() throws Exception {
    LargeDatasetJob.run(spark, options("out", 1, 2, false), Progress.quiet());
    UserError e = assertThrows(UserError.class, () -> LargeDatasetJob.run(spark, options("out", 1, 2, false), Progress.quiet()));
    assertEquals(dir.resolve("out") + ": already exists; choose another OUT or pass overwrite=true to replace it", e.getMessage());

    CliRun.inProcess("make-large-dataset", dir.resolve("out").toString(), "copies=3", "images=" + images, "labels=" + labels)
        .assertUserError(dir.resolve("out").toString(), "already exists");
    CliRun.Result r = CliRun.inProcess("make-large-dataset", dir.resolve("out").toString(), "copies=2", "seed=9",
        "images=" + images, "labels=" + labels, "overwrite=true");
    assertEquals(0, r.exitCode(), r.toString());
    assertEquals(2 * N, r.json().get("rows").asInt());
    assertEquals(2 * N, rows("out").size());

    CliRun.inProcess("make-large-dataset", dir.resolve("x").toString(), "copies=0").assertUserError("copies = 0: must be at least 1");
    CliRun.inProcess("make-large-dataset", dir.resolve("x").toString(), "copies=two").assertUserError("copies = two: not an integer");
    CliRun.inProcess("make-large-dataset", dir.resolve("x").toString(), "overwrite=yes").assertUserError("overwrite = yes");
    CliRun.inProcess("make-large-dataset", dir.resolve("x").toString(), "images=" + images)
        .assertUserError("images = " + images, "give both images= and labels=");
    CliRun.inProcess("make-large-dataset", dir.resolve("x").toString(), "images=" + labels, "labels=" + images)
        .assertUserError(labels, "wrong IDX magic number");
    try (Stream<Path> s = Files.list(dir)) {
      List<String> names = s.map(p -> p.getFileName().toString()).toList();
      assertFalse(names.contains("x"), "nothing written for bad input: " + names);
      assertTrue(names.stream().noneMatch(n -> n.contains(".tmp-") || n.contains(".old-")), "no leftovers: " + names);
    }
  }
}
