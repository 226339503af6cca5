package dev.sparktrain.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktrain.io.SavedModel;
import dev.sparktrain.testing.CliRun;
import dev.sparktrain.testing.Ports;
import dev.sparktrain.testing.SparkFixture;
import dev.sparktrain.testing.SyntheticImages;
import dev.sparktrain.transport.Frames;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The barrier engine's step channel on a cluster of executor JVMs (local-cluster[2,1,1024]).
 *
 * <p>Encryption: with conf/spark-secure.properties the tasks reach the driver's endpoint through a relay that
 * records every byte. No pair of adjacent parameter floats that the driver sent appears in those bytes, while the
 * same check finds them in a run without Spark security (the control, so the check can fail), and both runs end
 * with local[2]'s bits.
 *
 * <p>Hangs: an executor SIGSTOPped for longer than train.step_timeout; the driver's watchdog kills its task and
 * replaces the executor, Spark relaunches the barrier stage, and the run ends with local[2]'s bits.
 */
class StepChannelClusterTest {
  @TempDir Path dir;

  private Map<String, String> settings(Path data, String name) {
    Map<String, String> s = SmallJobConf.settings(data, dir.resolve(name + ".stm"), dir.resolve(name + "-p"));
    s.put("model.layers", "dense(16), relu, dropout(0.2), dense(4)");
    s.put("train.epochs", "3");
    s.put("train.engine", "barrier");
    return s;
  }

  private void onCluster(Map<String, String> s) {
    SmallJobConf.onMaster(s, "local-cluster[2,1,1024]");
  }

  private float[] train(Map<String, String> s, String name) throws Exception {
    SparkFixture.stopAll();
    CliRun.Result r = CliRun.inProcess("train", SmallJobConf.write(dir.resolve(name + ".conf"), s).toString());
    assertEquals(0, r.exitCode(), name + "\n" + r);
    return SavedModel.load(dir.resolve(name + ".stm").toString(), new Configuration()).params();
  }

  /** A TCP relay from a free port to target that keeps the driver-to-task bytes of every connection. */
  static final class Relay implements AutoCloseable {
    final ServerSocket server = new ServerSocket(0, 16, InetAddress.getLoopbackAddress());
    final List<ByteArrayOutputStream> toTasks = Collections.synchronizedList(new ArrayList<>());
    final List<ByteArrayOutputStream> toDriver = Collections.synchronizedList(new ArrayList<>());

    Relay(int target) throws IOException {
      Thread t = new Thread(() -> {
        while (true) {
          try {
            Socket task = server.accept();
            Socket driver = new Socket(InetAddress.getLoopbackAddress(), target);
            ByteArrayOutputStream down = new ByteArrayOutputStream(), up = new ByteArrayOutputStream();
            toTasks.add(down);
            toDriver.add(up);
            pump(driver.getInputStream(), task.getOutputStream(), down, task, driver);
            pump(task.getInputStream(), driver.getOutputStream(), up, task, driver);
          } catch (IOException e) {
            return;  // closed
          }
        }
      }, "relay");
      t.setDaemon(true);
      t.start();
    }

    private static void pump(InputStream in, OutputStream out, ByteArrayOutputStream copy, Socket a, Socket b) {
      Thread t = new Thread(() -> {
        byte[] buf = new byte[1 << 16];
        try {
          for (int n; (n = in.read(buf)) > 0; ) {
            synchronized (copy) {
              copy.write(buf, 0, n);
            }
            out.write(buf, 0, n);
            out.flush();
          }
        } catch (IOException ignored) {
          // one side closed
        } finally {
          try {
            a.close();
            b.close();
          } catch (IOException ignored) {
            // closing
          }
        }
      }, "relay-pump");
      t.setDaemon(true);
      t.start();
    }

    int port() {
      return server.getLocalPort();
    }

