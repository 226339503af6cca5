package dev.sparktrain.transport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktrain.train.GradientSum;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The step protocol's frames and the driver endpoint, without Spark: round trips, corruption, failover. */
class StepProtocolTest {
  private static byte[] bytes(Frames.Writer w) {
    return java.util.Arrays.copyOf(w.array(), w.length());
  }

  private static Frames.Reader reader(byte[] b) {
    return new Frames.Reader(new DataInputStream(new ByteArrayInputStream(b)), "test");
  }

  @Test
  void paramsAndGradientsRoundTripExactly() throws IOException {
    float[] p = {1.5f, -0f, Float.MIN_VALUE, 3e38f, -7.25f};
    Frames.Writer w = new Frames.Writer();
    Frames.encodeParams(w, 1234567890123L, 3, 17, p);
    Frames.Frame f = reader(bytes(w)).read(Frames.paramsBody(p.length));
    assertEquals(Frames.PARAMS, f.type());
    float[] back = new float[p.length];
    Frames.StepHeader h = Frames.decodeParams(f.body(), back, "test");
    assertEquals(new Frames.StepHeader(1234567890123L, 3, 17), h);
    assertArrayEquals(p, back);

    GradientSum.Node node = new GradientSum.Node(new float[] {0.25f, -1f, 2f, 0f, 9f}, 12.5, 64, 40, new double[] {1, 2.5});
    Frames.encodeGrad(w, 99, 1, node);
    Frames.Grad g = Frames.decodeGrad(reader(bytes(w)).read(Frames.gradBody(5, 2)).body(), 5, 2, "test");
    assertEquals(99, g.step());
    assertEquals(1, g.partition());
    assertArrayEquals(node.grad(), g.node().grad());
    assertArrayEquals(node.stats(), g.node().stats());
    assertEquals(12.5, g.node().lossSum());
    assertEquals(64, g.node().count());
    assertEquals(40, g.node().correct());

    Frames.encodeGrad(w, 100, 0, new GradientSum.Node(null, 0, 0, 0));  // a partition without examples
    Frames.Grad empty = Frames.decodeGrad(reader(bytes(w)).read(Frames.gradBody(5, 2)).body(), 5, 2, "test");
    assertNull(empty.node().grad());
    assertNull(empty.node().stats());
  }

  @Test
  void everyBitFlipAndTruncationIsRejected() throws IOException {
    Frames.Writer w = new Frames.Writer();
    Frames.encodeParams(w, 7, 0, 7, new float[] {1, 2, 3});
    byte[] good = bytes(w);
    for (int bit = 0; bit < good.length * 8; bit++) {
      byte[] bad = good.clone();
      bad[bit / 8] ^= (byte) (1 << (bit % 8));
      int b = bit;
      assertThrows(IOException.class, () -> reader(bad).read(Frames.paramsBody(3)), "bit " + b);
    }
    for (int len = 0; len < good.length; len++) {
      byte[] cut = java.util.Arrays.copyOf(good, len);
      assertThrows(IOException.class, () -> reader(cut).read(Frames.paramsBody(3)), "truncated to " + len);
    }
    IOException big = assertThrows(IOException.class, () -> reader(good).read(Frames.paramsBody(2)));
    assertTrue(big.getMessage().contains("at most"), big.getMessage());
  }

