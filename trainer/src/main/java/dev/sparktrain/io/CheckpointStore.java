package dev.sparktrain.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparktrain.UserError;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Training checkpoints in a directory (any Hadoop path): everything a run needs to continue bit for bit, in the
 * checksummed {@link TensorFile} format {@code sparktrain-checkpoint}, one file per checkpoint named by its step,
 * {@code ckpt-000000001234.stc}. Each is written to a temporary file and renamed into place, and older ones are
 * pruned only after the new one is complete, so a crash at any moment leaves the last good checkpoint intact.
 * {@link #newest} skips files that fail validation (truncated, bit-flipped) and takes the newest valid one.
 *
 * <p>A checkpoint holds the parameters (with BatchNorm running averages), the optimizer state (see
 * {@link OptimizerStateFile}), where to continue (step, epoch, iteration), the epoch's loss so far, the
 * training callbacks' own state by name (reduce-on-plateau's, early stopping's; header field {@code callbacks},
 * read from the older {@code plateau} field too), their vectors (the EMA weights; tensors {@code
 * callback/NAME/KEY}), and the resolved config it was trained with.
 */
public final class CheckpointStore {
  public static final String FORMAT = "sparktrain-checkpoint";
  private static final Pattern NAME = Pattern.compile("ckpt-(\\d{12})\\.stc");
  private static final ObjectMapper JSON = new ObjectMapper();

  private final String dir;
  private final Configuration conf;
  private final int keep;

  /** The state of a run between two steps: the next step to take is (epoch, iteration), global step {@code step}. */
  public record State(long step, int epoch, int iteration, double epochLossSum, long epochCount, float[] params,
                      Object optimizerState, Map<String, Map<String, Double>> callbacks,
                      Map<String, Map<String, float[]>> callbackVectors, Map<String, String> config) {
    public State {
      callbacks = Map.copyOf(callbacks);
      callbackVectors = Map.copyOf(callbackVectors);
    }
  }

  /** Tensors named callback/NAME/KEY hold the callbacks' vectors. */
  private static final String VECTOR_PREFIX = "callback/";

  public CheckpointStore(String dir, Configuration conf, int keep) {
    if (keep < 1) throw new IllegalArgumentException("keep must be at least 1: " + keep);
    this.dir = dir;
    this.conf = conf;
    this.keep = keep;
  }

  /** Writes the checkpoint of state, then prunes all but the newest {@code keep}; returns its path. */
  public String save(State s) {
    ObjectNode meta = JSON.createObjectNode();
    meta.put("step", s.step());
    meta.put("epoch", s.epoch());
    meta.put("iteration", s.iteration());
    meta.put("epoch_loss_sum", s.epochLossSum());
    meta.put("epoch_count", s.epochCount());
    ObjectNode callbacks = meta.putObject("callbacks");
    new java.util.TreeMap<>(s.callbacks()).forEach((name, state) -> state.forEach(callbacks.putObject(name)::put));
    s.config().forEach(meta.putObject("config")::put);
    List<NamedTensor> tensors = new ArrayList<>(List.of(NamedTensor.vector("params", s.params())));
    for (String name : s.callbackVectors().keySet()) {
      if (name.isEmpty() || name.contains("/")) {
        throw new IllegalArgumentException("a callback that keeps vectors needs a name without '/': '" + name + "'");
      }
    }
    new java.util.TreeMap<>(s.callbackVectors()).forEach((name, vectors) -> new java.util.TreeMap<>(vectors)
        .forEach((key, v) -> tensors.add(NamedTensor.vector(VECTOR_PREFIX + name + "/" + key, v))));
    OptimizerStateFile.flatten(s.optimizerState(), "optimizer", tensors, meta.putObject("optimizer_scalars"));
    String path = new Path(dir, String.format("ckpt-%012d.stc", s.step())).toString();
    TensorFile.write(path, conf, FORMAT, meta, tensors);
    prune();
    return path;
  }

  /**
   * The newest checkpoint that reads and validates, its optimizer state restored into {@code template}'s records
   * (a fresh state of the same optimizer); files that fail are reported through skipped and passed over.
   */
  public Optional<State> newest(Object template, int paramCount, Consumer<String> skipped) {
    removeHalfWritten(skipped);
    List<FileStatus> all = checkpoints();
    for (int i = all.size() - 1; i >= 0; i--) {
      String path = all.get(i).getPath().toString();
      try {
        return Optional.of(load(path, template, paramCount));
      } catch (UserError e) {
        skipped.accept("checkpoint skipped: " + e.getMessage());
      }
    }
    return Optional.empty();
  }

  /** Reads and validates one checkpoint file. */
  public State load(String path, Object template, int paramCount) {
    return decode(TensorFile.read(path, conf, FORMAT), template, paramCount);
  }

