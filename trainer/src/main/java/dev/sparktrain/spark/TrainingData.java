package dev.sparktrain.spark;

import dev.sparktrain.UserError;
import dev.sparktrain.augment.PixelMoments;
import dev.sparktrain.config.TrainConfig;
import dev.sparktrain.data.DataBlock;
import dev.sparktrain.data.FeatureStats;
import dev.sparktrain.nn.Shape;
import dev.sparktrain.train.Progress;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;

/**
 * Training data prepared once and cached on the executors, for any number of {@link Trainer#fit} calls: the
 * training and validation splits as one standardized block per partition, each partition's global offset, the
 * standardizer (fitted on the training split), the input shape, the augmentation statistics (computed on first
 * use), and the test source when the config names one. The validation split is a seeded function of each
 * example's source row, so it does not depend on the partitioning. Close it to release the cached blocks.
 */
public final class TrainingData implements AutoCloseable {
  /**
   * How examples are prepared: the source's classes, partitions, the validation fraction and its seed,
   * standardization; which classes to keep (renumbered in that order; empty: all) and how many training examples of
   * each (0: all; a seeded draw); how the blocks are cached (a Spark storage level, float32 or uint8 pixels); and a
   * standardizer to use instead of fitting one (a pretrained model's, when fine-tuning; null: fit it).
   */
  public record Preparation(int numClasses, int partitions, double validationFraction, String standardize,
                            long splitSeed, List<Integer> classes, int perClass, String storageLevel, String pixelType,
                            FeatureStats.Standardizer fixedStandardizer) {
    public Preparation(int numClasses, int partitions, double validationFraction, String standardize, long splitSeed) {
      this(numClasses, partitions, validationFraction, standardize, splitSeed, List.of(), 0, "memory_only", "float32",
          null);
    }

    public Preparation {
      classes = List.copyOf(classes);
      if (perClass < 0) throw new UserError("data.per_class = " + perClass + ": must be ≥ 0 (0: every example)");
      if (!dev.sparktrain.config.SettingsTable.storageLevels().contains(storageLevel)) {
        throw new UserError("data.storage_level = " + storageLevel + ": expected one of "
            + String.join(", ", dev.sparktrain.config.SettingsTable.storageLevels()));
      }
      if (!dev.sparktrain.config.SettingsTable.pixelTypes().contains(pixelType)) {
        throw new UserError("data.pixel_type = " + pixelType + ": expected one of "
            + String.join(", ", dev.sparktrain.config.SettingsTable.pixelTypes()));
      }
      if (numClasses < 2) throw new UserError("data.num_classes = " + numClasses + ": must be at least 2");
      if (partitions < 1) throw new UserError("data.partitions = " + partitions + ": must be at least 1");
      if (!(validationFraction >= 0 && validationFraction < 1)) {
        throw new UserError("data.validation_fraction = " + validationFraction + ": must be in [0, 1)");
      }
      if (!TrainConfig.Data.STANDARDIZE.contains(standardize)) {
        throw new UserError("data.standardize = " + standardize + ": choose feature, channel or none");
      }
    }

    public static Preparation of(TrainConfig.Data d) {
      return new Preparation(d.numClasses(), d.partitions(), d.validationFraction(), d.standardize(), d.splitSeed(),
          d.classes(), d.perClass(), d.storageLevel(), d.pixelType(), null);
    }

    /** These preparations with the features standardized by s instead of statistics of the training split. */
    public Preparation withStandardizer(FeatureStats.Standardizer s) {
      return new Preparation(numClasses, partitions, validationFraction, standardize, splitSeed, classes, perClass,
          storageLevel, pixelType, s);
    }

    /** The classes a model of these data tells apart. */
    public int modelClasses() {
      return classes.isEmpty() ? numClasses : classes.size();
    }

    StorageLevel level() {
      return StorageLevel.fromString(storageLevel.toUpperCase(Locale.ROOT));
    }

    /** The settings table's defaults (partitions, validation fraction, standardization, seed) for numClasses. */
    public static Preparation defaults(int numClasses) {
      var d = TrainConfig.from(dev.sparktrain.config.Settings.of(java.util.Map.of("data.format", "parquet", "data.train", "DataFrame"))).data();
      return new Preparation(numClasses, d.partitions(), d.validationFraction(), d.standardize(), d.splitSeed());
    }
  }