    static byte[] all(List<ByteArrayOutputStream> streams) {
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      synchronized (streams) {
        for (ByteArrayOutputStream s : streams) {
          synchronized (s) {
            all.writeBytes(s.toByteArray());
          }
        }
      }
      return all.toByteArray();
    }

    @Override
    public void close() throws IOException {
      server.close();
    }
  }

  /** Every pair of adjacent parameter floats in the PARAMS frames of plain driver-to-task streams, as 8 bytes. */
  private static Set<Long> paramPairs(List<ByteArrayOutputStream> plainStreams) throws IOException {
    Set<Long> pairs = new HashSet<>();
    for (ByteArrayOutputStream s : plainStreams) {
      Frames.Reader r = new Frames.Reader(new DataInputStream(new ByteArrayInputStream(s.toByteArray())), "capture");
      while (true) {
        Frames.Frame f;
        try {
          f = r.read(1 << 24);
        } catch (IOException end) {
          break;
        }
        if (f.type() != Frames.PARAMS) continue;
        ByteBuffer b = f.body();
        b.position(20);
        while (b.remaining() >= 8) {
          pairs.add(b.getLong(b.position()));
          b.position(b.position() + 4);
        }
      }
    }
    return pairs;
  }

  /** How many 8-byte windows of bytes are in pairs. */
  private static int found(byte[] bytes, Set<Long> pairs) {
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    int hits = 0;
    for (int i = 0; i + 8 <= bytes.length; i++) if (pairs.contains(b.getLong(i))) hits++;
    return hits;
  }


  @Test
  void withSparkSecurityNoParameterTravelsInTheClearAndTheBitsAreUnchanged() throws Exception {
    Path data = Files.createDirectories(dir.resolve("data"));
    SyntheticImages.writeDataset(data, 900, 100, 8, 4);
    float[] local = train(settings(data, "local"), "local");
    Properties secure = new Properties();
    try (InputStream in = Files.newInputStream(CliRun.repoRoot().resolve("conf/spark-secure.properties"))) {
      secure.load(in);
    }
    Map<String, List<ByteArrayOutputStream>> down = new LinkedHashMap<>(), up = new LinkedHashMap<>();
    Map<String, float[]> models = new LinkedHashMap<>();
    for (String mode : List.of("plain", "secure")) {
      Map<String, String> s = settings(data, mode);
      onCluster(s);
      if (mode.equals("secure")) {
        secure.stringPropertyNames().forEach(k -> s.put(k, secure.getProperty(k)));
        s.put("spark.authenticate.secret", UUID.randomUUID().toString());
      }
      int endpoint = Ports.unused();
      try (Relay relay = new Relay(endpoint)) {
        s.put("train.step_port", "" + endpoint);
        s.put("train.step_advertise", "127.0.0.1:" + relay.port());
        models.put(mode, train(s, mode));
        down.put(mode, relay.toTasks);
        up.put(mode, relay.toDriver);
      }
    }
    SparkFixture.stopAll();
    assertArrayEquals(local, models.get("plain"), "plain step channel vs local[2]");
    assertArrayEquals(local, models.get("secure"), "encrypted step channel vs local[2]");
    Set<Long> pairs = paramPairs(down.get("plain"));
    byte[] plain = Relay.all(down.get("plain")), sealed = Relay.all(down.get("secure"));
    byte[] plainUp = Relay.all(up.get("plain")), sealedUp = Relay.all(up.get("secure"));
    assertTrue(pairs.size() > 1000, "the plain run's PARAMS hold " + pairs.size() + " distinct float pairs");
    int inPlain = found(plain, pairs), inSealed = found(sealed, pairs);
    System.err.printf("relay: driver→tasks %,d bytes plain, %,d encrypted; tasks→driver %,d plain, %,d encrypted; "
        + "%,d parameter float pairs found in the plain bytes, %d in the encrypted ones%n", plain.length, sealed.length,
        plainUp.length, sealedUp.length, inPlain, inSealed);
    assertTrue(inPlain >= pairs.size(), "the control: the plain capture shows the parameters");
    assertTrue(sealed.length > plain.length / 2, "the encrypted run's steps went through the relay: " + sealed.length);
    assertEquals(0, inSealed, "parameter floats in the clear on the encrypted channel");
  }

