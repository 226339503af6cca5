package dev.sparktrain.transport;

import dev.sparktrain.train.GradientSum;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * The step protocol's frames (docs/step-protocol.md). Every frame is
 * <pre>
 *   u32 magic "STP1" | u32 type | u32 body length L | body (L bytes) | u32 CRC32C of type, length and body
 * </pre>
 * all little-endian. A reader states the largest body it accepts before anything is allocated, and checks the
 * magic, the type and the checksum; a frame that fails any check ends the connection with an error naming it.
 *
 * <p>Bodies: HELLO (task → driver) = u64 token, u32 partition, u32 stage attempt, u32 task attempt;
 * PARAMS (driver → task) = u64 step, u32 epoch, u32 iteration, u32 n, n × f32;
 * GRAD (task → driver) = u64 step, u32 partition, f64 loss sum, u64 count, u64 correct, u32 n, n × f32,
 * u32 m, m × f64 (n = 0: no example contributed; m = 0: no batch statistics);
 * STOP (driver → task) = empty.
 */
public final class Frames {
  private Frames() {}

  public static final int MAGIC = 0x31505453;  // "STP1" in little-endian byte order
  public static final int HELLO = 1, PARAMS = 2, GRAD = 3, STOP = 4;
  public static final int HEADER = 12;

  /** A frame being written: reserve the header, put the body, then {@link #finish} and send. */
  public static final class Writer {
    private ByteBuffer buf = ByteBuffer.allocate(1024).order(ByteOrder.LITTLE_ENDIAN);
    private final CRC32C crc = new CRC32C();

    public Writer begin(int type, int maxBody) {
      if (buf.capacity() < HEADER + maxBody + 4) {
        buf = ByteBuffer.allocate(HEADER + maxBody + 4).order(ByteOrder.LITTLE_ENDIAN);
      }
      buf.clear();
      buf.putInt(MAGIC).putInt(type).putInt(0);
      return this;
    }

    public ByteBuffer body() {
      return buf;
    }

    public Writer floats(float[] a, int n) {
      buf.putInt(n);
      buf.asFloatBuffer().put(a, 0, n);
      buf.position(buf.position() + 4 * n);
      return this;
    }

    public Writer doubles(double[] a) {
      int n = a == null ? 0 : a.length;
      buf.putInt(n);
      if (n > 0) {
        buf.asDoubleBuffer().put(a);
        buf.position(buf.position() + 8 * n);
      }
      return this;
    }

    /** Fills in the length and appends the checksum; the frame is then bytes [0, length()) of array(). */
    public Writer finish() {
      int end = buf.position();
      buf.putInt(8, end - HEADER);
      crc.reset();
      crc.update(buf.array(), 4, end - 4);
      buf.putInt((int) crc.getValue());
      return this;
    }

    public int length() {
      return buf.position();
    }

    public byte[] array() {
      return buf.array();
    }

    public void writeTo(OutputStream out) throws IOException {
      out.write(buf.array(), 0, buf.position());
      out.flush();
    }
  }

  /** A frame that was read: its type and its checked body (valid until the next read with the same reader). */
  public record Frame(int type, ByteBuffer body) {}

  /** Reads frames from one stream into a reused buffer. */
  public static final class Reader {
    private final DataInputStream in;
    private final String peer;
    private final CRC32C crc = new CRC32C();
    private byte[] bytes = new byte[1024];

    public Reader(DataInputStream in, String peer) {
      this.in = in;
      this.peer = peer;
    }

    /** The next frame, whose body may not exceed maxBody bytes; EOFException at a clean end of stream. */
    public Frame read(int maxBody) throws IOException {
      int b0 = in.read();
      if (b0 < 0) throw new EOFException(peer + ": connection closed");
      return readAfterFirstByte(b0, maxBody);
    }

    /** The first byte of the next frame, or -1 at the end of the stream; may time out without consuming anything. */
    public int firstByte() throws IOException {
      return in.read();
    }

