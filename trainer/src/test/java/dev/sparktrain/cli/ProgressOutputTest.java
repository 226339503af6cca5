package dev.sparktrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktrain.testing.CliRun;
import dev.sparktrain.testing.SyntheticImages;
import dev.sparktrain.train.Callback;
import dev.sparktrain.train.Hooks;
import dev.sparktrain.train.LoopControl;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Progress inside an epoch, both ways: on a pseudo-terminal (util-linux {@code script}) a bar that rewrites one line
 * with carriage returns and no plain lines, without Spark's own stage bar; written to a file, plain lines spaced
 * by progress.every_seconds.
 */
class ProgressOutputTest {
  @TempDir Path dir;

  private Path conf(Map<String, String> extra) throws IOException {
    Path data = dir.resolve("data");
    Files.createDirectories(data);
    SyntheticImages.writeDataset(data, 1600, 200, 8, 4);
    Map<String, String> s = SmallJobConf.settings(data, dir.resolve("m.stm"), dir.resolve("pred"));
    s.put("data.shape", "1x8x8");
    s.put("model.layers", "conv(8, 3), relu, maxpool(2), flatten, dense(16), relu, dense(4)");
    s.put("train.epochs", "3");
    s.putAll(extra);
    return SmallJobConf.write(dir.resolve("p.conf"), s);
  }

  private static final Pattern PLAIN = Pattern.compile(
      "^  epoch (\\d)/3  iteration (\\d+)/(\\d+)  step (\\d+)/(\\d+)  [\\d,]+ ex/s  loss \\d+\\.\\d{4}  eta epoch \\d+m\\d\\ds  "
      + "run \\d+m\\d\\ds  elapsed (\\d+)m(\\d\\d)s$");

  /** The elapsed seconds of each plain progress line in stderr. */
  private static List<Long> plainLineSeconds(String stderr) {
    List<Long> at = new ArrayList<>();
    for (String l : stderr.lines().toList()) {
      Matcher m = PLAIN.matcher(l);
      if (m.matches()) at.add(Long.parseLong(m.group(6)) * 60 + Long.parseLong(m.group(7)));
    }
    return at;
  }

  @Test
  void toAFilePlainLinesSpacedByTheInterval() throws Exception {
    // 40 ms per step: about 5 s of steps, so lines at least 1 s apart show several times
    Callback slow = new Callback() {
      @Override public void onStepEnd(StepEnd e, LoopControl loop) {
        try {
          Thread.sleep(40);
        } catch (InterruptedException x) {
          Thread.currentThread().interrupt();
        }
      }
    };
    CliRun.Result r = CliRun.inProcess(Hooks.of(slow), "train", conf(Map.of("progress.every_seconds", "1")).toString());
    assertEquals(0, r.exitCode(), r.toString());
    List<Long> at = plainLineSeconds(r.stderr());
    assertTrue(at.size() >= 3, "plain progress lines: " + r.stderr());
    for (int i = 1; i < at.size(); i++) assertTrue(at.get(i) - at.get(i - 1) >= 1, "lines ≥ 1 s apart: " + at);
    assertFalse(r.stderr().contains("\r"), "no bar off a terminal");

    CliRun.Result quiet = CliRun.inProcess(Hooks.of(slow), "train", conf(Map.of("progress.every_seconds", "0")).toString());
    assertEquals(0, quiet.exitCode(), quiet.toString());
    assertEquals(0, quiet.stderr().lines().filter(l -> PLAIN.matcher(l).matches()).count(), quiet.stderr());
    assertEquals(3, quiet.stderr().lines().filter(l -> l.startsWith("epoch ")).count(), quiet.stderr());
  }

  /** The real command in its own JVM with stderr to a file, as cron or spark-submit logs have it. */
  @Test
  void aChildJvmWritingToAFilePrintsPlainLinesSpacedByTheInterval() throws Exception {
    Path c = conf(Map.of("progress.every_seconds", "1", "train.engine", "job"));  // a Spark job per step: seconds of steps
    CliRun.Result r = CliRun.subprocess(dir, 300, "train", c.toString());  // stderr goes to a file in dir
    assertEquals(0, r.exitCode(), r.toString());
    List<Long> at = plainLineSeconds(r.stderr());
    assertTrue(at.size() >= 2, "plain progress lines in the file: " + r.stderr());
    for (int i = 1; i < at.size(); i++) assertTrue(at.get(i) - at.get(i - 1) >= 1, "lines ≥ 1 s apart: " + at);
    assertFalse(r.stderr().contains("\r"), "no bar in a file");
  }

  @Test
  void onAPseudoTerminalABarRewritesOneLine() throws Exception {
    Path c = conf(Map.of("train.epochs", "6"));
    List<String> java = CliRun.javaCommand(List.of("train", c.toString()));
    String command = String.join(" ", java.stream().map(a -> "'" + a.replace("'", "'\\''") + "'").toList());
    Path out = dir.resolve("tty.out");
    ProcessBuilder pb = new ProcessBuilder("script", "-qfec", command, "/dev/null").directory(dir.toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
        .redirectOutput(out.toFile()).redirectErrorStream(true);
    pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
    pb.environment().put("OPENBLAS_NUM_THREADS", "1");
    pb.environment().remove("SPARKTRAIN_PROGRESS");
    pb.environment().remove("CI");
    Process p = pb.start();
    assertTrue(p.waitFor(300, TimeUnit.SECONDS), "finished");
    String text = Files.readString(out, StandardCharsets.UTF_8);
    assertEquals(0, p.exitValue(), text);
    Matcher m = Pattern.compile("\r  epoch (\\d)/6 \\[[#.]{24}\\] (\\d+)/(\\d+)  step [\\d,]+/[\\d,]+  [\\d,]+ ex/s  loss "
        + "\\d+\\.\\d{4}  eta \\d+m\\d\\ds \\(run \\d+m\\d\\ds\\)\033\\[K").matcher(text);
    int frames = 0;
    while (m.find()) {
      frames++;
      // a frame is followed by the next frame or the clearing of the line, never by a new line
      assertFalse(text.startsWith("\n", m.end()) || text.startsWith("\r\n", m.end()), "a frame ends a line at " + m.end());
    }
    assertTrue(frames >= 6, "bar frames: " + frames + "\n" + text);
    assertTrue(text.contains("\r\033[Kepoch 6/6  train_loss"), "the epoch line replaces the bar\n" + text);
    assertFalse(text.contains("iteration "), "no plain lines on a terminal\n" + text);
    assertFalse(text.contains("[Stage "), "Spark's console progress bar stays off\n" + text);
    assertTrue(text.contains("\"test_accuracy\""), text);
  }
}
