package dev.sparktrain.transport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktrain.JobFailure;
import dev.sparktrain.train.GradientSum;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * The step channel's handshake and sealed frames, without Spark: the right secret connects; a wrong secret, a
 * replayed HELLO, a frame from another connection, one flipped bit of ciphertext, a replayed or reordered frame and
 * a truncated frame are each refused, and the driver logs why. Also the hang guards: a partition that does not
 * answer is reported to the watchdog and then given up on, a task whose driver falls silent ends, and heartbeats
 * keep an idle task from taking a live driver for gone.
 */
class StepChannelSecurityTest {
  private final List<String> log = Collections.synchronizedList(new ArrayList<>());

  private StepServer server(ChannelSecurity.Run run, int partitions) throws IOException {
    return new StepServer(StepServer.Config.local(partitions, 3, 0).withRun(run).withTimeout(0, StepServer.Watchdog.NONE, log::add));
  }

  /** A task speaking the protocol by hand, so that the test can send what a real task never would. */
  static final class RawTask implements AutoCloseable {
    final Socket socket;
    final DataInputStream in;
    final OutputStream out;
    final Frames.Reader reader;
    final ByteArrayOutputStream sent = new ByteArrayOutputStream();
    ChannelSecurity.Aead sealer;
    /** The driver's KEY frame's body, on an encrypted run. */
    byte[] keyBody;

