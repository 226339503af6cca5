package dev.sparktrain.transport;

import dev.sparktrain.train.GradientSum;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;

/**
 * A training task's side of the step protocol: connect, say HELLO and prove the run's secret (checking the
 * driver's proof first), then {@link #next} until STOP. While it waits for a frame it calls {@code whileWaiting}
 * every 200 ms, so that a task Spark has killed (a sibling of the barrier stage failed) notices and ends instead
 * of holding its slot; and a driver that has sent nothing, not even a heartbeat, for {@code silenceMillis} is
 * taken for gone, and the task fails instead of waiting forever.
 */
public final class StepClient implements StepServer.Link {
  private final Socket socket;
  private final Frames.Reader reader;
  private final OutputStream out;
  private final Frames.Writer writer = new Frames.Writer();
  private final String peer;
  private final int paramCount;
  private final float[] params;
  private final long silenceMillis;
  private final int partition, stageAttempt;
  private ChannelSecurity.Aead sealer;
  private byte[] sealed;
  /** The parent's address from the driver's latest PEER of this stage attempt (train.reduce = tree), or null. */
  private String parentAt;

  /**
   * Connects to the driver's step endpoint and runs the handshake. hello's nonce must be fresh; run holds the
   * secret and whether the channel is encrypted.
   */
  public StepClient(String host, int port, ChannelSecurity.Run run, Frames.Hello hello, int paramCount,
                    long silenceMillis) throws IOException {
    this(host, port, run, hello, paramCount, silenceMillis, "step endpoint " + host + ":" + port, true);
  }

  /**
   * As above, with the name errors give the other side; fromDriver false: a parent task of {@link TreeReduce},
   * which sends no PARAMS and no KEY.
   */
  StepClient(String host, int port, ChannelSecurity.Run run, Frames.Hello hello, int paramCount, long silenceMillis,
             String peer, boolean fromDriver) throws IOException {
    this.paramCount = paramCount;
    this.params = new float[paramCount];
    this.silenceMillis = silenceMillis;
    this.peer = peer;
    this.partition = hello.partition();
    this.stageAttempt = hello.stageAttempt();
    socket = new Socket();
    socket.setTcpNoDelay(true);
    socket.setReceiveBufferSize(1 << 22);
    socket.setSendBufferSize(1 << 22);
    try {
      socket.connect(new InetSocketAddress(host, port), 30_000);
    } catch (IOException e) {
      throw new IOException(peer + ": cannot connect from the task of partition " + hello.partition() + ": " + e.getMessage(), e);
    }
    reader = new Frames.Reader(new DataInputStream(new BufferedInputStream(socket.getInputStream(), 1 << 16)), peer);
    out = new BufferedOutputStream(socket.getOutputStream(), 1 << 16);
    try {
      handshake(run, hello, fromDriver);
    } catch (IOException | RuntimeException e) {
      close();
      throw e;
    }
  }

  /**
   * HELLO, then the driver's CHALLENGE (whose proof is checked), then our PROOF; keys when encrypting, and then
   * from the driver its KEY, the first sealed frame.
   */
  private void handshake(ChannelSecurity.Run run, Frames.Hello hello, boolean fromDriver) throws IOException {
    byte[] helloBody = hello.body();
    Frames.encode(writer, Frames.HELLO, helloBody);
    writer.writeTo(out);
    socket.setSoTimeout(30_000);
    Frames.Frame f;
    try {
      f = reader.read(Frames.Challenge.BODY);
    } catch (SocketTimeoutException e) {
      throw new IOException(peer + ": no answer to the HELLO of partition " + hello.partition() + " within 30 s");
    }
    if (f.type() != Frames.CHALLENGE) throw new IOException(peer + ": expected CHALLENGE, got frame type " + f.type());
    Frames.Challenge c = Frames.Challenge.decode(f.body());
    byte[] transcript = ChannelSecurity.transcript(helloBody, c.nonce(), c.flags());
    if (!ChannelSecurity.same(ChannelSecurity.driverProof(run.secret(), transcript), c.proof())) {
      throw new IOException(peer + ": the endpoint did not prove this run's secret; it is not this run's driver");
    }
    if (c.flags() != hello.flags()) {
      throw new IOException(peer + ": the driver's channel flags " + c.flags() + " differ from the task's " + hello.flags());
    }
    Frames.encode(writer, Frames.PROOF, ChannelSecurity.taskProof(run.secret(), transcript));
    writer.writeTo(out);
    if (run.encrypt()) {
      sealer = ChannelSecurity.sealer(run.secret(), transcript, ChannelSecurity.TASK_TO_DRIVER);
      writer.sealed();
      reader.decrypt(ChannelSecurity.opener(run.secret(), transcript, ChannelSecurity.DRIVER_TO_TASK));
      if (fromDriver) receiveKey(reader, peer);
    }
  }

