package dev.sparktrain.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.FloatBuffer;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Writes a run's metrics as JSON lines (docs/metrics.md): a start line with the config and provenance, a line
 * per step and per epoch, and an end line with the command's result and the test confusion matrix. The lines are
 * kept in memory and the whole file is rewritten atomically through its {@link Sink} at every epoch end, before
 * every checkpoint, at most every {@link #FLUSH_NANOS} between them, and at the end; so a file never holds a torn
 * line, and it always holds every step that a checkpoint holds. A resumed run ({@code --resume}) reads the file
 * back, keeps the lines up to the checkpoint's step and continues it: no step is missing or written twice.
 * Further fits of the same command (fine-tuning's phase 2) continue its step and epoch numbers. One per run.
 */
public final class MetricsLog implements Callback {
  /** Rewrites between epoch ends and checkpoints at most this often: the file lags a running job by ≤ 30 s. */
  static final long FLUSH_NANOS = 30_000_000_000L;
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Where the lines go: read back on resume, replaced whole on every flush. */
  public interface Sink {
    List<String> read();

    void write(List<String> lines);
  }

  /**
   * What the start line says about the run: the command, the run's name (model.path, or a member's name), every
   * resolved setting, and provenance (project_version, java, spark, host, master, seed, ...).
   */
  public record Run(String command, String name, Map<String, String> config, Map<String, Object> provenance) {}

  private final Sink sink;
  private final Run run;
  private final LongSupplier nanos;
  private final Clock wall;
  private final List<String> lines = new ArrayList<>();
  private boolean started, dirty;
  private long begin, epochBegin, lastStepAt, lastFlush;
  private long stepOffset, lastStep;
  private int epochOffset, lastEpoch;

  public MetricsLog(Sink sink, Run run) {
    this(sink, run, System::nanoTime, Clock.systemUTC());
  }

  /** With a clock for durations (nanoseconds) and one for the start line's time, for tests. */
  public MetricsLog(Sink sink, Run run, LongSupplier nanos, Clock wall) {
    this.sink = sink;
    this.run = run;
    this.nanos = nanos;
    this.wall = wall;
  }

  @Override
  public synchronized void onTrainStart(TrainStart e, LoopControl loop) {
    long now = nanos.getAsLong();
    if (started) {  // a further fit of this command: its steps and epochs follow the ones written
      stepOffset = lastStep;
      epochOffset = lastEpoch;
    } else {
      started = true;
      double seconds = e.start().resumed() && e.start().step() > 0 ? keepUntil(sink.read(), e.start()) : 0;
      if (lines.isEmpty()) lines.add(line(startRecord()));
      begin = now - (long) (seconds * 1e9);
      dirty = true;
      flush(now);
    }
    epochBegin = now;
    lastStepAt = now;
  }

  @Override
  public synchronized void onStepEnd(StepEnd e, LoopControl loop) {
    long now = nanos.getAsLong();
    lastStep = stepOffset + e.step() + 1;
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("type", "step");
    r.put("step", lastStep);
    r.put("epoch", epochOffset + e.epoch() + 1);
    r.put("loss", e.loss());
    r.put("lr", e.lr());
    r.put("grad_norm", norm(e.gradient()));
    r.put("examples_per_second", e.examples() / Math.max(1e-9, (now - lastStepAt) / 1e9));
    r.put("seconds", (now - begin) / 1e9);
    lastStepAt = now;
    add(r);
    if (now - lastFlush >= FLUSH_NANOS) flush(now);
  }

  @Override
  public synchronized void onEpochEnd(EpochEnd e, LoopControl loop) {
    long now = nanos.getAsLong();
    lastEpoch = epochOffset + e.epoch() + 1;
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("type", "epoch");
    r.put("epoch", lastEpoch);
    r.put("train_loss", e.trainLoss());
    r.put("train_accuracy", null);  // the loop's steps count no correct predictions; the end line's result has it
    r.put("validation_loss", e.validation() == null ? null : e.validation().loss());
    r.put("validation_accuracy", e.validation() == null ? null : e.validation().accuracy());
    r.put("lr", e.lr());
    r.put("seconds", (now - epochBegin) / 1e9);
    r.put("examples_per_second", e.examplesPerSecond());
    add(r);
    epochBegin = now;
    flush(now);
  }

  /** Called when the loop takes a state, that is before every checkpoint: the file then holds every step it holds. */
  @Override
  public synchronized Map<String, Double> checkpointState() {
    flush(nanos.getAsLong());
    return null;
  }

  @Override
  public synchronized void onTrainEnd(TrainEnd e) {
    flush(nanos.getAsLong());
  }

  /**
   * The end line: seconds since the start, the command's result (the JSON line it prints) and the test set's
   * accuracy, loss and confusion matrix (null without a test set, or without a confusion matrix).
   */
  public synchronized void finish(Map<String, Object> result, Metrics test) {
    long now = nanos.getAsLong();
    if (!started) {  // a command that trained nothing here still leaves a start line
      started = true;
      begin = now;
      lines.add(line(startRecord()));
    }
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("type", "end");
    r.put("seconds", (now - begin) / 1e9);
    r.put("result", result);
    r.put("test", testRecord(test));
    add(r);
    flush(now);
  }

  @Override
  public String callbackName() {
    return "metrics " + run.name();
  }

  private Map<String, Object> startRecord() {
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("type", "start");
    r.put("time", wall.instant().toString());
    r.put("command", run.command());
    r.put("run", run.name());
    r.put("config", run.config());
    r.put("provenance", run.provenance());
    return r;
  }

  private static Object testRecord(Metrics test) {
    if (test == null || test.count() == 0) return null;
    Map<String, Object> t = new LinkedHashMap<>();
    t.put("accuracy", test.accuracy());
    t.put("loss", test.loss());
    t.put("examples", test.count());
    long[][] c = test.confusion();
    if (c != null) {
      List<Integer> classes = new ArrayList<>();
      for (int i = 0; i < c.length; i++) classes.add(i);
      t.put("classes", classes);
      t.put("confusion", c);
    } else {
      t.put("classes", null);
      t.put("confusion", null);
    }
    return t;
  }

  /**
   * Keeps the start line of an earlier file and its step and epoch lines up to where the checkpoint resumes
   * (steps 1..start.step(), epochs 1..start.epoch()); drops the rest, which a killed run wrote after it. Returns the
   * last kept step's seconds, from which this run's clock continues.
   */
  private double keepUntil(List<String> old, LoopState start) {
    double seconds = 0;
    for (String l : old) {
      JsonNode n;
      try {
        n = JSON.readTree(l);
      } catch (JsonProcessingException e) {
        continue;  // a line a crash tore; LinesFile already drops an unterminated last line
      }
      String type = n.path("type").asText();
      boolean keep = switch (type) {
        case "start" -> lines.isEmpty();
        case "step" -> !lines.isEmpty() && n.path("step").asLong() <= start.step();
        case "epoch" -> !lines.isEmpty() && n.path("epoch").asLong() <= start.epoch();
        default -> false;
      };
      if (!keep) continue;
      lines.add(l);
      if (type.equals("step")) {
        seconds = n.path("seconds").asDouble();
        lastStep = n.path("step").asLong();
      }
      if (type.equals("epoch")) lastEpoch = n.path("epoch").asInt();
    }
    return seconds;
  }

  private void add(Map<String, Object> record) {
    lines.add(line(record));
    dirty = true;
  }

  private void flush(long now) {
    lastFlush = now;
    if (!dirty) return;
    sink.write(List.copyOf(lines));
    dirty = false;
  }

  private static double norm(FloatBuffer g) {
    double s = 0;
    for (int i = g.position(); i < g.limit(); i++) {
      double v = g.get(i);
      s += v * v;
    }
    return Math.sqrt(s);
  }

  /** One JSON object on one line; NaN and infinities become null (JSON has neither). */
  static String line(Map<String, Object> record) {
    try {
      return JSON.writeValueAsString(finite(record));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("metrics line: " + e.getMessage(), e);
    }
  }

  private static Object finite(Object v) {
    if (v instanceof Double d) return Double.isFinite(d) ? d : null;
    if (v instanceof Float f) return Float.isFinite(f) ? f : null;
    if (v instanceof Map<?, ?> m) {
      Map<Object, Object> out = new LinkedHashMap<>();
      m.forEach((k, x) -> out.put(k, finite(x)));
      return out;
    }
    if (v instanceof List<?> l) return l.stream().map(MetricsLog::finite).toList();
    return v;
  }
}