  /** HELLO carries the tree listener's address and PEER gives it out; bad lengths are refused with the field named. */
  @Test
  void helloAndPeerCarryTheTreeAddressAndRefuseBadLengths() throws IOException {
    ChannelSecurity.Run run = ChannelSecurity.Run.random(false);
    Frames.Hello h = new Frames.Hello(run.id(), ChannelSecurity.nonce(), 3, 1, 0, 42, 0, "exec-7").withListen("10.0.0.5:40123");
    Frames.Hello back = Frames.Hello.decode(java.nio.ByteBuffer.wrap(h.body()).order(java.nio.ByteOrder.LITTLE_ENDIAN), "t");
    assertEquals("10.0.0.5:40123", back.listen());
    assertEquals("exec-7", back.executor());
    assertEquals(3, back.partition());
    assertEquals("", Frames.Hello.decode(java.nio.ByteBuffer.wrap(new Frames.Hello(run.id(), ChannelSecurity.nonce(), 0, 0, 0, 1, 0, "e").body())
        .order(java.nio.ByteOrder.LITTLE_ENDIAN), "t").listen());
    byte[] bad = h.body();
    bad[bad.length - "10.0.0.5:40123".length() - 2] = (byte) 0xFF;  // the listener's length, now past the body
    IOException e = assertThrows(IOException.class,
        () -> Frames.Hello.decode(java.nio.ByteBuffer.wrap(bad).order(java.nio.ByteOrder.LITTLE_ENDIAN), "t"));
    assertTrue(e.getMessage().contains("listener address has length"), e.getMessage());
    Frames.Peer peer = new Frames.Peer(2, 1, "10.0.0.5:40123");
    assertEquals(peer, Frames.Peer.decode(java.nio.ByteBuffer.wrap(peer.body()).order(java.nio.ByteOrder.LITTLE_ENDIAN), "t"));
    byte[] noPort = new Frames.Peer(2, 1, "nohost").body();
    assertThrows(IOException.class, () -> Frames.Peer.decode(java.nio.ByteBuffer.wrap(noPort).order(java.nio.ByteOrder.LITTLE_ENDIAN), "t"));
    assertTrue(Frames.Hello.MAX_BODY >= h.body().length && Frames.Peer.MAX_BODY >= peer.body().length);
  }

  /** A fake task: connects, then answers each PARAMS with grad = params · (partition + 1), count 1. */
  static CompletableFuture<Integer> task(int port, ChannelSecurity.Run run, int partition, int stageAttempt, int stepsThenDie) {
    return task(port, run, partition, stageAttempt, stepsThenDie, false);
  }

  /** As above, connected in-process (a task in the driver's JVM) or over TCP. */
  static CompletableFuture<Integer> task(int port, ChannelSecurity.Run run, int partition, int stageAttempt, int stepsThenDie,
                                         boolean inProcess) {
    return CompletableFuture.supplyAsync(() -> {
      int steps = 0;
      Frames.Hello hello = new Frames.Hello(run.id(), ChannelSecurity.nonce(), partition, stageAttempt, 0, 1000 + partition,
          run.encrypt() ? Frames.ENCRYPTED : 0, "test-executor");
      try (StepServer.Link c = inProcess ? StepServer.inProcess(hello) : new StepClient("127.0.0.1", port, run, hello, 3, 60_000)) {
        while (true) {
          StepServer.Message m = c.next(() -> {});
          if (m.isStop()) return steps;
          if (steps == stepsThenDie) return -1;  // dies with the step in flight, without answering
          float[] g = new float[3];
          for (int i = 0; i < 3; i++) g[i] = m.params()[i] * (partition + 1);
          c.sendGrad(m.step(), partition, new GradientSum.Node(g, 1, 1, 0));
          steps++;
        }
      } catch (IOException e) {
        return -2;
      }
    });
  }

  @Test
  void aRelaunchedTaskIsSentTheStepInFlightAndTheResultIsUnchanged() throws Exception {
    relaunch(false, false);
  }

  @Test
  void anEncryptedChannelGivesTheSameExchange() throws Exception {
    relaunch(false, true);
  }

  @Test
  void inProcessTasksFollowTheSameProtocol() throws Exception {
    relaunch(true, false);
  }

