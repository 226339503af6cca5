package dev.sparktrain.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * The events of Spark's event log ({@code spark.eventLog.enabled}, one JSON object per line) written into one
 * directory, read back by the fault tests to show what Spark did: executors added and removed, stages relaunched.
 */
final class EventLog {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final List<JsonNode> events;

  private EventLog(List<JsonNode> events) {
    this.events = events;
  }

  /** The settings that make a run write its event log into dir (one directory per run). */
  static void enable(java.util.Map<String, String> settings, Path dir) throws IOException {
    Files.createDirectories(dir);
    settings.put("spark.eventLog.enabled", "true");
    settings.put("spark.eventLog.dir", dir.toUri().toString());
    // Spark 4 writes a rolling, zstd-compressed log by default; one plain JSON-lines file is what this reads
    settings.put("spark.eventLog.rolling.enabled", "false");
    settings.put("spark.eventLog.compress", "false");
  }

  /** Every event of every log file in dir, in file order. */
  static EventLog read(Path dir) {
    List<JsonNode> all = new ArrayList<>();
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path f : files.filter(Files::isRegularFile).filter(f -> !f.getFileName().toString().startsWith(".")).sorted().toList()) {
        for (String line : Files.readAllLines(f)) {
          if (!line.isBlank()) all.add(JSON.readTree(line));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return new EventLog(all);
  }

  /** The events of one type (e.g. SparkListenerExecutorAdded). */
  List<JsonNode> of(String type) {
    return events.stream().filter(e -> type.equals(e.path("Event").asText())).toList();
  }

  List<JsonNode> of(String type, Predicate<JsonNode> filter) {
    return of(type).stream().filter(filter).toList();
  }

  /** Stage attempts after the first: each is a stage that Spark relaunched after a failure. */
  List<JsonNode> relaunchedStages() {
    return of("SparkListenerStageSubmitted", e -> e.path("Stage Info").path("Stage Attempt ID").asInt() > 0);
  }

  /** The submission time (epoch ms) of the first job, or Long.MAX_VALUE when no job started. */
  long firstJobStart() {
    return of("SparkListenerJobStart").stream().mapToLong(e -> e.path("Submission Time").asLong())
        .min().orElse(Long.MAX_VALUE);
  }
}
