package dev.sparktrain.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.FloatBuffer;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The metrics log on an in-memory sink and a fake clock: the lines' fields, NaN as null, the file complete before a
 * checkpoint, a resume dropping what the killed run wrote after its checkpoint, and a second fit continuing the
 * step and epoch numbers.
 */
class MetricsLogTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final AtomicLong now = new AtomicLong();
  private final List<List<String>> writes = new ArrayList<>();
  private List<String> stored = List.of();

  private MetricsLog log() {
    MetricsLog.Sink sink = new MetricsLog.Sink() {
      @Override public List<String> read() { return stored; }
      @Override public void write(List<String> lines) { stored = lines; writes.add(lines); }
    };
    return new MetricsLog(sink, new MetricsLog.Run("train", "m.stm", Map.of("train.epochs", "2"), Map.of("seed", 42)),
        now::get, Clock.fixed(Instant.parse("2026-12-06T21:00:00Z"), ZoneOffset.UTC));
  }

  private static FloatBuffer buf(float... v) {
    return FloatBuffer.wrap(v).asReadOnlyBuffer();
  }

  private static void steps(MetricsLog log, int epoch, int from, int to, int perEpoch) {
    for (int t = from; t < to; t++) {
      log.onStepEnd(new Callback.StepEnd(epoch, t, perEpoch, (long) epoch * perEpoch + t, 0.5, 0.5, 0.1, 10,
          buf(3, 4), buf(0), null), null);
    }
  }

  private List<JsonNode> lines() throws Exception {
    List<JsonNode> out = new ArrayList<>();
    for (String l : stored) out.add(JSON.readTree(l));
    return out;
  }

  @Test
  void linesHoldTheDocumentedFieldsAndNanAsNull() throws Exception {
    MetricsLog log = log();
    log.onTrainStart(new Callback.TrainStart(2, 3, LoopState.start(new float[2]), buf(0, 0)), null);
    now.addAndGet(2_000_000_000L);
    steps(log, 0, 0, 1, 3);
    now.addAndGet(1_000_000_000L);
    log.onEpochEnd(new Callback.EpochEnd(0, 2, Double.NaN, new Metrics(0.75, 0.6, 8), 0.1, 0.1, 3, 10, buf(0), null),
        null);
    Map<String, Object> result = new LinkedHashMap<>();
    result.put("test_accuracy", 0.5);
    result.put("loss", Double.NaN);
    log.finish(result, new Metrics(0.5, 0.7, 4, new long[][] {{1, 1}, {1, 1}}));
    List<JsonNode> l = lines();
    assertEquals("{\"type\":\"start\",\"time\":\"2026-12-06T21:00:00Z\",\"command\":\"train\",\"run\":\"m.stm\","
        + "\"config\":{\"train.epochs\":\"2\"},\"provenance\":{\"seed\":42}}", stored.get(0));
    JsonNode s = l.get(1);
    assertEquals(1, s.path("step").asLong());
    assertEquals(1, s.path("epoch").asInt());
    assertEquals(5.0, s.path("grad_norm").asDouble(), 1e-12, "the L2 norm of the mean gradient (3, 4)");
    assertEquals(5.0, s.path("examples_per_second").asDouble(), 1e-9, "10 examples in 2 s");
    assertEquals(2.0, s.path("seconds").asDouble(), 1e-9);
    JsonNode e = l.get(2);
    assertTrue(e.get("train_loss").isNull() && e.get("train_accuracy").isNull(), e.toString());
    assertEquals(0.75, e.path("validation_accuracy").asDouble());
    assertEquals(3.0, e.path("seconds").asDouble(), 1e-9, "the epoch from its start to its end");
    JsonNode end = l.get(3);
    assertTrue(end.path("result").get("loss").isNull(), end.toString());
    assertEquals("[0,1]", end.path("test").path("classes").toString());
    assertEquals("[[1,1],[1,1]]", end.path("test").path("confusion").toString());
    assertEquals(3.0, end.path("seconds").asDouble(), 1e-9);
  }

  @Test
  void aCheckpointFindsEveryStepInTheFile() {
    MetricsLog log = log();
    log.onTrainStart(new Callback.TrainStart(1, 50, LoopState.start(new float[1]), buf(0)), null);
    steps(log, 0, 0, 7, 50);
    assertEquals(1, stored.size(), "steps are kept in memory between flushes");
    log.checkpointState();
    assertEquals(8, stored.size(), "taking a state for a checkpoint writes the file first");
    int before = writes.size();
    log.checkpointState();
    assertEquals(before, writes.size(), "nothing new, nothing rewritten");
    now.addAndGet(MetricsLog.FLUSH_NANOS);
    steps(log, 0, 7, 8, 50);
    assertEquals(9, stored.size(), "and at most every 30 s between");
  }

  @Test
  void aResumeKeepsTheLinesUpToTheCheckpointAndContinues() throws Exception {
    MetricsLog killed = log();
    killed.onTrainStart(new Callback.TrainStart(2, 10, LoopState.start(new float[1]), buf(0)), null);
    steps(killed, 0, 0, 10, 10);
    killed.onEpochEnd(new Callback.EpochEnd(0, 2, 0.5, null, 0.1, 0.1, 1, 10, buf(0), null), null);
    steps(killed, 1, 0, 6, 10);
    killed.checkpointState();  // the killed run's file has steps 1..16; its checkpoint holds step 14
    List<String> torn = new ArrayList<>(stored);
    torn.add(2, "{\"type\":\"step\",\"st");
    stored = torn;

    MetricsLog resumed = log();
    LoopState at14 = new LoopState(14, 1, 4, 2.0, 40, new float[1], "optimizer state", Map.of(), Map.of());
    resumed.onTrainStart(new Callback.TrainStart(2, 10, at14, buf(0)), null);
    steps(resumed, 1, 4, 10, 10);
    resumed.onEpochEnd(new Callback.EpochEnd(1, 2, 0.5, null, 0.1, 0.1, 1, 10, buf(0), null), null);
    resumed.finish(Map.of(), null);
    List<JsonNode> l = lines();
    assertEquals(1, l.stream().filter(n -> n.path("type").asText().equals("start")).count());
    assertEquals(java.util.stream.LongStream.rangeClosed(1, 20).boxed().toList(), l.stream()
        .filter(n -> n.path("type").asText().equals("step")).map(n -> n.path("step").asLong()).toList());
    assertEquals(List.of(1, 2), l.stream().filter(n -> n.path("type").asText().equals("epoch"))
        .map(n -> n.path("epoch").asInt()).toList());
    assertTrue(l.get(l.size() - 1).get("test").isNull());
  }

  @Test
  void aSecondFitContinuesTheStepsAndEpochs() throws Exception {
    MetricsLog log = log();
    log.onTrainStart(new Callback.TrainStart(1, 3, LoopState.start(new float[1]), buf(0)), null);
    steps(log, 0, 0, 3, 3);
    log.onEpochEnd(new Callback.EpochEnd(0, 1, 0.5, null, 0.1, 0.1, 1, 10, buf(0), null), null);
    // fine-tuning's phase 2: a warm start, counted from step 0 again
    LoopState warm = new LoopState(0, 0, 0, 0, 0, new float[1], "optimizer state", Map.of(), Map.of());
    log.onTrainStart(new Callback.TrainStart(1, 3, warm, buf(0)), null);
    steps(log, 0, 0, 3, 3);
    log.onEpochEnd(new Callback.EpochEnd(0, 1, 0.5, null, 0.1, 0.1, 1, 10, buf(0), null), null);
    List<JsonNode> l = lines();
    assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L), l.stream().filter(n -> n.path("type").asText().equals("step"))
        .map(n -> n.path("step").asLong()).toList());
    assertEquals(List.of(1, 2), l.stream().filter(n -> n.path("type").asText().equals("epoch"))
        .map(n -> n.path("epoch").asInt()).toList());
    assertEquals(1, l.stream().filter(n -> n.path("type").asText().equals("start")).count());
  }
}