  /** Reads the driver's KEY frame (the first sealed one) and lets reader open the driver's broadcast records. */
  static void receiveKey(Frames.Reader reader, String peer) throws IOException {
    Frames.Frame k = reader.read(ChannelSecurity.KEY_BODY);
    if (k.type() != Frames.KEY || k.body().remaining() != ChannelSecurity.KEY_BODY) {
      throw new IOException(peer + ": expected the driver's KEY frame of " + ChannelSecurity.KEY_BODY
          + " bytes after the handshake, got frame type " + k.type());
    }
    byte[] key = new byte[16];
    k.body().get(key);
    reader.broadcast(ChannelSecurity.broadcastOpener(key), k.body().getLong());
  }

  /** The next PARAMS (decoded into a buffer that the next call reuses) or STOP from the driver. */
  @Override
  public StepServer.Message next(Runnable whileWaiting) throws IOException {
    while (true) {
      Frames.Frame f = nextFrame(whileWaiting);
      if (f.type() == Frames.PING) continue;
      if (f.type() == Frames.PEER) {
        peer(f);
        continue;
      }
      if (f.type() == Frames.STOP) return StepServer.Message.STOP;
      Frames.StepHeader h = Frames.decodeParams(f.body(), params, peer);
      return new StepServer.Message(h.step(), h.epoch(), h.iteration(), params);
    }
  }

  @Override
  public String parentAddress(Runnable whileWaiting, long waitMillis) throws IOException {
    long since = System.nanoTime();
    Runnable waiting = () -> {
      whileWaiting.run();
      try {
        StepServer.waited(since, waitMillis, partition);
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    };
    try {
      while (parentAt == null) {
        Frames.Frame f = nextFrame(waiting);
        if (f.type() == Frames.PEER) peer(f);
        else if (f.type() != Frames.PING) throw new IOException(peer + ": frame type " + f.type() + " while partition " + partition + " waited for its parent's address");
      }
    } catch (java.io.UncheckedIOException e) {
      throw e.getCause();
    }
    return parentAt;
  }

  /** A PEER: kept when it is of this task's stage attempt (the driver sends no other). */
  private void peer(Frames.Frame f) throws IOException {
    Frames.Peer p = Frames.Peer.decode(f.body(), peer);
    if (p.stageAttempt() == stageAttempt) parentAt = p.listen();
  }

  private Frames.Frame nextFrame(Runnable whileWaiting) throws IOException {
    socket.setSoTimeout(200);
    long since = System.nanoTime();
    int b0;
    while (true) {
      try {
        b0 = reader.firstByte();  // a timeout here consumes nothing
        break;
      } catch (SocketTimeoutException e) {
        whileWaiting.run();
        long quiet = (System.nanoTime() - since) / 1_000_000;
        if (quiet > silenceMillis) {
          throw new IOException(peer + ": nothing from the driver, not even a heartbeat, for " + quiet / 1000.0
              + " s (train.step_timeout); the driver is gone or cut off, so the task ends");
        }
      }
    }
    socket.setSoTimeout(0);
    if (b0 < 0) throw new java.io.EOFException(peer + ": the driver closed the connection");
    Frames.Frame f = reader.readAfterFirstByte(b0, Math.max(Frames.paramsBody(paramCount), Frames.Peer.MAX_BODY));
    if (f.type() != Frames.PARAMS && f.type() != Frames.STOP && f.type() != Frames.PING && f.type() != Frames.PEER) {
      throw new IOException(peer + ": expected PARAMS, STOP, PING or PEER, got frame type " + f.type());
    }
    return f;
  }

  @Override
  public void sendGrad(long step, int partition, GradientSum.Node node) throws IOException {
    Frames.encodeGrad(writer, step, partition, node);
    sealed = writer.writeTo(out, sealer, sealed);
  }

  @Override
  public void close() {
    try {
      socket.close();
    } catch (IOException ignored) {
      // closing
    }
  }
}
