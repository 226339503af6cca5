package dev.sparktrain.report;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparktrain.UserError;
import dev.sparktrain.io.LinesFile;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * Reads a metrics file (JSON lines: a {@code start} record, {@code step} and {@code epoch} records, an
 * {@code end} record; null for a missing number or NaN; unknown fields and record types are ignored) into a
 * {@link RecordedRun}, through Hadoop's FileSystem so any path works. A bad last line is what a run that was
 * killed mid-write leaves: it is skipped with a warning naming the file and line. A bad line before it is an
 * error naming the file and line.
 */
public final class MetricsFileReader {
  private static final ObjectMapper JSON = new ObjectMapper();

  private MetricsFileReader() {}

  /** Reads {@code uri}; warnings (a skipped last line) go to {@code warn}. */
  public static RecordedRun read(String uri, Configuration conf, Consumer<String> warn) {
    String text;
    try {
      text = LinesFile.text(uri, conf);
    } catch (IOException e) {
      throw new UserError(uri + ": cannot read (" + e.getMessage() + ")");
    }
    if (text == null) throw new UserError(uri + ": no such file");
    return parse(uri, text.lines().toList(), warn);
  }

  /** Parses the lines of the file named {@code file}. */
  static RecordedRun parse(String file, List<String> lines, Consumer<String> warn) {
    int last = lines.size() - 1;
    while (last >= 0 && lines.get(last).isBlank()) last--;
    if (last < 0) throw new UserError(file + ": empty (no start record)");
    Builder run = new Builder(file);
    for (int i = 0; i <= last; i++) {
      String line = lines.get(i);
      if (line.isBlank()) continue;
      try {
        run.add(i + 1, record(line));
      } catch (BadLine e) {
        if (i < last) throw new UserError(file + ": line " + (i + 1) + ": " + e.getMessage());
        warn.accept("warning: " + file + ": line " + (i + 1) + " (the last) is cut short or invalid (" + e.getMessage()
            + "); reporting the " + i + " lines before it");
      }
    }
    return run.build();
  }

  private static JsonNode record(String line) throws BadLine {
    JsonNode node;
    try {
      node = JSON.readTree(line);
    } catch (JsonProcessingException e) {
      throw new BadLine("not JSON: " + e.getOriginalMessage());
    }
    if (node == null || !node.isObject()) throw new BadLine("not a JSON object");
    if (!node.path("type").isTextual()) throw new BadLine("no \"type\"");
    return node;
  }

  /** A line that does not parse or lacks a field this reader needs. */
  private static final class BadLine extends Exception {
    private static final long serialVersionUID = 1L;

    BadLine(String message) {
      super(message, null, false, false);
    }
  }

  /** The run's records, collected line by line. */
  private static final class Builder {
    private final String file;
    private String name, time;
    private Map<String, String> config = Map.of(), provenance = Map.of();
    private final TreeMap<Long, RecordedRun.Step> steps = new TreeMap<>();
    private final TreeMap<Integer, RecordedRun.Epoch> epochs = new TreeMap<>();
    private RecordedRun.End end;

    Builder(String file) {
      this.file = file;
    }

    void add(int lineNumber, JsonNode r) throws BadLine {
      String type = r.get("type").asText();
      if (name == null && !type.equals("start")) {
        throw new BadLine("the first record must be the start record, found \"" + type + "\"");
      }
      switch (type) {
        // a resumed run may write a second start record; the first one names the run and its config
        case "start" -> {
          if (name == null) {
            String fallback = new Path(file).getName().replaceFirst("\\.(jsonl|json|ndjson)$", "");
            name = r.path("run").isTextual() && !r.get("run").asText().isBlank() ? r.get("run").asText() : fallback;
            time = r.path("time").asText("");
            config = texts(r.path("config"));
            provenance = texts(r.path("provenance"));
          }
        }
        case "step" -> {
          long step = integer(r, "step");
          steps.put(step, new RecordedRun.Step(step, (int) integer(r, "epoch"), number(r, "loss"), number(r, "lr"),
              number(r, "grad_norm"), number(r, "examples_per_second"), number(r, "seconds")));
        }
        case "epoch" -> {
          int epoch = (int) integer(r, "epoch");
          epochs.put(epoch, new RecordedRun.Epoch(epoch, number(r, "train_loss"), number(r, "train_accuracy"),
              number(r, "validation_loss"), number(r, "validation_accuracy"), number(r, "lr"), number(r, "seconds")));
        }
        case "end" -> end = new RecordedRun.End(number(r, "seconds"), texts(r.path("result")), test(r.path("test")));
        default -> { } // a record type this reader does not know
      }
    }

