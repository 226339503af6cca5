package dev.sparktrain.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktrain.io.CheckpointStore;
import dev.sparktrain.io.SavedModel;
import dev.sparktrain.io.TensorFile;
import dev.sparktrain.testing.CliRun;
import dev.sparktrain.testing.SparkFixture;
import dev.sparktrain.testing.SyntheticImages;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The driver JVM killed with SIGKILL while it writes a checkpoint: the test watches the checkpoint directory for
 * the atomic write's hidden temporary file ({@code .ckpt-<step>.stc.<random>.tmp}) and kills the driver the moment
 * it has its first bytes. The half-written file never becomes a {@code ckpt-*.stc}, every final checkpoint validates, and
 * {@code --resume} continues from the newest complete checkpoint (skipping none) and ends bit-identical to an
 * uninterrupted run. A large model (4.3M parameters, Adam: a 52 MB checkpoint) makes each write last long enough to
 * be hit.
 */
class DriverKilledDuringCheckpointWriteTest {
  private static final Pattern TEMP = Pattern.compile("\\.ckpt-(\\d{12})\\.stc\\..+\\.tmp");
  @TempDir Path dir;

  private Path conf(Path data, String name, Path checkpoints) throws IOException {
    Map<String, String> s = SmallJobConf.settings(data, dir.resolve(name + ".stm"), dir.resolve(name + "-pred"));
    s.put("model.layers", "dense(2048), relu, dense(2048), relu, dense(4)");
    s.put("optimizer.name", "adam");
    s.put("optimizer.learning_rate", "0.001");
    s.put("train.epochs", "1");  // 18 steps
    s.put("checkpoint.dir", checkpoints.toString());
    s.put("checkpoint.every", "6");
    return SmallJobConf.write(dir.resolve(name + ".conf"), s);
  }

  @Test
  void aDriverKilledMidCheckpointWriteResumesFromTheLastCompleteOneBitIdentical() throws Exception {
    Path data = Files.createDirectories(dir.resolve("data"));
    SyntheticImages.writeDataset(data, 640, 100, 8, 4);
    SparkFixture.stopAll();
    long t0 = System.nanoTime();
    CliRun.Result straight = CliRun.inProcess("train", conf(data, "straight", dir.resolve("ck-straight")).toString());
    double straightSeconds = (System.nanoTime() - t0) / 1e9;
    assertEquals(0, straight.exitCode(), straight.toString());
    float[] expected = SavedModel.load(dir.resolve("straight.stm").toString(), new Configuration()).params();
    SparkFixture.stopAll();

    Path checkpoints = dir.resolve("ck-killed");
    Path killedConf = conf(data, "killed", checkpoints);
    long t1 = System.nanoTime();
    Process child = CliRun.start(dir, "train", killedConf.toString());
    String temp;
    long tempBytes;
    try {
      // the first checkpoint completes; the kill comes during the write of a later one
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
      while (CliRun.checkpointSteps(checkpoints).isEmpty()) {
        assertTrue(child.isAlive(), "the child ended before its first checkpoint: " + stderr());
        assertTrue(System.nanoTime() < deadline, "no checkpoint after 240 s");
        Thread.sleep(20);
      }
      Path seen;
      while ((seen = tempFile(checkpoints)) == null || size(seen) <= 0) {
        assertTrue(child.isAlive(), "the child ended before a second checkpoint write was seen: " + stderr());
        assertTrue(System.nanoTime() < deadline, "no second checkpoint write after 240 s");
        LockSupport.parkNanos(200_000);
      }
      child.destroyForcibly();  // SIGKILL, on sight of the temporary file with its first bytes in it
      assertTrue(child.waitFor(30, TimeUnit.SECONDS));
      assertEquals(137, child.exitValue(), "killed by SIGKILL");
      temp = seen.getFileName().toString();
      tempBytes = Files.exists(seen) ? Files.size(seen) : -1;
    } finally {
      child.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }
    double killedSeconds = (System.nanoTime() - t1) / 1e9;
    Matcher m = TEMP.matcher(temp);
    assertTrue(m.matches(), temp);
    long writing = Long.parseLong(m.group(1));
    boolean midWrite = tempBytes >= 0;  // the temporary file outlived the driver: the kill landed inside the write
    long complete = Files.size(checkpoints.resolve(String.format("ckpt-%012d.stc", writing - 6)));
    List<Long> steps = CliRun.checkpointSteps(checkpoints);
    assertFalse(Files.exists(dir.resolve("killed.stm")), "the killed run saved no model");
    if (midWrite) {
      assertFalse(steps.contains(writing), "the checkpoint being written never appears under its final name");
      assertTrue(tempBytes < complete, "the temporary file is partial: " + tempBytes + " of " + complete + " bytes");
    }
    for (long step : steps) {  // nothing half-written under a final name: every checkpoint file validates
      TensorFile.read(checkpoints.resolve(String.format("ckpt-%012d.stc", step)).toString(), new Configuration(),
          CheckpointStore.FORMAT);
    }
    long newest = steps.get(steps.size() - 1);

    long t2 = System.nanoTime();
    CliRun.Result r = CliRun.inProcess("train", killedConf.toString(), "--resume");
    double resumeSeconds = (System.nanoTime() - t2) / 1e9;
    assertEquals(0, r.exitCode(), r.toString());
    assertTrue(r.stderr().contains("--resume: continuing from step " + newest), r.stderr());
    assertFalse(r.stderr().contains("checkpoint skipped"), "no checkpoint file was invalid: " + r.stderr());
    float[] resumed = SavedModel.load(dir.resolve("killed.stm").toString(), new Configuration()).params();
    SparkFixture.stopAll();
    assertArrayEquals(expected, resumed, "resumed parameters equal the uninterrupted run's, bit for bit");
    if (midWrite) assertTrue(r.stderr().contains("removed a half-written checkpoint"), r.stderr());
    assertEquals(null, tempFile(checkpoints), "the resumed run leaves no half-written file behind");
    for (long step : CliRun.checkpointSteps(checkpoints)) {
      TensorFile.read(checkpoints.resolve(String.format("ckpt-%012d.stc", step)).toString(), new Configuration(),
          CheckpointStore.FORMAT);
    }
    System.err.printf("driver killed during a checkpoint write: kill -9 on sight of %s (checkpoint of step %d), "
        + "temporary file %s at the kill%s; resumed from step %d; killed run %.1f s (child JVM) + resume %.1f s vs "
        + "%.1f s uninterrupted%n", temp, writing, midWrite ? "present" : "already renamed",
        midWrite ? " (" + tempBytes + " of " + complete + " bytes, removed by the resume)" : "", newest,
        killedSeconds, resumeSeconds, straightSeconds);
  }

  /** A checkpoint's temporary file in dir, or null. */
  private static Path tempFile(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) return null;
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> TEMP.matcher(p.getFileName().toString()).matches()).findFirst().orElse(null);
    }
  }

  /** The file's size, or -1 once it is gone (renamed into place). */
  private static long size(Path file) {
    try {
      return Files.size(file);
    } catch (IOException e) {
      return -1;
    }
  }

  private String stderr() throws IOException {
    return Files.readString(dir.resolve(".cli-stderr"));
  }
}