  private static State decode(TensorFile.Contents c, Object template, int paramCount) {
    JsonNode m = c.meta();
    for (String key : List.of("step", "epoch", "iteration", "epoch_count")) {
      if (m == null || !m.path(key).canConvertToLong() || m.path(key).asLong() < 0) {
        throw new UserError(c.source() + ": checkpoint header has no valid '" + key + "'");
      }
    }
    if (!m.path("config").isObject()) throw new UserError(c.source() + ": checkpoint header has no 'config'");
    float[] params = c.values("params");
    if (params.length != paramCount) {
      throw new UserError(c.source() + ": holds " + params.length + " parameters, the model needs " + paramCount);
    }
    Object state = OptimizerStateFile.restore(template, "optimizer", c.tensors(), m.get("optimizer_scalars"), c.source());
    Map<String, Map<String, Double>> callbacks = new LinkedHashMap<>();
    m.path("callbacks").fields().forEachRemaining(f -> callbacks.put(f.getKey(), numbers(f.getValue())));
    if (m.path("plateau").size() > 0) callbacks.put("plateau", numbers(m.get("plateau")));  // checkpoints written before the callbacks field
    Map<String, Map<String, float[]>> vectors = new LinkedHashMap<>();
    c.tensors().forEach((name, t) -> {
      if (!name.startsWith(VECTOR_PREFIX)) return;
      String[] parts = name.substring(VECTOR_PREFIX.length()).split("/", 2);
      if (parts.length != 2 || parts[0].isEmpty() || parts[1].isEmpty()) {
        throw new UserError(c.source() + ": checkpoint tensor '" + name + "' is not named callback/NAME/KEY");
      }
      if (t.values().length != paramCount) {
        throw new UserError(c.source() + ": checkpoint tensor '" + name + "' holds " + t.values().length
            + " values, the model has " + paramCount + " parameters");
      }
      vectors.computeIfAbsent(parts[0], k -> new LinkedHashMap<>()).put(parts[1], t.values());
    });
    Map<String, String> config = new LinkedHashMap<>();
    m.get("config").fields().forEachRemaining(e -> config.put(e.getKey(), e.getValue().asText()));
    return new State(m.get("step").asLong(), m.get("epoch").asInt(), m.get("iteration").asInt(),
        m.path("epoch_loss_sum").asDouble(), m.get("epoch_count").asLong(), params, state,
        callbacks, vectors, config);
  }

  private static Map<String, Double> numbers(JsonNode object) {
    Map<String, Double> out = new LinkedHashMap<>();
    object.fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue().asDouble()));
    return out;
  }

  /** The checkpoint files of the directory, oldest first (by step). */
  public List<FileStatus> checkpoints() {
    try {
      Path p = new Path(dir);
      FileSystem fs = OutputFileSystem.of(p, conf);
      FileStatus[] all = fs.listStatus(p);
      return Arrays.stream(all).filter(f -> f.isFile() && NAME.matcher(f.getPath().getName()).matches())
          .sorted(Comparator.comparing(f -> f.getPath().getName())).toList();
    } catch (FileNotFoundException e) {
      return List.of();
    } catch (IOException e) {
      throw new UserError(dir + ": cannot list checkpoints (" + e.getMessage() + ")", e);
    }
  }

  /**
   * Deletes the temporary files of checkpoint writes that never finished (the driver was killed inside one; see
   * {@link AtomicWrite}), so that a resumed run leaves nothing half-written behind; each is reported.
   */
  private void removeHalfWritten(Consumer<String> report) {
    try {
      Path p = new Path(dir);
      FileSystem fs = OutputFileSystem.of(p, conf);
      for (FileStatus f : fs.listStatus(p)) {
        String name = f.getPath().getName();
        if (f.isFile() && name.startsWith(".ckpt-") && name.endsWith(".tmp") && fs.delete(f.getPath(), false)) {
          report.accept("removed a half-written checkpoint left by an interrupted run: " + f.getPath() + " ("
              + f.getLen() + " bytes)");
        }
      }
    } catch (FileNotFoundException e) {
      // no directory yet: nothing to remove
    } catch (IOException e) {
      throw new UserError(dir + ": cannot remove a half-written checkpoint (" + e.getMessage() + ")", e);
    }
  }

  private void prune() {
    List<FileStatus> all = checkpoints();
    try {
      for (int i = 0; i < all.size() - keep; i++) {
        Path p = all.get(i).getPath();
        OutputFileSystem.of(p, conf).delete(p, false);
      }
    } catch (IOException e) {
      throw new UserError(dir + ": cannot remove an old checkpoint (" + e.getMessage() + ")", e);
    }
  }
}