  private final Examples trainSource;
  private final JavaRDD<DataBlock> train;
  private final JavaRDD<DataBlock> validation;
  private final int[] offsets;
  private final int trainCount;
  private final long validationCount;
  private final Shape shape;
  private final Shape givenShape;
  private final Preparation prep;
  private final FeatureStats.Standardizer standardizer;
  private final DataLoader.Source testSource;
  private final DataLoader loader;
  private Examples test;
  private PixelMoments pixels;

  /** The data a config names (data.*): the training source, split and standardized; data.test, loaded on demand. */
  public static TrainingData load(SparkSession spark, TrainConfig.Data d, Progress progress) {
    return load(spark, d, Preparation.of(d), progress);
  }

  /** As above, prepared as prep says (a fine-tuning's pretrained standardizer, say) rather than as d does. */
  public static TrainingData load(SparkSession spark, TrainConfig.Data d, Preparation prep, Progress progress) {
    Sources sources = Sources.resolve(d, progress);
    DataLoader loader = new DataLoader(spark, d.numClasses(), d.partitions(), prep.pixelType().equals("uint8"));
    return new TrainingData(loader, loader.load(sources.train()), d.shape(), prep, sources.test());
  }

  /**
   * A DataFrame's examples: a vector or numeric-array features column and an integer-valued label column; shape is
   * the CxHxW of image features, or null for flat ones. The frame's row order is the examples' order.
   */
  public static TrainingData from(Dataset<Row> df, String featuresCol, String labelCol, Shape shape, Preparation prep) {
    DataLoader loader = new DataLoader(df.sparkSession(), prep.numClasses(), prep.partitions());
    return new TrainingData(loader, loader.dataFrame(df, "DataFrame", featuresCol, labelCol, false), shape, prep, null);
  }

  /** As above with {@link Preparation#defaults}, the number of classes being the largest label plus one. */
  public static TrainingData from(Dataset<Row> df, String featuresCol, String labelCol, Shape shape) {
    Row max = df.agg(org.apache.spark.sql.functions.max(df.col(labelCol).cast("double"))).first();
    int classes = max.isNullAt(0) ? 2 : Math.max(2, (int) max.getDouble(0) + 1);
    return from(df, featuresCol, labelCol, shape, Preparation.defaults(classes));
  }

  private TrainingData(DataLoader loader, Examples examples, Shape shape, Preparation prep, DataLoader.Source test) {
    if (shape != null && shape.size() != examples.dim()) {
      throw new UserError("data.shape = " + shape + " holds " + shape.size() + " values, but " + examples.source()
          + " has " + examples.dim() + " features per example");
    }
    this.loader = loader;
    this.trainSource = examples;
    this.shape = shape != null ? shape : Shape.flat(examples.dim());
    this.givenShape = shape;
    this.prep = prep;
    this.testSource = test;
    var sc = examples.blocks().context();
    sc.setJobDescription("prepare data · split, statistics, cache");
    long seed = prep.splitSeed();
    double fraction = prep.validationFraction();
    StorageLevel level = prep.level();
    List<Integer> classes = prep.classes();
    JavaRDD<DataBlock> raw = examples.blocks().map(b -> b.withClasses(classes)).persist(level);
    JavaRDD<DataBlock> split = raw.map(b -> b.select(seed, fraction, false));
    JavaRDD<DataBlock> t = null, v = null;
    boolean prepared = false;
    try {  // a bad row fails one of these jobs (a SparkException, thrown unchecked): nothing stays cached
      JavaRDD<DataBlock> trainRaw = prep.perClass() == 0 ? split : fewPerClass(split, prep, examples.source());
      standardizer = prep.fixedStandardizer() != null ? prep.fixedStandardizer()
          : standardizer(trainRaw, examples.dim(), prep.standardize(), this.shape.c());
      if (standardizer.mean().length != examples.dim()) {
        throw new UserError(examples.source() + ": " + examples.dim() + " features, but the given standardization has "
            + standardizer.mean().length);
      }
      var std = standardizer;
      t = trainRaw.map(b -> b.standardized(std)).persist(level);
      v = raw.map(b -> b.select(seed, fraction, true).standardized(std)).persist(level);
      List<Integer> counts = t.map(DataBlock::n).collect();
      validationCount = v.map(b -> (long) b.n()).fold(0L, Long::sum);
      offsets = new int[counts.size()];
      long total = 0;
      for (int p = 0; p < offsets.length; p++) {
        offsets[p] = (int) total;
        total += counts.get(p);
      }
      if (total > Integer.MAX_VALUE) throw new UserError(examples.source() + ": more than 2^31 training examples");
      trainCount = (int) total;
      prepared = true;
    } finally {
      raw.unpersist(false);
      if (!prepared && t != null) t.unpersist(false);
      if (!prepared && v != null) v.unpersist(false);
    }
    train = t;
    validation = v;
  }

