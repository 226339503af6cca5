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
 * A training task's side of the step protocol: connect and say HELLO, then {@link #next} until STOP. While it
 * waits for a frame it calls {@code whileWaiting} every 200 ms, so that a task Spark has killed (a sibling of the
 * barrier stage failed) notices and ends instead of holding its slot.
 */
public final class StepClient implements StepServer.Link {
  private final Socket socket;
  private final Frames.Reader reader;
  private final OutputStream out;
  private final Frames.Writer writer = new Frames.Writer();
  private final String peer;
  private final int paramCount;
  private final float[] params;

  public StepClient(String host, int port, Frames.Hello hello, int paramCount) throws IOException {
    this.paramCount = paramCount;
    this.params = new float[paramCount];
    this.peer = "step endpoint " + host + ":" + port;
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
    hello.encode(writer);
    writer.writeTo(out);
  }

  /** The next PARAMS (decoded into a buffer that the next call reuses) or STOP from the driver. */
  @Override
  public StepServer.Message next(Runnable whileWaiting) throws IOException {
    Frames.Frame f = nextFrame(whileWaiting);
    if (f.type() == Frames.STOP) return StepServer.Message.STOP;
    Frames.StepHeader h = Frames.decodeParams(f.body(), params, peer);
    return new StepServer.Message(h.step(), h.epoch(), h.iteration(), params);
  }

  private Frames.Frame nextFrame(Runnable whileWaiting) throws IOException {
    socket.setSoTimeout(200);
    int b0;
    while (true) {
      try {
        b0 = reader.firstByte();  // a timeout here consumes nothing
        break;
      } catch (SocketTimeoutException e) {
        whileWaiting.run();
      }
    }
    socket.setSoTimeout(0);
    if (b0 < 0) throw new java.io.EOFException(peer + ": the driver closed the connection");
    Frames.Frame f = reader.readAfterFirstByte(b0, Frames.paramsBody(paramCount));
    if (f.type() != Frames.PARAMS && f.type() != Frames.STOP) {
      throw new IOException(peer + ": expected PARAMS or STOP, got frame type " + f.type());
    }
    return f;
  }

  @Override
  public void sendGrad(long step, int partition, GradientSum.Node node) throws IOException {
    Frames.encodeGrad(writer, step, partition, node);
    writer.writeTo(out);
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
