package dev.sparktrain.spark.ml;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktrain.data.IdxFile;
import dev.sparktrain.testing.CliRun;
import dev.sparktrain.testing.SparkFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator;
import org.apache.spark.ml.feature.StandardScaler;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.tuning.CrossValidator;
import org.apache.spark.ml.tuning.CrossValidatorModel;
import org.apache.spark.ml.tuning.ParamGridBuilder;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The spark.ml API on Fashion-MNIST read as DataFrames (features: a Vector of 784 pixels in [0, 1], label: a
 * double): in a Pipeline, saved and loaded; under CrossValidator; with bad params; against the CLI.
 */
class NeuralNetClassifierTest {
  private static final String FASHION = "/usr/share/datasets/fashion-mnist/";
  private static final String SMALL = "model.layers = dense(64), relu, dropout(0.2), dense(10)\n"
      + "optimizer.name = adam\noptimizer.learning_rate = 0.002\ntrain.epochs = 2\ntrain.batch_size = 64\n";
  static SparkSession spark;
  @TempDir Path dir;

  @BeforeAll
  static void start() {
    SparkFixture.stopAll();
    spark = SparkFixture.local2();
  }

  @AfterAll
  static void stop() {
    SparkFixture.stopAll();
  }

  /** Rows [from, to) of a Fashion-MNIST IDX pair as (features, label), read on the executors, in `parts` partitions. */
  static Dataset<Row> fashion(String images, String labels, int from, int to, int parts) {
    String img = FASHION + images, lab = FASHION + labels;
    List<int[]> ranges = new ArrayList<>();
    for (int p = 0; p < parts; p++) ranges.add(new int[] {from + (to - from) * p / parts, from + (to - from) * (p + 1) / parts});
    var rows = JavaSparkContext.fromSparkContext(spark.sparkContext()).parallelize(ranges, parts).flatMap(r -> {
      Configuration conf = new Configuration();
      IdxFile fi = IdxFile.open(img, 3, conf), fl = IdxFile.open(lab, 1, conf);
      float[] x = fi.readImages(r[0], r[1], conf);
      int[] y = fl.readLabels(r[0], r[1], 10, conf);
      int d = fi.recordSize();
      List<Row> out = new ArrayList<>();
      for (int i = 0; i < y.length; i++) {
        double[] v = new double[d];
        for (int j = 0; j < d; j++) v[j] = x[i * d + j];
        out.add(RowFactory.create(Vectors.dense(v), (double) y[i]));
      }
      return out.iterator();
    });
    StructType schema = new StructType(new StructField[] {
        new StructField("pixels", SQLDataTypes.VectorType(), false, Metadata.empty()),
        new StructField("label", DataTypes.DoubleType, false, Metadata.empty())});
    return spark.createDataFrame(rows, schema);
  }

  static Dataset<Row> train(int from, int to) {
    return fashion("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", from, to, 2);
  }

  static Dataset<Row> test(int from, int to, int parts) {
    return fashion("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", from, to, parts);
  }

  private static List<Double> column(Dataset<Row> df, String name) {
    return df.select(name).collectAsList().stream().map(r -> r.getDouble(0)).collect(Collectors.toList());
  }

  @Test
  void aPipelineFitsSavesAndLoadsWithIdenticalPredictions() throws Exception {
    NeuralNetClassifier nn = new NeuralNetClassifier().setConfig(SMALL).setFeaturesCol("scaled").setSeed(7);
    Pipeline pipeline = new Pipeline().setStages(new PipelineStage[] {
        new VectorAssembler().setInputCols(new String[] {"pixels"}).setOutputCol("assembled"),
        new StandardScaler().setInputCol("assembled").setOutputCol("scaled").setWithMean(true),
        nn});
    PipelineModel fitted = pipeline.fit(train(0, 3000));
    Dataset<Row> t = test(0, 2000, 2);
    Dataset<Row> before = fitted.transform(t);
    String path = dir.resolve("pipeline").toString();
    fitted.write().overwrite().save(path);
    assertTrue(Files.exists(dir.resolve("pipeline/stages")), "Spark's pipeline layout");
    try (Stream<Path> files = Files.walk(dir.resolve("pipeline/stages"))) {
      assertTrue(files.anyMatch(p -> p.toString().endsWith("data/model.stm")), "the network is saved as a tensor file");
    }
    PipelineModel loaded = PipelineModel.load(path);
    Dataset<Row> after = loaded.transform(t);
    assertEquals(column(before, "prediction"), column(after, "prediction"));
    List<Row> pa = before.select("probability").collectAsList(), pb = after.select("probability").collectAsList();
    for (int i = 0; i < pa.size(); i++) {
      assertArrayEquals(((Vector) pa.get(i).get(0)).toArray(), ((Vector) pb.get(i).get(0)).toArray(), 0.0, "row " + i);
    }
    double acc = new MulticlassClassificationEvaluator().setMetricName("accuracy").evaluate(after);
    assertTrue(acc > 0.7, "a 2-epoch mlp on 3,000 images: test accuracy " + acc);
    NeuralNetClassificationModel m = (NeuralNetClassificationModel) loaded.stages()[2];
    assertEquals(nn.uid(), m.uid());
    assertEquals("scaled", m.getFeaturesCol());
    assertEquals(10, m.numClasses());
    assertEquals(784, m.numFeatures());
    // the single-row path (predictRaw, then raw2probability) agrees with the batched transform
    Row first = after.select("scaled", "prediction").first();
    assertEquals(first.getDouble(1), m.predict((Vector) first.get(0)));
  }