  /**
   * The training split cut down to prep.perClass() examples of each class: those whose seeded key (split seed,
   * SUBSET, source row) is among the class's smallest, a draw that depends only on the seed and the source rows.
   */
  private static JavaRDD<DataBlock> fewPerClass(JavaRDD<DataBlock> split, Preparation prep, String source) {
    long seed = prep.splitSeed();
    int classes = prep.modelClasses(), want = prep.perClass();
    List<long[]> keys = split.flatMap(b -> {
      List<long[]> out = new java.util.ArrayList<>(b.n());
      for (int i = 0; i < b.n(); i++) out.add(new long[] {b.y()[i], subsetKey(seed, b.rows()[i]), b.rows()[i]});
      return out.iterator();
    }).collect();  // three longs per training example: 1.4 MB for 60,000
    long[][] cut = new long[classes][];
    List<List<long[]>> byClass = new java.util.ArrayList<>();
    for (int c = 0; c < classes; c++) byClass.add(new java.util.ArrayList<>());
    for (long[] k : keys) byClass.get((int) k[0]).add(k);
    for (int c = 0; c < classes; c++) {
      List<long[]> l = byClass.get(c);
      if (l.size() < want) {
        throw new UserError("data.per_class = " + want + ": class " + c + " of " + source + " has only " + l.size()
            + " training examples");
      }
      l.sort((a, b) -> a[1] != b[1] ? Long.compare(a[1], b[1]) : Long.compare(a[2], b[2]));
      cut[c] = l.get(want - 1);
    }
    return split.map(b -> {
      boolean[] keep = new boolean[b.n()];
      for (int i = 0; i < b.n(); i++) {
        long[] last = cut[b.y()[i]];
        long key = subsetKey(seed, b.rows()[i]);
        keep[i] = key < last[1] || (key == last[1] && b.rows()[i] <= last[2]);
      }
      return b.keep(keep, null);
    });
  }

  private static long subsetKey(long seed, long row) {
    return dev.sparktrain.tensor.Rng.derive(seed, dev.sparktrain.tensor.Rng.SUBSET, row).nextLong();
  }

  private static FeatureStats.Standardizer standardizer(JavaRDD<DataBlock> train, int dim, String how, int channels) {
    if (how.equals("none")) return FeatureStats.Standardizer.identity(dim);
    FeatureStats total = new FeatureStats(dim);
    for (FeatureStats s : train.map(FeatureStats::of).collect()) total.merge(s);  // partition order
    return how.equals("channel") ? total.perChannel(channels) : total.standardizer();
  }

  public int trainCount() { return trainCount; }

  public long validationCount() { return validationCount; }

  public int dim() { return trainSource.dim(); }

  /** The input shape: data.shape, or flat (dim × 1 × 1). */
  public Shape shape() { return shape; }

  /** The classes a model of these data tells apart (data.classes' count, or all of the source's). */
  public int numClasses() { return prep.modelClasses(); }