    /** Connects and runs the handshake for partition, proving proofSecret (the run's, or a wrong one). */
    RawTask(int port, ChannelSecurity.Run run, int partition, byte[] proofSecret) throws IOException {
      socket = new Socket("127.0.0.1", port);
      socket.setSoTimeout(10_000);
      in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
      out = socket.getOutputStream();
      reader = new Frames.Reader(in, "raw task");
      byte[] hello = new Frames.Hello(run.id(), ChannelSecurity.nonce(), partition, 0, 0, 7, run.encrypt() ? 1 : 0, "raw").body();
      send(frame(Frames.HELLO, hello));
      Frames.Challenge c = Frames.Challenge.decode(reader.read(Frames.Challenge.BODY).body());
      byte[] transcript = ChannelSecurity.transcript(hello, c.nonce(), c.flags());
      send(frame(Frames.PROOF, ChannelSecurity.taskProof(proofSecret, transcript)));
      if (run.encrypt()) {
        sealer = ChannelSecurity.sealer(run.secret(), transcript, ChannelSecurity.TASK_TO_DRIVER);
        reader.decrypt(ChannelSecurity.opener(run.secret(), transcript, ChannelSecurity.DRIVER_TO_TASK));
        if (Arrays.equals(proofSecret, run.secret())) {  // else refused: no KEY comes
          Frames.Frame k = reader.read(ChannelSecurity.KEY_BODY);
          assertEquals(Frames.KEY, k.type());
          keyBody = Frames.copy(k.body());
          reader.broadcast(ChannelSecurity.broadcastOpener(Arrays.copyOf(keyBody, 16)),
              java.nio.ByteBuffer.wrap(keyBody, 16, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong());
        }
      }
    }

    /** Replays recorded handshake bytes (a HELLO and its PROOF) on a new connection. */
    RawTask(int port, byte[] helloFrame, byte[] proofFrame) throws IOException {
      socket = new Socket("127.0.0.1", port);
      socket.setSoTimeout(10_000);
      in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
      out = socket.getOutputStream();
      reader = new Frames.Reader(in, "replayer");
      send(helloFrame);
      reader.read(Frames.Challenge.BODY);
      send(proofFrame);
    }

    void send(byte[] b) throws IOException {
      sent.write(b);
      out.write(b);
      out.flush();
    }

    /** The bytes of a sealed GRAD frame of this connection (the next in its sequence). */
    byte[] sealedGrad(long step, int partition) {
      Frames.Writer w = new Frames.Writer();
      Frames.encodeGrad(w, step, partition, new GradientSum.Node(new float[] {1, 2, 3}, 1, 1, 0));
      byte[] b = new byte[8 + w.length() + ChannelSecurity.TAG];
      int n = sealer.seal(w.array(), 0, w.length(), b);
      return Arrays.copyOf(b, n);
    }

    /** Whether the driver closed the connection within 10 s (reads what is left until the end). */
    boolean closedByDriver() throws IOException {
      try {
        while (in.read() >= 0) {
          // drain PARAMS or PING
        }
        return true;
      } catch (SocketTimeoutException e) {
        return false;
      } catch (IOException e) {
        return true;  // reset
      }
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }

  static byte[] frame(int type, byte[] body) {
    Frames.Writer w = new Frames.Writer();
    Frames.encode(w, type, body);
    return Arrays.copyOf(w.array(), w.length());
  }

  /** Runs exchange for step 0 in the background until stopped; returns it and the flag that stops it. */
  private static CompletableFuture<GradientSum.Node[]> exchange(StepServer s, AtomicBoolean stop) {
    return CompletableFuture.supplyAsync(() -> s.exchange(0, 0, 0, new float[] {4, 5, 6},
        () -> stop.get() ? new IllegalStateException("stopped") : null));
  }

  private boolean logged(String text) throws InterruptedException {
    for (int i = 0; i < 100; i++) {
      synchronized (log) {
        if (log.stream().anyMatch(l -> l.contains(text))) return true;
      }
      Thread.sleep(50);
    }
    return false;
  }

  @Test
  void theRightSecretConnectsAndEveryFrameIsSealed() throws Exception {
    ChannelSecurity.Run run = ChannelSecurity.Run.random(true);
    AtomicBoolean stop = new AtomicBoolean();
    try (StepServer s = server(run, 1); RawTask t = new RawTask(s.port(), run, 0, run.secret())) {
      CompletableFuture<GradientSum.Node[]> x = exchange(s, stop);
      Frames.Frame params = t.reader.read(Frames.paramsBody(3));  // opened with the connection's key
      float[] p = new float[3];
      Frames.decodeParams(params.body(), p, "test");
      assertArrayEquals(new float[] {4, 5, 6}, p);
      t.send(t.sealedGrad(0, 0));
      assertArrayEquals(new float[] {1, 2, 3}, x.get(10, TimeUnit.SECONDS)[0].grad());
      assertEquals(List.of(), log);
    }
  }

  @Test
  void aWrongSecretIsRefusedOnBothSides() throws Exception {
    ChannelSecurity.Run run = ChannelSecurity.Run.random(true);
    byte[] wrong = ChannelSecurity.Run.random(true).secret();
    try (StepServer s = server(run, 1)) {
      // the task checks the driver's proof first: a task with a wrong secret takes the endpoint for a stranger
      ChannelSecurity.Run wrongRun = new ChannelSecurity.Run(run.id(), wrong, true);
      Frames.Hello hello = new Frames.Hello(run.id(), ChannelSecurity.nonce(), 0, 0, 0, 7, 1, "x");
      IOException e = assertThrows(IOException.class, () -> new StepClient("127.0.0.1", s.port(), wrongRun, hello, 3, 60_000));
      assertTrue(e.getMessage().contains("did not prove this run's secret"), e.getMessage());
      // a task that answers the challenge with a wrong secret is refused by the driver
      try (RawTask t = new RawTask(s.port(), run, 0, wrong)) {
        assertTrue(t.closedByDriver(), "the driver closes the connection");
      }
      assertTrue(logged("failed authentication: a wrong secret, or a replayed HELLO"), log.toString());
    }
  }

  @Test
  void aReplayedHelloIsRefused() throws Exception {
    ChannelSecurity.Run run = ChannelSecurity.Run.random(true);
    try (StepServer s = server(run, 1)) {
      byte[] recorded;
      try (RawTask t = new RawTask(s.port(), run, 0, run.secret())) {
        recorded = t.sent.toByteArray();  // what an eavesdropper saw: HELLO then PROOF
      }
      int helloLen = Frames.HEADER + java.nio.ByteBuffer.wrap(recorded, 8, 4).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt() + 4;
      try (RawTask replay = new RawTask(s.port(), Arrays.copyOf(recorded, helloLen),
          Arrays.copyOfRange(recorded, helloLen, recorded.length))) {
        assertTrue(replay.closedByDriver(), "the driver closes the replayed connection");
      }
      assertTrue(logged("failed authentication"), log.toString());
    }
  }

  @Test
  void aFrameFromAnotherConnectionIsRefused() throws Exception {
    refusedFrame((a, b) -> b.send(a.sealedGrad(0, 1)), "failed authentication");
  }

  @Test
  void oneFlippedBitOfCiphertextIsRefused() throws Exception {
    refusedFrame((a, b) -> {
      byte[] f = b.sealedGrad(0, 1);
      f[8 + 20] ^= 0x10;
      b.send(f);
    }, "failed authentication");
  }

  @Test
  void aReplayedOrReorderedFrameIsRefused() throws Exception {
    refusedFrame((a, b) -> {
      byte[] first = b.sealedGrad(0, 1), second = b.sealedGrad(0, 1);
      b.send(second);  // frame 1 before frame 0
      b.send(first);
    }, "encrypted record 0 failed authentication");
    log.clear();
    ChannelSecurity.Run run = ChannelSecurity.Run.random(true);
    AtomicBoolean stop = new AtomicBoolean();
    try (StepServer s = server(run, 2); RawTask a = new RawTask(s.port(), run, 0, run.secret())) {
      CompletableFuture<GradientSum.Node[]> x = exchange(s, stop);
      byte[] grad = a.sealedGrad(0, 0);
      a.send(grad);
      a.send(grad);  // the same frame again
      assertTrue(a.closedByDriver());
      assertTrue(logged("encrypted record 1 failed authentication"), log.toString());
      stop.set(true);
      assertThrows(Exception.class, () -> x.get(10, TimeUnit.SECONDS));
    }
  }

  @Test
  void aTruncatedFrameIsRefused() throws Exception {
    refusedFrame((a, b) -> {
      byte[] f = b.sealedGrad(0, 1);
      b.send(Arrays.copyOf(f, f.length / 2));
      b.socket.shutdownOutput();
    }, "truncated frame");
  }

  interface Attack {
    void run(RawTask a, RawTask b) throws IOException;
  }

  /** Two connections of an encrypted run (partitions 0 and 1); b sends what attack makes; b must be dropped. */
  private void refusedFrame(Attack attack, String reason) throws Exception {
    ChannelSecurity.Run run = ChannelSecurity.Run.random(true);
    AtomicBoolean stop = new AtomicBoolean();
    try (StepServer s = server(run, 2); RawTask a = new RawTask(s.port(), run, 0, run.secret());
         RawTask b = new RawTask(s.port(), run, 1, run.secret())) {
      CompletableFuture<GradientSum.Node[]> x = exchange(s, stop);
      attack.run(a, b);
      assertTrue(b.closedByDriver(), "the driver closes the connection");
      assertTrue(logged(reason), "logged '" + reason + "': " + log);
      assertFalse(x.isDone(), "the step still waits for partition 1");
      stop.set(true);
      assertThrows(Exception.class, () -> x.get(10, TimeUnit.SECONDS));
    }
  }

  @Test
  void aPlainTaskIsRefusedByAnEncryptedRun() throws Exception {
    ChannelSecurity.Run run = ChannelSecurity.Run.random(true);
    try (StepServer s = server(run, 1)) {
      ChannelSecurity.Run plain = new ChannelSecurity.Run(run.id(), run.secret(), false);
      Frames.Hello hello = new Frames.Hello(run.id(), ChannelSecurity.nonce(), 0, 0, 0, 7, 0, "x");
      assertThrows(IOException.class, () -> new StepClient("127.0.0.1", s.port(), plain, hello, 3, 60_000));
      assertTrue(logged("the task asks for a plain channel; this run's is encrypted"), log.toString());
    }
  }

  @Test
  void sealedFramesOpenOnlyInOrderWithTheirOwnKey() throws Exception {
    byte[] secret = ChannelSecurity.Run.random(true).secret(), t1 = {1, 2, 3}, t2 = {1, 2, 4};
    ChannelSecurity.Aead seal = ChannelSecurity.sealer(secret, t1, ChannelSecurity.TASK_TO_DRIVER);
    byte[] plain = frame(Frames.PING, new byte[0]), out = new byte[64], back = new byte[64];
    int n = seal.seal(plain, 0, plain.length, out);
    byte[] sealedBody = Arrays.copyOfRange(out, 8, n);
    for (ChannelSecurity.Aead wrong : List.of(ChannelSecurity.opener(secret, t2, ChannelSecurity.TASK_TO_DRIVER),
        ChannelSecurity.opener(secret, t1, ChannelSecurity.DRIVER_TO_TASK))) {
      assertThrows(IOException.class, () -> wrong.open(out, sealedBody, sealedBody.length, back, 0, "test"));
    }
    ChannelSecurity.Aead right = ChannelSecurity.opener(secret, t1, ChannelSecurity.TASK_TO_DRIVER);
    assertEquals(plain.length, right.open(out, sealedBody, sealedBody.length, back, 0, "test"));
    assertArrayEquals(plain, Arrays.copyOf(back, plain.length));
    assertFalse(Arrays.equals(plain, Arrays.copyOf(sealedBody, plain.length)), "the ciphertext is not the plain frame");
  }

  @Test
  void aLargeFrameTravelsAsSealedRecordsAndADroppedRecordIsRefused() throws Exception {
    byte[] secret = ChannelSecurity.Run.random(true).secret(), t = {9};
    float[] params = new float[100_000];
    for (int i = 0; i < params.length; i++) params[i] = (float) Math.sin(i);
    Frames.Writer w = new Frames.Writer();
    Frames.encodeParams(w, 5, 0, 5, params);
    ByteArrayOutputStream wire = new ByteArrayOutputStream();
    Frames.write(wire, w.array(), w.length(), ChannelSecurity.sealer(secret, t, ChannelSecurity.DRIVER_TO_TASK), null);
    byte[] bytes = wire.toByteArray();
    int records = (w.length() + Frames.RECORD - 1) / Frames.RECORD, full = 8 + Frames.RECORD + ChannelSecurity.TAG;
    assertEquals(7, records);
    assertEquals(w.length() + records * (8 + ChannelSecurity.TAG), bytes.length);
    Frames.Reader r = new Frames.Reader(new DataInputStream(new java.io.ByteArrayInputStream(bytes)), "test");
    r.decrypt(ChannelSecurity.opener(secret, t, ChannelSecurity.DRIVER_TO_TASK));
    float[] back = new float[params.length];
    Frames.decodeParams(r.read(Frames.paramsBody(params.length)).body(), back, "test");
    assertArrayEquals(params, back);
    byte[] dropped = new byte[bytes.length - full];  // the third record left out
    System.arraycopy(bytes, 0, dropped, 0, 2 * full);
    System.arraycopy(bytes, 3 * full, dropped, 2 * full, bytes.length - 3 * full);
    Frames.Reader bad = new Frames.Reader(new DataInputStream(new java.io.ByteArrayInputStream(dropped)), "test");
    bad.decrypt(ChannelSecurity.opener(secret, t, ChannelSecurity.DRIVER_TO_TASK));
    IOException e = assertThrows(IOException.class, () -> bad.read(Frames.paramsBody(params.length)));
    assertTrue(e.getMessage().contains("encrypted record 2 failed authentication"), e.getMessage());
  }

  /** A PARAMS frame of n floats sealed by b as a broadcast; returns its wire bytes. */
  private static byte[] broadcastParams(ChannelSecurity.Broadcast b, int n, long step) {
    float[] params = new float[n];
    for (int i = 0; i < n; i++) params[i] = (float) Math.cos(i + step);
    Frames.Writer w = new Frames.Writer();
    Frames.encodeParams(w, step, 0, (int) step, params);
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
    try {
      b.seal(w.array(), w.length(), pool);
    } finally {
      pool.shutdown();
    }
    return Arrays.copyOf(b.bytes(), b.length());
  }

  /** A reader of wire that opens the broadcast records of the endpoint whose KEY body is keyBody. */
  private static Frames.Reader broadcastReader(byte[] wire, byte[] keyBody) {
    Frames.Reader r = new Frames.Reader(new DataInputStream(new java.io.ByteArrayInputStream(wire)), "test");
    r.decrypt(ChannelSecurity.opener(new byte[32], new byte[] {1}, ChannelSecurity.DRIVER_TO_TASK));
    java.nio.ByteBuffer k = java.nio.ByteBuffer.wrap(keyBody).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    byte[] key = new byte[16];
    k.get(key);
    r.broadcast(ChannelSecurity.broadcastOpener(key), k.getLong());
    return r;
  }

  private static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    for (byte[] p : parts) o.writeBytes(p);
    return o.toByteArray();
  }