  @Test
  void crossValidatorSearchesAGridInParallelAndReturnsTheBestModel() {
    NeuralNetClassifier nn = new NeuralNetClassifier().setConfig(SMALL).setFeaturesCol("pixels").setEpochs(1);
    ParamMap[] grid = new ParamGridBuilder()
        .addGrid(nn.learningRate(), new double[] {0.002, 1e-5})
        .addGrid(nn.dropout(), new double[] {0.0, 0.3})
        .build();
    CrossValidator cv = new CrossValidator().setEstimator(nn).setEstimatorParamMaps(grid).setNumFolds(2)
        .setEvaluator(new MulticlassClassificationEvaluator().setMetricName("accuracy")).setParallelism(2).setSeed(3);
    CrossValidatorModel best = cv.fit(train(0, 2000));
    double[] metrics = best.avgMetrics();
    assertEquals(4, metrics.length);
    System.err.println("cross-validation: " + Arrays.toString(metrics));
    int argmax = 0;
    for (int i = 1; i < 4; i++) if (metrics[i] > metrics[argmax]) argmax = i;
    double lr = (double) grid[argmax].apply(nn.learningRate());
    assertEquals(0.002, lr, "the grid's sensible learning rate wins over 1e-5: " + Arrays.toString(metrics));
    NeuralNetClassificationModel m = (NeuralNetClassificationModel) best.bestModel();
    assertEquals(10, m.numClasses());
    double acc = new MulticlassClassificationEvaluator().setMetricName("accuracy").evaluate(m.transform(test(0, 1000, 2)));
    assertTrue(acc > 0.6, "the best model's test accuracy " + acc);
  }