    /** As {@link #read} when the frame's first byte has already been read (after waiting for it). */
    public Frame readAfterFirstByte(int b0, int maxBody) throws IOException {
      bytes[0] = (byte) b0;
      in.readFully(bytes, 1, HEADER - 1);
      ByteBuffer h = ByteBuffer.wrap(bytes, 0, HEADER).order(ByteOrder.LITTLE_ENDIAN);
      int magic = h.getInt(), type = h.getInt(), len = h.getInt();
      if (magic != MAGIC) throw new IOException(peer + ": not a sparktrain step frame (magic " + Integer.toHexString(magic) + ")");
      if (type < HELLO || type > STOP) throw new IOException(peer + ": unknown frame type " + type);
      if (len < 0 || len > maxBody) {
        throw new IOException(peer + ": frame type " + type + " has a " + len + "-byte body; at most " + maxBody + " expected");
      }
      if (bytes.length < HEADER + len + 4) bytes = java.util.Arrays.copyOf(bytes, HEADER + len + 4);
      in.readFully(bytes, HEADER, len + 4);
      crc.reset();
      crc.update(bytes, 4, HEADER - 4 + len);
      ByteBuffer all = ByteBuffer.wrap(bytes, 0, HEADER + len + 4).order(ByteOrder.LITTLE_ENDIAN);
      if (all.getInt(HEADER + len) != (int) crc.getValue()) {
        throw new IOException(peer + ": frame type " + type + " failed its CRC32C check");
      }
      ByteBuffer body = ByteBuffer.wrap(bytes, HEADER, len).slice().order(ByteOrder.LITTLE_ENDIAN);
      return new Frame(type, body);
    }
  }

  // ---- bodies ----

  public record Hello(long token, int partition, int stageAttempt, int attempt) {
    public static Hello decode(ByteBuffer b) {
      return new Hello(b.getLong(), b.getInt(), b.getInt(), b.getInt());
    }

    public void encode(Writer w) {
      w.begin(HELLO, 20).body().putLong(token).putInt(partition).putInt(stageAttempt).putInt(attempt);
      w.finish();
    }
  }

  /** Bytes of a PARAMS body for n parameters. */
  public static int paramsBody(int n) {
    return 8 + 4 + 4 + 4 + 4 * n;
  }

  public static void encodeParams(Writer w, long step, int epoch, int iteration, float[] params) {
    w.begin(PARAMS, paramsBody(params.length)).body().putLong(step).putInt(epoch).putInt(iteration);
    w.floats(params, params.length).finish();
  }

  /** The step, epoch and iteration of a PARAMS body; the parameters are copied into params, which must fit. */
  public record StepHeader(long step, int epoch, int iteration) {}

  public static StepHeader decodeParams(ByteBuffer b, float[] params, String peer) throws IOException {
    StepHeader h = new StepHeader(b.getLong(), b.getInt(), b.getInt());
    int n = b.getInt();
    if (n != params.length) throw new IOException(peer + ": PARAMS frame holds " + n + " parameters, the model has " + params.length);
    b.asFloatBuffer().get(params);
    return h;
  }

  /** Bytes of a GRAD body at most, for n parameters and m statistics. */
  /** The bytes a GRAD frame of n gradient values and m statistics takes on the wire: header, body, checksum. */
  public static long gradFrame(int n, int m) {
    return HEADER + (long) gradBody(n, m) + 4;
  }

  public static int gradBody(int n, int m) {
    return 8 + 4 + 8 + 8 + 8 + 4 + 4 * n + 4 + 8 * m;
  }

  public static void encodeGrad(Writer w, long step, int partition, GradientSum.Node node) {
    float[] g = node.grad();
    double[] st = node.stats();
    int n = g == null ? 0 : g.length, m = st == null ? 0 : st.length;
    w.begin(GRAD, gradBody(n, m)).body().putLong(step).putInt(partition).putDouble(node.lossSum())
        .putLong(node.count()).putLong(node.correct());
    w.floats(g == null ? new float[0] : g, n).doubles(st).finish();
  }

  /** A decoded GRAD body: the step, the partition and the node, whose arrays are freshly allocated. */
  public record Grad(long step, int partition, GradientSum.Node node) {}

  public static Grad decodeGrad(ByteBuffer b, int gradientLength, int statsCount, String peer) throws IOException {
    long step = b.getLong();
    int partition = b.getInt();
    double loss = b.getDouble();
    long count = b.getLong(), correct = b.getLong();
    int n = b.getInt();
    if (n != 0 && n != gradientLength) {
      throw new IOException(peer + ": GRAD frame holds " + n + " values, the step's gradient has " + gradientLength);
    }
    float[] g = null;
    if (n > 0) {
      g = new float[n];
      b.asFloatBuffer().get(g);
      b.position(b.position() + 4 * n);
    }
    int m = b.getInt();
    if (m != 0 && m != statsCount) throw new IOException(peer + ": GRAD frame holds " + m + " statistics, the model has " + statsCount);
    double[] st = null;
    if (m > 0) {
      st = new double[m];
      b.asDoubleBuffer().get(st);
    }
    return new Grad(step, partition, new GradientSum.Node(g, loss, count, correct, st));
  }
}
