package dev.sparktrain.config;

import dev.sparktrain.UserError;
import dev.sparktrain.nn.Init;
import dev.sparktrain.nn.LayerSpec;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The resolved configuration of a job. Every default lives here, in {@link #from}, and the shipped
 * {@code conf/} files spell each one out. Records validate in their constructors.
 */
public record TrainConfig(Data data, Model model, Training training, Optimizer optimizer,
                          Predict predict, Map<String, String> spark) {

  /** Where the examples come from and how they are prepared. */
  public record Data(String format, String dataset, String train, String trainLabels, String test,
                     String testLabels, String featuresCol, String labelCol, int numClasses,
                     double validationFraction, boolean standardize, int partitions) {
    public static final List<String> FORMATS = List.of("idx", "libsvm", "parquet", "csv");

    public Data {
      format = format.toLowerCase(Locale.ROOT);
      if (!FORMATS.contains(format)) {
        throw new UserError("data.format = " + format + ": unknown format (known: " + String.join(", ", FORMATS) + ")");
      }
      if (dataset.isEmpty() && train.isEmpty()) {
        throw new UserError("data.train: no training data (set data.train, or data.dataset = fashion-mnist)");
      }
      if (format.equals("idx") && dataset.isEmpty() && (trainLabels.isEmpty() || (!test.isEmpty() && testLabels.isEmpty()))) {
        throw new UserError("data.train_labels / data.test_labels: IDX data needs a labels file beside each images file");
      }
    }
  }

  /** The architecture and where the model file goes. */
  public record Model(String layers, Init init, String path) {
    public Model {
      LayerSpec.parseList(layers, "model.layers");
      if (path.isEmpty()) throw new UserError("model.path: empty (where should the model be saved?)");
    }
  }

  /** The training loop. */
  public record Training(int epochs, int batchSize, long seed, int treeDepth) {}

  /** The optimizer and its hyperparameters. */
  public record Optimizer(String name, double learningRate, double momentum) {
    public Optimizer {
      if (!List.of("sgd", "momentum").contains(name)) {
        throw new UserError("optimizer.name = " + name + ": unknown optimizer (known: sgd, momentum)");
      }
    }
  }

  /** Where {@code predict} writes its output. */
  public record Predict(String output) {}

  public static TrainConfig from(Settings s) {
    Data data = new Data(
        s.string("data.format", "idx"),
        s.string("data.dataset", ""),
        s.string("data.train", ""),
        s.string("data.train_labels", ""),
        s.string("data.test", ""),
        s.string("data.test_labels", ""),
        s.string("data.features_col", "features"),
        s.string("data.label_col", "label"),
        s.integer("data.num_classes", 10, 2),
        s.number("data.validation_fraction", 0.1, x -> x >= 0 && x < 1, "in [0, 1)"),
        s.bool("data.standardize", true),
        s.integer("data.partitions", 2, 1));
    Model model = new Model(
        s.string("model.layers", "dense(512), relu, dense(256), relu, dense(10)"),
        Init.parse(s.string("model.init", "he"), s.where("model.init")),
        s.string("model.path", "models/model.stm"));
    Training training = new Training(
        s.integer("train.epochs", 10, 1),
        s.integer("train.batch_size", 128, 1),
        s.longValue("train.seed", 42),
        s.integer("train.tree_depth", 2, 1));
    Optimizer optimizer = new Optimizer(
        s.string("optimizer.name", "momentum").toLowerCase(Locale.ROOT),
        s.number("optimizer.learning_rate", 0.01, x -> x > 0 && Double.isFinite(x), "a positive number"),
        s.number("optimizer.momentum", 0.9, x -> x >= 0 && x < 1, "in [0, 1)"));
    Predict predict = new Predict(s.string("predict.output", "predictions.csv"));
    Map<String, String> spark = s.withPrefix("spark.");
    s.checkAllUsed();
    return new TrainConfig(data, model, training, optimizer, predict, spark);
  }

  /** Every setting with its resolved value, in a stable order, as saved in model headers. */
  public Map<String, String> resolved() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("data.format", data.format());
    m.put("data.dataset", data.dataset());
    m.put("data.train", data.train());
    m.put("data.train_labels", data.trainLabels());
    m.put("data.test", data.test());
    m.put("data.test_labels", data.testLabels());
    m.put("data.features_col", data.featuresCol());
    m.put("data.label_col", data.labelCol());
    m.put("data.num_classes", Integer.toString(data.numClasses()));
    m.put("data.validation_fraction", Double.toString(data.validationFraction()));
    m.put("data.standardize", Boolean.toString(data.standardize()));
    m.put("data.partitions", Integer.toString(data.partitions()));
    m.put("model.layers", model.layers());
    m.put("model.init", model.init().name().toLowerCase(Locale.ROOT));
    m.put("model.path", model.path());
    m.put("train.epochs", Integer.toString(training.epochs()));
    m.put("train.batch_size", Integer.toString(training.batchSize()));
    m.put("train.seed", Long.toString(training.seed()));
    m.put("train.tree_depth", Integer.toString(training.treeDepth()));
    m.put("optimizer.name", optimizer.name());
    m.put("optimizer.learning_rate", Double.toString(optimizer.learningRate()));
    m.put("optimizer.momentum", Double.toString(optimizer.momentum()));
    m.put("predict.output", predict.output());
    m.putAll(spark);
    return m;
  }
}