  @Test
  void aBroadcastFrameIsSealedOnceOnSeveralThreadsAndOpensInOrderOnly() throws Exception {
    ChannelSecurity.Broadcast b = new ChannelSecurity.Broadcast(3);
    byte[] key = b.keyBody();
    int n = 100_000, records = (Frames.paramsBody(n) + Frames.HEADER + 4 + Frames.RECORD - 1) / Frames.RECORD;
    byte[] step0 = broadcastParams(b, n, 0), step1 = broadcastParams(b, n, 1);
    assertEquals(7, records);
    assertEquals(Frames.HEADER + Frames.paramsBody(n) + 4 + records * (16 + ChannelSecurity.TAG), step0.length);
    // the record numbers are in the clear, start where the KEY says and run on: the second frame's first is 7 later
    long base = java.nio.ByteBuffer.wrap(key, 16, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
    assertEquals(base, java.nio.ByteBuffer.wrap(step0, 8, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong());
    assertEquals(base + 7, java.nio.ByteBuffer.wrap(step1, 8, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong());
    Frames.Reader r = broadcastReader(concat(step0, step1), key);
    float[] back = new float[n];
    for (long step = 0; step < 2; step++) {
      Frames.StepHeader h = Frames.decodeParams(r.read(Frames.paramsBody(n)).body(), back, "test");
      assertEquals(step, h.step());
      for (int i = 0; i < n; i++) assertEquals((float) Math.cos(i + step), back[i]);
    }
    int full = 16 + Frames.RECORD + ChannelSecurity.TAG;
    assertFalse(Arrays.equals(Arrays.copyOfRange(step0, 16, 32), Arrays.copyOfRange(step1, 16, 32)), "no keystream reuse");
    // replayed: step 0 again after step 1
    IOException replay = assertThrows(IOException.class, () -> {
      Frames.Reader rr = broadcastReader(concat(step0, step1, step0), key);
      rr.read(Frames.paramsBody(n));
      rr.read(Frames.paramsBody(n));
      rr.read(Frames.paramsBody(n));
    });
    assertTrue(replay.getMessage().contains("broadcast record " + base + " where record " + (base + 14) + " or a later one was due"), replay.getMessage());
    // reordered: records 1 and 2 of a frame swapped
    byte[] swapped = step0.clone();
    System.arraycopy(step0, 2 * full, swapped, full, full);
    System.arraycopy(step0, full, swapped, 2 * full, full);
    IOException reorder = assertThrows(IOException.class, () -> broadcastReader(swapped, key).read(Frames.paramsBody(n)));
    assertTrue(reorder.getMessage().contains("broadcast record " + (base + 2) + " where record " + (base + 1) + " was due"), reorder.getMessage());
    // tampered: one flipped bit of ciphertext, or of the record number in its header (the associated data)
    for (int at : new int[] {full + 100, full + 8}) {
      byte[] flipped = step0.clone();
      flipped[at] ^= 0x04;
      IOException e = assertThrows(IOException.class, () -> broadcastReader(flipped, key).read(Frames.paramsBody(n)));
      assertTrue(e.getMessage().contains("broadcast record") && e.getMessage().contains("due")
          || e.getMessage().contains("broadcast record " + (base + 1) + " failed authentication"), e.getMessage());
    }
    // truncated
    IOException cut = assertThrows(IOException.class,
        () -> broadcastReader(Arrays.copyOf(step0, step0.length - 10), key).read(Frames.paramsBody(n)));
    assertTrue(cut.getMessage().contains("truncated") || cut.getMessage().contains("EOF") || cut instanceof java.io.EOFException, cut.toString());
    // another endpoint's key (another run, or a restarted driver) opens nothing
    byte[] otherKey = new ChannelSecurity.Broadcast(1).keyBody();
    java.nio.ByteBuffer.wrap(otherKey, 16, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(base);  // past the floor
    IOException other = assertThrows(IOException.class, () -> broadcastReader(step0, otherKey).read(Frames.paramsBody(n)));
    assertTrue(other.getMessage().contains("broadcast record " + base + " failed authentication"), other.getMessage());
    // a KEY admitted after step 0 was sealed refuses anything older than the frame in flight
    byte[] later = b.keyBody();
    IOException stale = assertThrows(IOException.class, () -> broadcastReader(step0, later).read(Frames.paramsBody(n)));
    assertTrue(stale.getMessage().contains("broadcast record " + base + " where record " + (base + 7) + " or a later one was due"), stale.getMessage());
    // and a channel that never received a KEY refuses broadcast records
    Frames.Reader noKey = new Frames.Reader(new DataInputStream(new java.io.ByteArrayInputStream(step0)), "test");
    noKey.decrypt(ChannelSecurity.opener(new byte[32], new byte[] {1}, ChannelSecurity.DRIVER_TO_TASK));
    IOException e = assertThrows(IOException.class, () -> noKey.read(Frames.paramsBody(n)));
    assertTrue(e.getMessage().contains("a broadcast record before the driver's KEY frame"), e.getMessage());
  }

  @Test
  void everyTaskOfAnEncryptedRunGetsTheSameSealedParameters() throws Exception {
    ChannelSecurity.Run run = ChannelSecurity.Run.random(true);
    AtomicBoolean stop = new AtomicBoolean();
    try (StepServer s = server(run, 2); RawTask a = new RawTask(s.port(), run, 0, run.secret());
         RawTask b = new RawTask(s.port(), run, 1, run.secret())) {
      CompletableFuture<GradientSum.Node[]> x = exchange(s, stop);
      int len = Frames.HEADER + Frames.paramsBody(3) + 4 + 16 + ChannelSecurity.TAG;
      byte[] wa = new byte[len], wb = new byte[len];
      a.in.readFully(wa);
      b.in.readFully(wb);
      assertArrayEquals(wa, wb, "sealed once: both connections carry the same bytes");
      assertEquals(Frames.BROADCAST_MAGIC, java.nio.ByteBuffer.wrap(wa).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt());
      assertArrayEquals(a.keyBody, b.keyBody, "one key for the endpoint");
      Frames.Reader ra = broadcastReader(wa, a.keyBody);
      float[] p = new float[3];
      Frames.decodeParams(ra.read(Frames.paramsBody(3)).body(), p, "test");
      assertArrayEquals(new float[] {4, 5, 6}, p);
      a.send(a.sealedGrad(0, 0));
      b.send(b.sealedGrad(0, 1));
      assertEquals(2, x.get(10, TimeUnit.SECONDS).length);
      assertEquals(List.of(), log);
    }
  }

  @Test
  void aPartitionThatDoesNotAnswerIsReportedThenGivenUpOn() throws Exception {
    ChannelSecurity.Run run = ChannelSecurity.Run.random(false);
    List<String> calls = Collections.synchronizedList(new ArrayList<>());
    StepServer.Watchdog dog = (task, step, waited, escalate) -> calls.add(task.partition() + "/" + task.executor() + "/" + escalate);
    try (StepServer s = new StepServer(StepServer.Config.local(1, 3, 0).withRun(run).withTimeout(1, dog, log::add));
         RawTask t = new RawTask(s.port(), run, 0, run.secret())) {
      long start = System.nanoTime();
      JobFailure e = assertThrows(JobFailure.class, () -> s.exchange(0, 0, 0, new float[3], () -> null));
      double seconds = (System.nanoTime() - start) / 1e9;
      assertTrue(e.getMessage().contains("partition 0 (task 7, attempt 0 of stage attempt 0, executor raw) has not answered step 0"),
          e.getMessage());
      assertTrue(seconds >= 4 && seconds < 8, "given up 1 s + 3 s after the step was sent: " + seconds);
      assertEquals(List.of("0/raw/false", "0/raw/true"), calls);
      assertTrue(log.stream().anyMatch(l -> l.contains("failing its task so that Spark retries the stage")), log.toString());
    }
  }

  @Test
  void aTaskWhoseDriverFallsSilentEnds() throws Exception {
    ChannelSecurity.Run run = ChannelSecurity.Run.random(true);
    try (ServerSocket silent = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      CompletableFuture<Void> driver = CompletableFuture.runAsync(() -> {
        try (Socket c = silent.accept()) {  // answers the handshake as a driver would, then says nothing
          Frames.Reader r = new Frames.Reader(new DataInputStream(c.getInputStream()), "fake driver");
          byte[] hello = Frames.copy(r.read(Frames.Hello.MAX_BODY).body());
          byte[] nonce = ChannelSecurity.nonce(), transcript = ChannelSecurity.transcript(hello, nonce, 1);
          c.getOutputStream().write(frame(Frames.CHALLENGE,
              new Frames.Challenge(nonce, 1, ChannelSecurity.driverProof(run.secret(), transcript)).body()));
          r.read(ChannelSecurity.MAC);
          byte[] key = frame(Frames.KEY, new byte[ChannelSecurity.KEY_BODY]);
          Frames.write(c.getOutputStream(), key, key.length, ChannelSecurity.sealer(run.secret(), transcript, ChannelSecurity.DRIVER_TO_TASK), null);
          Thread.sleep(5_000);
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      });
      Frames.Hello hello = new Frames.Hello(run.id(), ChannelSecurity.nonce(), 0, 0, 0, 7, 1, "x");
      try (StepClient client = new StepClient("127.0.0.1", silent.getLocalPort(), run, hello, 3, 1000)) {
        long start = System.nanoTime();
        IOException e = assertThrows(IOException.class, () -> client.next(() -> {}));
        double seconds = (System.nanoTime() - start) / 1e9;
        assertTrue(e.getMessage().contains("nothing from the driver, not even a heartbeat"), e.getMessage());
        assertTrue(seconds >= 1 && seconds < 3, "ends after its 1 s silence limit: " + seconds);
      }
      driver.get(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void heartbeatsKeepAnIdleTaskWaiting() throws Exception {
    ChannelSecurity.Run run = ChannelSecurity.Run.random(true);
    try (StepServer s = new StepServer(StepServer.Config.local(1, 3, 0).withRun(run).withTimeout(1, StepServer.Watchdog.NONE, log::add))) {
      Frames.Hello hello = new Frames.Hello(run.id(), ChannelSecurity.nonce(), 0, 0, 0, 7, 1, "x");
      try (StepClient client = new StepClient("127.0.0.1", s.port(), run, hello, 3, StepServer.taskSilenceMillis(1))) {
        CompletableFuture<StepServer.Message> next = CompletableFuture.supplyAsync(() -> {
          try {
            return client.next(() -> {});
          } catch (IOException e) {
            throw new RuntimeException(e);
          }
        });
        Thread.sleep(3_000);  // three times the silence limit, with no step to send
        assertFalse(next.isDone(), "still waiting: " + (next.isDone() ? next.handle((m, e) -> "" + e).get() : ""));
        CompletableFuture.runAsync(() -> s.exchange(0, 0, 0, new float[] {7, 8, 9}, () -> null));
        assertArrayEquals(new float[] {7, 8, 9}, next.get(10, TimeUnit.SECONDS).params());
      }
    }
  }
}