  @Test
  void badParamsFailNamingTheParamOrTheColumn() {
    NeuralNetClassifier nn = new NeuralNetClassifier();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> nn.setDropout(-0.1));
    assertTrue(e.getMessage().contains("parameter dropout given invalid value -0.1"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> nn.setOptimizer("adamax"));
    assertTrue(e.getMessage().contains("parameter optimizer given invalid value adamax"), e.getMessage());
    Dataset<Row> small = train(0, 200);
    e = assertThrows(IllegalArgumentException.class,
        () -> new NeuralNetClassifier().setFeaturesCol("pixels").setConfig("optimizer.name = adamax").fit(small));
    assertTrue(e.getMessage().contains("optimizer.name = adamax: unknown optimizer"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> new NeuralNetClassifier().setFeaturesCol("pixels")
        .setConfig("model.layers = dense(32), relu, dropout(-0.1), dense(10)").fit(small));  // the same, at fit
    assertTrue(e.getMessage().contains("model.layers") && e.getMessage().contains("-0.1"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> new NeuralNetClassifier().setFeaturesCol("pixels").setImageShape("1x20x20").fit(small));
    assertTrue(e.getMessage().contains("featuresCol 'pixels' has 784 values per row, but imageShape 1x20x20 needs 400"),
        e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> new NeuralNetClassifier().setFeaturesCol("pixels").setLayers("dense(32), relu, dense(4)").fit(small));
    assertTrue(e.getMessage().contains("parameter layers") && e.getMessage().contains("labelCol 'label' has 10 classes"),
        e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> new NeuralNetClassifier().setFeaturesCol("pixels").setDropout(0.3).setLayers("dense(32), relu, dense(10)").fit(small));
    assertTrue(e.getMessage().contains("parameter dropout = 0.3: the network has no dropout layer"), e.getMessage());
    Dataset<Row> negative = small.withColumn("label", small.col("label").minus(1));
    e = assertThrows(IllegalArgumentException.class, () -> new NeuralNetClassifier().setFeaturesCol("pixels").fit(negative));
    assertTrue(e.getMessage().contains("labelCol 'label'") && e.getMessage().contains("-1.0"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> new NeuralNetClassifier().fit(small));
    assertTrue(e.getMessage().contains("features"), e.getMessage());  // Spark's own schema check names the column
  }

  /** initialModel fine-tunes a saved network: with finetune.freeze_until = -1 only the new head trains. */
  @Test
  void aSavedNetworkIsFineTunedWithItsLayersFrozen() throws Exception {
    NeuralNetClassificationModel base = new NeuralNetClassifier().setConfig(SMALL).setFeaturesCol("pixels")
        .setEpochs(1).fit(train(0, 1000));
    String saved = dir.resolve("base").toString();
    base.write().save(saved);
    NeuralNetClassificationModel tuned = new NeuralNetClassifier().setConfig(SMALL + "finetune.freeze_until = -1\n")
        .setFeaturesCol("pixels").setEpochs(1).setInitialModel(saved + "/data/model.stm").fit(train(1000, 1500));
    float[] a = base.parameters(), b = tuned.parameters();
    assertEquals(a.length, b.length);
    int head = 64 * 10 + 10;  // dense(10) after dense(64): the only layer that trains
    assertArrayEquals(Arrays.copyOf(a, a.length - head), Arrays.copyOf(b, b.length - head), "frozen layers unchanged");
    assertTrue(!Arrays.equals(Arrays.copyOfRange(a, a.length - head, a.length), Arrays.copyOfRange(b, b.length - head, b.length)),
        "the head trained");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new NeuralNetClassifier()
        .setFeaturesCol("pixels").setInitialModel(dir.resolve("nothing.stm").toString()).fit(train(0, 100)));
    assertTrue(e.getMessage().contains("parameter initialModel") && e.getMessage().contains("nothing.stm"), e.getMessage());
  }

  /**
   * numMembers trains an ensemble as the ensemble command does, over one cached copy: member i is the single fit
   * with init and order seed + i, bit for bit, and the model averages the members' probabilities; saved and
   * loaded, it predicts the same.
   */
  @Test
  void anEnsembleOfTwoIsTheMeanOfItsMembersAndSurvivesSaveAndLoad() throws Exception {
    Dataset<Row> data = train(0, 1000);
    NeuralNetClassificationModel ensemble = new NeuralNetClassifier().setConfig(SMALL).setFeaturesCol("pixels")
        .setEpochs(1).setNumMembers(2).fit(data);
    assertEquals(2, ensemble.numMembers());
    NeuralNetClassificationModel[] single = new NeuralNetClassificationModel[2];
    for (int i = 0; i < 2; i++) {
      single[i] = new NeuralNetClassifier().setConfig(SMALL + "train.init_seed = " + (42 + i) + "\ntrain.order_seed = "
          + (42 + i) + "\n").setFeaturesCol("pixels").setEpochs(1).fit(data);
      assertArrayEquals(single[i].parameters(), ensemble.memberParameters(i), "member " + i + " vs its single fit");
    }
    Dataset<Row> t = test(0, 500, 2);
    List<Row> e = ensemble.transform(t).select("probability").collectAsList();
    List<Row> a = single[0].transform(t).select("probability").collectAsList();
    List<Row> b = single[1].transform(t).select("probability").collectAsList();
    for (int r = 0; r < e.size(); r++) {
      double[] pe = ((Vector) e.get(r).get(0)).toArray(), pa = ((Vector) a.get(r).get(0)).toArray(),
          pb = ((Vector) b.get(r).get(0)).toArray();
      for (int j = 0; j < 10; j++) assertEquals((pa[j] + pb[j]) / 2, pe[j], 1e-6, "row " + r + " class " + j);
    }
    String saved = dir.resolve("ensemble").toString();
    ensemble.write().save(saved);
    assertTrue(Files.exists(dir.resolve("ensemble/data/member-1.stm")));
    NeuralNetClassificationModel loaded = NeuralNetClassificationModel.load(saved);
    assertEquals(2, loaded.numMembers());
    assertEquals(column(ensemble.transform(t), "prediction"), column(loaded.transform(t), "prediction"));
  }

  /** The reader checks the class and the format version before it loads the network. */
  @Test
  void aModelWhoseMetadataWasChangedIsRefused() throws Exception {
    Path metrics = dir.resolve("fit.jsonl");
    NeuralNetClassificationModel m = new NeuralNetClassifier().setConfig(SMALL).setFeaturesCol("pixels").setEpochs(1)
        .setMetricsPath(metrics.toString()).fit(train(0, 300));
    List<String> lines = Files.readAllLines(metrics);  // the fit's metrics file: start, each step, the epoch, end
    var json = new com.fasterxml.jackson.databind.ObjectMapper();
    List<String> types = new ArrayList<>();
    for (String l : lines) types.add(json.readTree(l).get("type").asText());
    assertEquals("start", types.get(0));
    assertEquals("end", types.get(types.size() - 1));
    assertEquals(1, types.stream().filter("epoch"::equals).count(), types.toString());
    assertEquals((270 + 63) / 64, types.stream().filter("step"::equals).count(), "270 training rows in batches of 64");
    assertEquals(m.uid(), json.readTree(lines.get(lines.size() - 1)).get("result").get("uid").asText());
    for (String[] change : new String[][] {
        {"\"class\":\"dev.sparktrain.spark.ml.NeuralNetClassificationModel\"", "\"class\":\"org.example.Other\"", "class org.example.Other"},
        {"\"formatVersion\":1", "\"formatVersion\":2", "version 2"}}) {
      Path saved = dir.resolve("m-" + change[2].hashCode());
      m.write().save(saved.toString());
      Path meta = saved.resolve("metadata/part-00000");
      String text = Files.readString(meta);
      assertTrue(text.contains(change[0]), text);
      Files.writeString(meta, text.replace(change[0], change[1]));
      Files.deleteIfExists(saved.resolve("metadata/.part-00000.crc"));
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> NeuralNetClassificationModel.load(saved.toString()));
      assertTrue(e.getMessage().contains(change[2]), e.getMessage());
    }
  }

  /**
   * The estimator configured by conf/fashion-mlp.conf (1 epoch) trains the CLI's model: the same test accuracy
   * to the last digit; on 10,000 test rows in 4 partitions its transform returns every row in order, with the
   * predictions of scripts/predict on the saved model.
   */
  @Test
  void theEstimatorTrainsTheClisModelAndPredictsAsScriptsPredict() throws Exception {
    Path conf = CliRun.repoRoot().resolve("conf/fashion-mlp.conf");
    String text = Files.readString(conf);
    Path cliModel = dir.resolve("cli.stm");
    SparkFixture.stopAll();
    CliRun.Result cli = CliRun.inProcess("train", conf.toString(), "train.epochs=1", "model.path=" + cliModel,
        "predict.tta=none", "spark.master=local[2]", "spark.ui.enabled=false");
    assertEquals(0, cli.exitCode(), cli.toString());
    double cliAccuracy = cli.json().get("test_accuracy").asDouble();
    SparkFixture.stopAll();
    spark = SparkFixture.local2();
    NeuralNetClassificationModel m = new NeuralNetClassifier().setConfig(text).setEpochs(1).setFeaturesCol("pixels")
        .fit(train(0, 60000));
    Dataset<Row> t = test(0, 10000, 4);
    assertEquals(4, t.rdd().getNumPartitions());
    List<Row> out = m.transform(t).select("label", "prediction").collectAsList();
    assertEquals(10000, out.size());
    List<Double> labels = column(t, "label");
    long correct = 0;
    for (int i = 0; i < out.size(); i++) {
      assertEquals(labels.get(i), out.get(i).getDouble(0), "row " + i + " in its place");
      if (out.get(i).getDouble(0) == out.get(i).getDouble(1)) correct++;
    }
    double accuracy = correct / 10000.0;
    System.err.printf("estimator test accuracy %.4f, CLI %.4f%n", accuracy, cliAccuracy);
    assertEquals(String.format("%.4f", cliAccuracy), String.format("%.4f", accuracy));
    assertEquals(cliAccuracy, accuracy, 1e-12);
    // scripts/predict on the estimator's saved network
    String saved = dir.resolve("estimator").toString();
    m.write().save(saved);
    SparkFixture.stopAll();
    Path predictions = dir.resolve("predictions");
    CliRun.Result p = CliRun.inProcess("predict", conf.toString(), "model.path=" + saved + "/data/model.stm",
        "predict.output=" + predictions, "predict.tta=none", "spark.master=local[2]", "spark.ui.enabled=false");
    assertEquals(0, p.exitCode(), p.toString());
    Map<Long, Double> byRow = new TreeMap<>();
    try (Stream<Path> parts = Files.list(predictions)) {
      for (Path part : parts.filter(f -> f.getFileName().toString().startsWith("part-")).toList()) {
        for (String line : Files.readAllLines(part)) {
          if (line.isBlank() || line.startsWith("row")) continue;
          String[] f = line.split(",");
          byRow.put(Long.parseLong(f[0]), Double.parseDouble(f[2]));
        }
      }
    }
    assertEquals(10000, byRow.size());
    List<Double> cliPredictions = new ArrayList<>(byRow.values());
    for (int i = 0; i < 10000; i++) assertEquals(cliPredictions.get(i), out.get(i).getDouble(1), "row " + (i + 1));
    spark = SparkFixture.local2();
  }
}
