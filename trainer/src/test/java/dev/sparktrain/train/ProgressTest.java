package dev.sparktrain.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Progress inside an epoch on a fake clock: plain lines spaced by progress.every_seconds, none with 0, a bar
 * redrawn at most 4 times a second, and examples/s and the epoch's and run's time left from the epoch's pace.
 */
class ProgressTest {
  private final AtomicLong now = new AtomicLong(1_000_000_000L);
  private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

  private ConsoleProgress console(boolean bar, double every) {
    return new ConsoleProgress(new Progress(new PrintStream(bytes, true, StandardCharsets.UTF_8), bar, "", now::get, every));
  }

  /** Two epochs of 20 steps of 128 examples, one step every 300 ms. */
  private String run(ConsoleProgress p) {
    p.onTrainStart(new Callback.TrainStart(2, 20, LoopState.start(new float[1]), FloatBuffer.wrap(new float[1])), null);
    for (int epoch = 0; epoch < 2; epoch++) {
      for (int t = 0; t < 20; t++) {
        now.addAndGet(300_000_000L);
        long step = epoch * 20L + t;
        p.onStepEnd(new Callback.StepEnd(epoch, t, 20, step, 0.5, 0.25, 0.01, 128, FloatBuffer.wrap(new float[1]),
            FloatBuffer.wrap(new float[1]), null), null);
      }
      p.onEpochEnd(new Callback.EpochEnd(epoch, 2, 0.25, null, 0.01, 0.01, 6, 400, FloatBuffer.wrap(new float[1]), null),
          null);
    }
    return bytes.toString(StandardCharsets.UTF_8);
  }

  @Test
  void plainLinesAreSpacedByTheInterval() {
    String out = run(console(false, 1));
    List<String> lines = out.lines().filter(l -> l.contains("iteration")).toList();
    // each epoch lasts 6 s: a line after 1.2, 2.4, 3.6, 4.8 s (iterations 4, 8, 12, 16; 20 ends the epoch)
    assertEquals(8, lines.size(), out);
    assertTrue(lines.get(0).contains("epoch 1/2  iteration 4/20  step 4/40"), lines.get(0));
    // 128 examples per 0.3 s; 16 iterations left at 0.3 s, 36 in the run
    assertTrue(lines.get(0).contains("427 ex/s  loss 0.2500  eta epoch 0m04s  run 0m10s"), lines.get(0));
    assertTrue(lines.get(4).contains("epoch 2/2  iteration 4/20  step 24/40"), lines.get(4));
    assertEquals(2, out.lines().filter(l -> l.startsWith("epoch ")).count(), out);
    assertTrue(!out.contains("\r"), "no carriage returns in plain mode");
  }

  @Test
  void zeroSecondsMeansOnlyEpochLines() {
    String out = run(console(false, 0));
    assertEquals(List.of("epoch 1/2", "epoch 2/2"), out.lines().map(l -> l.substring(0, 9)).toList(), out);
  }

  @Test
  void theBarIsRedrawnAtMostFourTimesASecond() {
    String out = run(console(true, 30));
    Matcher m = Pattern.compile("\r  epoch (\\d)/2 \\[[#.]{24}\\] (\\d+)/20  step (\\d+)/40  ([\\d,]+) ex/s  loss 0\\.2500  "
        + "eta \\d+m\\d\\ds \\(run \\d+m\\d\\ds\\)\033\\[K").matcher(out);
    int frames = 0;
    while (m.find()) frames++;
    // a frame every 300 ms is ≥ 250 ms after the last: every step draws; at 100 ms only every third would
    assertEquals(40, frames, out);
    assertTrue(!out.contains("iteration"), "no plain lines on a terminal");
    bytes.reset();
    ConsoleProgress fast = console(true, 30);
    fast.onTrainStart(new Callback.TrainStart(1, 100, LoopState.start(new float[1]), FloatBuffer.wrap(new float[1])), null);
    for (int t = 0; t < 100; t++) {
      now.addAndGet(100_000_000L);
      fast.onStepEnd(new Callback.StepEnd(0, t, 100, t, 0.5, 0.25, 0.01, 128, FloatBuffer.wrap(new float[1]),
          FloatBuffer.wrap(new float[1]), null), null);
    }
    long drawn = bytes.toString(StandardCharsets.UTF_8).chars().filter(c -> c == '\r').count();
    // 10 s of steps: at most one frame per 250 ms (first step included) plus the epoch's last frame
    assertTrue(drawn <= 10 / 0.25 + 2 && drawn >= 30, "frames: " + drawn);
  }
}