    RecordedRun build() {
      if (name == null) throw new UserError(file + ": no complete start record");
      return new RecordedRun(name, file, time, config, provenance, new ArrayList<>(steps.values()),
          new ArrayList<>(epochs.values()), end);
    }
  }

  private static RecordedRun.Test test(JsonNode t) throws BadLine {
    if (t.isMissingNode() || t.isNull()) return null;
    if (!t.isObject()) throw new BadLine("\"test\" is not an object");
    JsonNode classes = t.path("classes"), confusion = t.path("confusion");
    double accuracy = number(t, "accuracy"), loss = number(t, "loss"), examples = number(t, "examples");
    // a test set evaluated without a confusion matrix writes null (or nothing) for both
    if ((classes.isMissingNode() || classes.isNull()) && (confusion.isMissingNode() || confusion.isNull())) {
      return new RecordedRun.Test(accuracy, loss, examples, List.of(), null);
    }
    if (!classes.isArray() || classes.isEmpty()) throw new BadLine("test.classes is not a non-empty array");
    int k = classes.size();
    if (!confusion.isArray() || confusion.size() != k) {
      throw new BadLine("test.confusion must have one row per class (" + k + ")");
    }
    List<String> labels = new ArrayList<>();
    classes.forEach(c -> labels.add(c.asText()));
    long[][] counts = new long[k][k];
    for (int i = 0; i < k; i++) {
      JsonNode row = confusion.get(i);
      if (!row.isArray() || row.size() != k) throw new BadLine("test.confusion row " + i + " must have " + k + " counts");
      for (int j = 0; j < k; j++) {
        if (!row.get(j).canConvertToLong() || row.get(j).asLong() < 0) {
          throw new BadLine("test.confusion[" + i + "][" + j + "] is not a count");
        }
        counts[i][j] = row.get(j).asLong();
      }
    }
    return new RecordedRun.Test(accuracy, loss, examples, labels, counts);
  }

  /** A field that must be a whole number. */
  private static long integer(JsonNode r, String field) throws BadLine {
    JsonNode v = r.path(field);
    if (!v.isIntegralNumber()) throw new BadLine("\"" + field + "\" is not an integer");
    return v.asLong();
  }

  /**
   * A number, or NaN for null or absent; "NaN" and "Infinity" as text (Jackson's default for non-finite doubles)
   * are read as such. Any other value is a bad line.
   */
  private static double number(JsonNode r, String field) throws BadLine {
    JsonNode v = r.path(field);
    if (v.isMissingNode() || v.isNull()) return Double.NaN;
    if (v.isNumber()) return v.asDouble();
    switch (v.asText()) {
      case "NaN": return Double.NaN;
      case "Infinity": return Double.POSITIVE_INFINITY;
      case "-Infinity": return Double.NEGATIVE_INFINITY;
      default: throw new BadLine("\"" + field + "\" is not a number");
    }
  }

  /** An object's fields as text, in the file's order (nested values as their JSON). */
  private static Map<String, String> texts(JsonNode o) {
    Map<String, String> m = new LinkedHashMap<>();
    if (o.isObject()) o.fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue().isValueNode()
        ? (e.getValue().isNull() ? "null" : e.getValue().asText()) : e.getValue().toString()));
    return m;
  }
}
