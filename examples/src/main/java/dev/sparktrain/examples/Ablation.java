package dev.sparktrain.examples;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparktrain.UserError;
import dev.sparktrain.augment.TestTimeAugmentation;
import dev.sparktrain.config.Settings;
import dev.sparktrain.config.TrainConfig;
import dev.sparktrain.spark.Examples;
import dev.sparktrain.spark.FitOptions;
import dev.sparktrain.spark.Sessions;
import dev.sparktrain.spark.TrainedModel;
import dev.sparktrain.spark.Trainer;
import dev.sparktrain.spark.TrainingData;
import dev.sparktrain.train.Progress;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.sql.SparkSession;

/**
 * The regularization ablation of conf/fashion-cnn.conf: the same network, epochs, seed and optimizer for every
 * row, each row adding one technique to the one before (none → dropout → BatchNorm → augmentation → test-time
 * augmentation), written as a Markdown table with each row's test accuracy and train/test gap.
 *
 * <p>Usage: {@code Ablation CONF OUTPUT_DIR [key=value ...]}; the overrides apply to every row (e.g. train.epochs).
 * Weight decay is off in every row, so that the first row really has no regularization. The last row is the
 * model of the row before, evaluated with the 10-crop average. The data are loaded and prepared once, and every
 * row is a {@link Trainer#fit} over them. The last stdout line is a JSON summary.
 */
public final class Ablation {
  private static final String CONV = "conv(32, 3), %srelu, maxpool(2), conv(64, 3), %srelu, maxpool(2), flatten, "
      + "dense(128), relu, %sdense(10)";

  private record Row(String name, String layers, String augment) {}

  private Ablation() {}

  public static void main(String[] args) {
    ExampleMain.run("Ablation CONF OUTPUT_DIR [key=value ...]", 2, args,
        a -> run(a[0], Path.of(a[1]), List.of(a).subList(2, a.length)));
  }

  /** Every row trained with {@link Trainer#fit} over one prepared copy of the data; returns the JSON summary. */
  static ObjectNode run(String conf, Path out, List<String> overrides) throws IOException {
    List<String> all = new ArrayList<>(overrides);
    all.add("optimizer.weight_decay=0");
    TrainConfig base = TrainConfig.from(Settings.load(conf, all));
    Progress progress = Progress.standard(System.err);
    List<Row> rows = List.of(
        new Row("no regularization", String.format(CONV, "", "", ""), "none"),
        new Row("+ dropout 0.5", String.format(CONV, "", "", "dropout(0.5), "), "none"),
        new Row("+ BatchNorm", String.format(CONV, "batchnorm, ", "batchnorm, ", "dropout(0.5), "), "none"),
        new Row("+ augmentation (crop 2, flip)", String.format(CONV, "batchnorm, ", "batchnorm, ", "dropout(0.5), "),
            "crop(2), flip"));
    ObjectMapper json = new ObjectMapper();
    ArrayNode results = json.createArrayNode();
    List<String> table = new ArrayList<>(List.of(
        "| row | test accuracy | train accuracy | train − test gap | seconds/epoch |",
        "|---|---|---|---|---|"));
    SparkSession spark = Sessions.create("sparktrain ablation " + conf, base.spark());
    try (TrainingData data = TrainingData.load(spark, base.data(), progress)) {
      Examples test = data.test().orElseThrow(() -> new UserError("data.test: the ablation needs a test set"));
      Files.createDirectories(out);  // only once the data have loaded: bad input leaves nothing behind
      Trainer trainer = new Trainer(spark);
      for (int i = 0; i < rows.size(); i++) {
        Row row = rows.get(i);
        progress.info("ablation row " + (i + 1) + ": " + row.name());
        TrainConfig c = base.with(Map.of("model.layers", row.layers(), "data.augment", row.augment(),
            "model.path", out.resolve("ablation-" + (i + 1) + ".stm").toString()));
        TrainedModel m = trainer.fit(data, FitOptions.from(c).withName("row " + (i + 1)).withProgress(progress));
        double testAcc = m.evaluate(test, "ablation row " + (i + 1) + " · test").accuracy();
        double train = m.evaluateTraining(data, "ablation row " + (i + 1) + " · train accuracy").accuracy();
        m.save(c.model().path(), spark.sparkContext().hadoopConfiguration(),
            Map.of("test_accuracy", testAcc, "train_accuracy", train));
        table.add(row(row.name(), testAcc, train, m.summary().secondsPerEpoch()));
        add(results, row.name(), testAcc, train);
        if (i == rows.size() - 1) {
          double tta = m.evaluate(test, TestTimeAugmentation.CROP10, c.predict().ttaPad(), "ablation · 10-crop test")
              .accuracy();
          table.add(row("+ test-time augmentation (10-crop)", tta, train, Double.NaN));
          add(results, "+ test-time augmentation (10-crop)", tta, train);
        }
      }
    } finally {
      spark.stop();
    }
    Path md = out.resolve("ablation.md");
    Files.write(md, table, StandardCharsets.UTF_8);
    table.forEach(System.err::println);
    ObjectNode summary = json.createObjectNode();
    summary.set("rows", results);
    summary.put("table", md.toString());
    return summary;
  }

  private static void add(ArrayNode results, String row, double test, double train) {
    ObjectNode o = results.addObject();
    o.put("row", row);
    o.put("test_accuracy", test);
    o.put("train_accuracy", train);
    o.put("gap", train - test);
  }

  private static String row(String name, double test, double train, double seconds) {
    return String.format(Locale.ROOT, "| %s | %.4f | %.4f | %+.4f | %s |", name, test, train, train - test,
        Double.isNaN(seconds) ? "(same model)" : String.format(Locale.ROOT, "%.0f", seconds));
  }
}
