package dev.sparktrain.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparktrain.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The regularization ablation of conf/fashion-cnn.conf: the same network, epochs, seed and optimizer for every
 * row, each row adding one technique to the one before (none → dropout → BatchNorm → augmentation → test-time
 * augmentation), written as a Markdown table with each row's test accuracy and train/test gap.
 *
 * <p>Usage: {@code Ablation CONF OUTPUT_DIR [key=value ...]}; the overrides apply to every row (e.g. train.epochs).
 * Weight decay is off in every row, so that the first row really has no regularization. The last row is the
 * model of the row before, evaluated with the 10-crop average. The last stdout line is a JSON summary.
 */
public final class Ablation {
  private static final String CONV = "conv(32, 3), %srelu, maxpool(2), conv(64, 3), %srelu, maxpool(2), flatten, "
      + "dense(128), relu, %sdense(10)";

  private record Row(String name, String layers, String augment) {}

  private Ablation() {}

  public static void main(String[] args) throws IOException {
    if (args.length < 2) {
      System.err.println("usage: Ablation CONF OUTPUT_DIR [key=value ...]");
      System.exit(2);
    }
    Path out = Path.of(args[1]);
    Files.createDirectories(out);
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
    for (int i = 0; i < rows.size(); i++) {
      Row row = rows.get(i);
      List<String> argv = new ArrayList<>(List.of("train", args[0],
          "model.layers=" + row.layers(), "data.augment=" + row.augment(), "optimizer.weight_decay=0",
          "model.path=" + out.resolve("ablation-" + (i + 1) + ".stm"),
          "predict.tta=" + (i == rows.size() - 1 ? "crop10" : "none")));
      argv.addAll(List.of(args).subList(2, args.length));
      System.err.println("ablation row " + (i + 1) + ": " + row.name());
      ByteArrayOutputStream captured = new ByteArrayOutputStream();
      int code = Main.run(argv.toArray(String[]::new), new PrintStream(captured, true, StandardCharsets.UTF_8), System.err);
      String[] lines = captured.toString(StandardCharsets.UTF_8).strip().split("\n");
      JsonNode r = json.readTree(lines[lines.length - 1]);
      if (code != 0) {
        System.out.println(r);
        System.exit(code);
      }
      double test = r.path("test_accuracy").asDouble(), train = r.path("train_accuracy").asDouble();
      table.add(row(row.name(), test, train, r.path("seconds_per_epoch").asDouble()));
      ObjectNode o = results.addObject();
      o.put("row", row.name());
      o.put("test_accuracy", test);
      o.put("train_accuracy", train);
      o.put("gap", train - test);
      if (r.has("test_accuracy_tta")) {
        double tta = r.path("test_accuracy_tta").asDouble();
        table.add(row("+ test-time augmentation (10-crop)", tta, train, Double.NaN));
        ObjectNode t = results.addObject();
        t.put("row", "+ test-time augmentation (10-crop)");
        t.put("test_accuracy", tta);
        t.put("train_accuracy", train);
        t.put("gap", train - tta);
      }
    }
    Path md = out.resolve("ablation.md");
    Files.write(md, table, StandardCharsets.UTF_8);
    table.forEach(System.err::println);
    ObjectNode summary = json.createObjectNode();
    summary.set("rows", results);
    summary.put("table", md.toString());
    System.out.println(summary);
  }

  private static String row(String name, double test, double train, double seconds) {
    return String.format(Locale.ROOT, "| %s | %.4f | %.4f | %+.4f | %s |", name, test, train, train - test,
        Double.isNaN(seconds) ? "(same model)" : String.format(Locale.ROOT, "%.0f", seconds));
  }
}