  /**
   * The data.* settings these data were prepared with, which a fit's saved config must show whatever its own
   * data.* say: classes, partitions, the validation fraction and seed, standardization, and the shape (empty: flat).
   */
  public java.util.Map<String, String> settings() {
    java.util.Map<String, String> m = new java.util.LinkedHashMap<>();
    m.put("data.num_classes", Integer.toString(prep.numClasses()));
    m.put("data.partitions", Integer.toString(prep.partitions()));
    m.put("data.validation_fraction", Double.toString(prep.validationFraction()));
    m.put("data.split_seed", Long.toString(prep.splitSeed()));
    m.put("data.standardize", prep.standardize());
    m.put("data.shape", givenShape == null ? "" : givenShape.toString());
    m.put("data.classes", String.join(", ", prep.classes().stream().map(String::valueOf).toList()));
    m.put("data.per_class", Integer.toString(prep.perClass()));
    return m;
  }

  public int partitions() { return offsets.length; }

  public Preparation preparation() { return prep; }

  public FeatureStats.Standardizer standardizer() { return standardizer; }

  /** Where the training examples came from. */
  public String source() { return trainSource.source(); }

  JavaRDD<DataBlock> train() { return train; }

  /** A cached training partition with its index, as a task that reads several of them sees it. */
  record Part(int partition, DataBlock block) implements java.io.Serializable {}

  /**
   * The cached training partitions read through {@code tasks} tasks: a narrow coalesce of the cached RDD, so the
   * tasks read the cached blocks and nothing is cached again. Each block keeps its partition index, which is what
   * the gradient's fixed summation tree and the minibatch offsets are keyed by: a fit reads the same bits through
   * any number of tasks.
   */
  JavaRDD<Part> trainParts(int tasks) {
    if (tasks < 1) throw new IllegalArgumentException("tasks must be at least 1: " + tasks);
    JavaRDD<Part> parts = train.mapPartitionsWithIndex((p, it) -> java.util.List.of(new Part(p, it.next())).iterator(),
        true);
    return tasks >= partitions() ? parts : parts.coalesce(tasks, false);
  }

  JavaRDD<DataBlock> validation() { return validation; }

  int[] offsets() { return offsets.clone(); }

  /** The test examples the config names (data.test, or the named dataset's), loaded once; empty when none. */
  public synchronized Optional<Examples> test() {
    if (test == null && testSource != null) {
      Examples e = loader.load(testSource);
      List<Integer> classes = prep.classes();
      test = new Examples(e.blocks().map(b -> b.withClasses(classes)).persist(prep.level()), e.dim(), e.source());
    }
    return Optional.ofNullable(test);
  }

  /** The colour moments of every training pixel, for PCA lighting; summed per partition once, in partition order. */
  synchronized PixelMoments pixelMoments(String label) {
    if (pixels == null) {
      JavaSparkContext.fromSparkContext(train.context())
          .setJobDescription(label + "augment · pixel colour covariance for PCA lighting");
      pixels = pixelMoments(train, shape);
    }
    return pixels;
  }

  /** The colour moments of every pixel of every image, summed per partition and merged in partition order. */
  static PixelMoments pixelMoments(JavaRDD<DataBlock> blocks, Shape s) {
    return blocks.map(b -> {
      PixelMoments m = new PixelMoments(s.c());
      float[] row = new float[b.dim()];
      for (int i = 0; i < b.n(); i++) {
        b.copyRow(i, row, 0);
        m.add(row, 0, s.c(), s.h(), s.w());
      }
      return m;
    }).collect().stream().reduce(new PixelMoments(s.c()), PixelMoments::merge);
  }

  @Override
  public synchronized void close() {
    train.unpersist(false);
    validation.unpersist(false);
    if (test != null) test.blocks().unpersist(false);
  }

  @Override
  public String toString() {
    return String.format(Locale.ROOT, "%,d training and %,d validation examples of %d features in %d partitions",
        trainCount, validationCount, dim(), partitions());
  }
}
