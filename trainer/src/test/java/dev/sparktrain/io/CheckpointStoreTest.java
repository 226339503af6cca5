package dev.sparktrain.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktrain.UserError;
import dev.sparktrain.optim.GradientTransform;
import dev.sparktrain.optim.OptimizerSpec;
import dev.sparktrain.optim.Schedule;
import dev.sparktrain.optim.Stepper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checkpoint files: a round trip restores every field and the optimizer state bit for bit; every truncation and
 * every single bit flip of a real checkpoint is rejected with an error that names the file; a model file is not
 * taken for a checkpoint; only the newest {@code keep} are kept.
 */
class CheckpointStoreTest {
  @TempDir Path dir;

  private static CheckpointStore.State state(long step, GradientTransform<Object> adam) {
    float[] params = new float[40];
    for (int i = 0; i < params.length; i++) params[i] = (float) Math.sin(i + step);
    Stepper<Object> s = Stepper.start(adam, params);
    for (int i = 0; i < 3; i++) params = s.step(params.clone(), params);
    return new CheckpointStore.State(step, 2, 7, 12.5, 300, params, s.state(), Map.of("plateau", Map.of("scale", 0.5, "best", 1.25), "early_stopping", Map.of("best", 0.75)), Map.of(),
        Map.of("train.seed", "42", "model.layers", "dense(4)"));
  }

  @SuppressWarnings("unchecked")
  private static GradientTransform<Object> adam() {
    return (GradientTransform<Object>) OptimizerSpec.defaults("adam").build(Schedule.constant(0.01), null);
  }

  @Test
  void roundTripRestoresEverything() {
    var store = new CheckpointStore(dir.toString(), new Configuration(), 2);
    var adam = adam();
    CheckpointStore.State s = state(5, adam);
    String path = store.save(s);
    CheckpointStore.State back = store.load(path, adam.init(new float[40]), 40);
    assertEquals(s.step(), back.step());
    assertEquals(s.epoch(), back.epoch());
    assertEquals(s.iteration(), back.iteration());
    assertEquals(s.epochLossSum(), back.epochLossSum());
    assertEquals(s.epochCount(), back.epochCount());
    assertArrayEquals(s.params(), back.params());
    assertEquals(s.callbacks(), back.callbacks());
    assertEquals(s.config(), back.config());
    // the restored optimizer continues exactly as the saved one
    float[] g = new float[40];
    java.util.Arrays.fill(g, 0.1f);
    float[] a = Stepper.resume(adam, 40, s.optimizerState()).step(g, s.params());
    float[] b = Stepper.resume(adam, 40, back.optimizerState()).step(g, back.params());
    assertArrayEquals(a, b);
    assertThrows(UserError.class, () -> store.load(path, adam.init(new float[40]), 41), "wrong model size");
  }

  @Test
  void everyTruncationAndEveryBitFlipIsRejected() throws Exception {
    var store = new CheckpointStore(dir.toString(), new Configuration(), 2);
    var adam = adam();
    byte[] file = Files.readAllBytes(Path.of(store.save(state(9, adam)).replace("file:", "")));
    for (int len = 0; len < file.length; len++) {
      byte[] cut = java.util.Arrays.copyOf(file, len);
      assertThrows(UserError.class, () -> TensorFile.fromBytes("ckpt", cut, CheckpointStore.FORMAT), "length " + len);
    }
    for (int bit = 0; bit < file.length * 8; bit++) {
      byte[] flipped = file.clone();
      flipped[bit / 8] ^= (byte) (1 << (bit % 8));
      assertThrows(UserError.class, () -> TensorFile.fromBytes("ckpt", flipped, CheckpointStore.FORMAT), "bit " + bit);
    }
    Path bad = dir.resolve("ckpt-000000000010.stc");
    Files.write(bad, java.util.Arrays.copyOf(file, file.length - 1));
    String message = assertThrows(UserError.class, () -> store.load(bad.toString(), adam.init(new float[40]), 40)).getMessage();
    assertTrue(message.startsWith(bad.toString()), message);
  }

  @Test
  void aModelFileIsNotACheckpointAndOldOnesArePruned() throws Exception {
    var store = new CheckpointStore(dir.toString(), new Configuration(), 2);
    var adam = adam();
    for (long step : new long[] {10, 20, 30}) store.save(state(step, adam));
    assertEquals(List.of("ckpt-000000000020.stc", "ckpt-000000000030.stc"),
        store.checkpoints().stream().map(f -> f.getPath().getName()).toList());
    Path model = dir.resolve("model.stm");
    TensorFile.write(model.toString(), new Configuration(), TensorFile.MODEL_FORMAT, null,
        List.of(NamedTensor.vector("params", new float[40])));
    String message = assertThrows(UserError.class, () -> store.load(model.toString(), adam.init(new float[40]), 40))
        .getMessage();
    assertTrue(message.contains("sparktrain-checkpoint"), message);
    // the newest valid one wins; a directory without checkpoints has none
    assertEquals(30, store.newest(adam.init(new float[40]), 40, m -> {}).orElseThrow().step());
    assertTrue(new CheckpointStore(dir.resolve("none").toString(), new Configuration(), 2)
        .newest(adam.init(new float[40]), 40, m -> {}).isEmpty());
  }
}