  private void relaunch(boolean inProcess, boolean encrypt) throws Exception {
    ChannelSecurity.Run run = ChannelSecurity.Run.random(encrypt);
    List<String> log = java.util.Collections.synchronizedList(new ArrayList<>());
    try (StepServer server = new StepServer(StepServer.Config.local(2, 3, 0).withRun(run).withTimeout(0, StepServer.Watchdog.NONE, log::add))) {
      List<CompletableFuture<Integer>> tasks = new ArrayList<>();
      tasks.add(task(server.port(), run, 0, 0, -1, inProcess));
      tasks.add(task(server.port(), run, 1, 0, 2, inProcess));  // partition 1 dies at its third step
      // a task of another run (another id and secret) is refused
      CompletableFuture<Integer> impostor = task(server.port(), ChannelSecurity.Run.random(encrypt), 0, 0, -1);
      float[] params = {1, 2, 3};
      for (int step = 0; step < 5; step++) {
        if (step == 2) tasks.add(task(server.port(), run, 1, 1, -1, inProcess));  // Spark's relaunch, stage attempt 1
        GradientSum.Node[] got = server.exchange(step, 0, step, params, () -> null);
        for (int part = 0; part < 2; part++) {
          for (int i = 0; i < 3; i++) assertEquals(params[i] * (part + 1), got[part].grad()[i], "step " + step);
        }
        for (int i = 0; i < 3; i++) params[i] += 1;
      }
      server.stop();
      assertEquals(-1, tasks.get(1).get(10, TimeUnit.SECONDS), "the task that died");
      assertEquals(5, tasks.get(0).get(10, TimeUnit.SECONDS));
      assertEquals(3, tasks.get(2).get(10, TimeUnit.SECONDS), "the relaunched task computed steps 2, 3, 4");
      assertEquals(-2, impostor.get(10, TimeUnit.SECONDS), "a HELLO of another run ends the connection");
      assertTrue(log.stream().anyMatch(l -> l.contains("refused: HELLO from a task of another run")), log.toString());
    }
  }

  /**
   * A barrier stage fails with the step in flight after one partition answered: its in-process task ended, and
   * its thread's buffer (the gradient it handed over) is then reused by a task of the relaunched stage. The
   * exchange must take the relaunched attempts' gradients, not the overwritten one (TaskRetryDeterminismTest saw
   * this as an occasional difference in the last bits).
   */
  @Test
  void aGradientOfAnEndedInProcessAttemptIsNotKept() throws Exception {
    ChannelSecurity.Run run = ChannelSecurity.Run.random(false);
    try (StepServer server = new StepServer(StepServer.Config.local(2, 3, 0).withRun(run))) {
      float[] params = {1, 2, 3};
      float[] handedOver = new float[3];
      CompletableFuture<Void> answerThenEnd = CompletableFuture.runAsync(() -> {
        Frames.Hello hello = new Frames.Hello(run.id(), ChannelSecurity.nonce(), 1, 0, 0, 1001, 0, "test-executor");
        try (StepServer.Link c = StepServer.inProcess(hello)) {
          StepServer.Message m = c.next(() -> {});
          for (int i = 0; i < 3; i++) handedOver[i] = m.params()[i] * 2;
          c.sendGrad(m.step(), 1, new GradientSum.Node(handedOver, 1, 1, 0));
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      });
      CompletableFuture<GradientSum.Node[]> exchange =
          CompletableFuture.supplyAsync(() -> server.exchange(0, 0, 0, params, () -> null));
      answerThenEnd.get(10, TimeUnit.SECONDS);
      java.util.Arrays.fill(handedOver, -99);  // the thread's next task reuses its buffer
      List<CompletableFuture<Integer>> relaunched = List.of(task(server.port(), run, 0, 1, -1, true),
          task(server.port(), run, 1, 1, -1, true));
      GradientSum.Node[] got = exchange.get(10, TimeUnit.SECONDS);
      for (int part = 0; part < 2; part++) {
        for (int i = 0; i < 3; i++) assertEquals(params[i] * (part + 1), got[part].grad()[i], "partition " + part);
      }
      server.stop();
      for (CompletableFuture<Integer> t : relaunched) assertEquals(1, t.get(10, TimeUnit.SECONDS));
    }
  }

  @Test
  void aFailedJobEndsTheWait() throws Exception {
    try (StepServer server = new StepServer(StepServer.Config.local(2, 3, 0))) {
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> server.exchange(0, 0, 0, new float[3], () -> new IllegalStateException("the barrier job failed")));
      assertEquals("the barrier job failed", e.getMessage());
    }
  }
}