  @Test
  void anExecutorStoppedPastTheStepTimeoutIsReplacedAndTheBitsAreUnchanged() throws Exception {
    Path data = Files.createDirectories(dir.resolve("data"));
    SyntheticImages.writeDataset(data, 1600, 100, 8, 4);
    float[] local = train(settings(data, "local"), "local");
    Map<String, String> s = settings(data, "hang");
    onCluster(s);
    Path checkpoints = dir.resolve("ck");
    s.put("checkpoint.dir", checkpoints.toString());  // only to see from outside how far training got
    s.put("checkpoint.every", "5");
    s.put("train.step_timeout", "10");
    SparkFixture.stopAll();
    String conf = SmallJobConf.write(dir.resolve("hang.conf"), s).toString();
    long t0 = System.nanoTime();
    CompletableFuture<CliRun.Result> training = CompletableFuture.supplyAsync(() -> CliRun.inProcess("train", conf));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
    while (!CliRun.checkpointSteps(checkpoints).contains(20L)) {
      assertTrue(!training.isDone(), "training ended before an executor was stopped: " + (training.isDone() ? training.get() : ""));
      assertTrue(System.nanoTime() < deadline, "no checkpoint at step 20 after 180 s");
      Thread.sleep(20);
    }
    List<ProcessHandle> executors = ProcessHandle.current().descendants()
        .filter(p -> p.info().commandLine().orElse("").contains("CoarseGrainedExecutorBackend")).toList();
    assertEquals(2, executors.size(), "two executor JVMs");
    long victim = executors.get(0).pid();
    long stopped = System.nanoTime();
    signal("STOP", victim);
    long before = CliRun.checkpointSteps(checkpoints).stream().mapToLong(Long::longValue).max().orElseThrow();
    // held stopped well past the 10 s timeout; the run must go on without it
    Long resumedAfter = null;
    while (System.nanoTime() - stopped < TimeUnit.SECONDS.toNanos(40)) {
      long now = CliRun.checkpointSteps(checkpoints).stream().mapToLong(Long::longValue).max().orElseThrow();
      if (resumedAfter == null && now > before + 5) resumedAfter = System.nanoTime();
      if (training.isDone()) break;
      Thread.sleep(50);
    }
    boolean replaced = ProcessHandle.of(victim).map(h -> !h.isAlive()).orElse(true);
    if (!replaced) signal("CONT", victim);
    CliRun.Result r = training.get(300, TimeUnit.SECONDS);
    double total = (System.nanoTime() - t0) / 1e9;
    SparkFixture.stopAll();
    assertEquals(0, r.exitCode(), r.toString());
    assertTrue(resumedAfter != null, "training went on while the executor was stopped\n" + r);
    double after = (resumedAfter - stopped) / 1e9;
    System.err.printf("hang: executor %d SIGSTOPped after step %d (step timeout 10 s); %s; training went on %.1f s after "
        + "the stop; run %.1f s%n", victim, before, replaced ? "the driver had it killed and replaced" : "continued after 40 s",
        after, total);
    assertTrue(after < 10 + 30, "went on within the timeout plus 30 s: " + after);
    assertTrue(r.stderr().contains("has not answered step"), "the driver named the partition:\n" + r);
    assertArrayEquals(local, SavedModel.load(dir.resolve("hang.stm").toString(), new Configuration()).params(),
        "a run whose executor hung vs local[2]");
  }

  private static void signal(String sig, long pid) throws Exception {
    Process p = new ProcessBuilder("kill", "-" + sig, "" + pid).inheritIO().start();
    assertEquals(0, p.waitFor(), "kill -" + sig + " " + pid);
  }
}
