package dev.sparktrain.transport;

import dev.sparktrain.train.GradientSum;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

/**
 * The step protocol's frames (docs/step-protocol.md). Every frame is
 * <pre>
 *   u32 magic "STP2" | u32 type | u32 body length L | body (L bytes) | u32 CRC32C of type, length and body
 * </pre>
 * all little-endian. A reader states the largest body it accepts before anything is allocated, and checks the
 * magic, the type and the checksum; a frame that fails any check ends the connection with an error naming it. On
 * an encrypted channel every frame after the handshake travels sealed ({@link ChannelSecurity}), with its
 * checksum field 0 and unchecked, since the GCM tags authenticate every byte:
 * <pre>
 *   u32 magic "STE2" | u32 L | AES-GCM ciphertext of the whole plain frame, and its 16-byte tag (L bytes)
 * </pre>
 * in records of at most {@link #RECORD} plain bytes; what the driver sends every task alike (PARAMS, STOP) travels
 * in broadcast records instead, sealed once for every task:
 * <pre>
 *   u32 magic "STB2" | u32 L | u64 record number k | AES-GCM ciphertext and tag (L bytes)
 * </pre>
 *
 * <p>Bodies: HELLO (task → driver) = u64 run id, 16-byte nonce, u32 partition, u32 stage attempt, u32 task
 * attempt, u64 task id, u32 flags, u16 k, k bytes of executor id (UTF-8), u16 l, l bytes of the task's tree
 * listener host:port (UTF-8; l = 0: none); CHALLENGE (driver → task) = 16-byte
 * nonce, u32 flags, 32-byte driver proof; PROOF (task → driver) = 32-byte task proof;
 * PARAMS (driver → task) = u64 step, u32 epoch, u32 iteration, u32 n, n × f32;
 * GRAD (task → driver) = u64 step, u32 partition, f64 loss sum, u64 count, u64 correct, u32 n, n × f32,
 * u32 m, m × f64 (n = 0: no example contributed; m = 0: no batch statistics);
 * KEY (driver → task, encrypted runs only, the first sealed frame) = 16-byte broadcast key, u64 the first record
 * number the task may be sent; STOP and PING (driver → task) = empty; PEER (driver → task, with train.reduce = tree) = u32 the parent's
 * partition, u32 its stage attempt, u16 l, l bytes of its listener host:port.
 */
public final class Frames {
  private Frames() {}

  public static final int MAGIC = 0x32505453;  // "STP2" in little-endian byte order
  public static final int SEALED_MAGIC = 0x32455453;  // "STE2": an encrypted frame
  public static final int BROADCAST_MAGIC = 0x32425453;  // "STB2": an encrypted frame sealed once for every task
  public static final int HELLO = 1, PARAMS = 2, GRAD = 3, STOP = 4, PING = 5, CHALLENGE = 6, PROOF = 7, PEER = 8,
      KEY = 9;
  public static final int HEADER = 12;
  /** Flags of HELLO and CHALLENGE: the frames after the handshake are encrypted. */
  public static final int ENCRYPTED = 1;

  /** A frame being written: reserve the header, put the body, then {@link #finish} and send. */
  public static final class Writer {
    private ByteBuffer buf = ByteBuffer.allocate(1024).order(ByteOrder.LITTLE_ENDIAN);
    private final CRC32C crc = new CRC32C();
    private boolean sealed;

    /**
     * The frames this writer finishes from now on travel sealed: their checksum field is left 0, since each
     * record's GCM tag authenticates every byte, and a reader of sealed frames does not check it.
     */
    public Writer sealed() {
      sealed = true;
      return this;
    }

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
      if (sealed) {
        buf.putInt(0);
      } else {
        crc.reset();
        crc.update(buf.array(), 4, end - 4);
        buf.putInt((int) crc.getValue());
      }
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

    /** Writes the finished frame, sealed first when sealer is not null; sealed is a buffer the caller reuses. */
    byte[] writeTo(OutputStream out, ChannelSecurity.Aead sealer, byte[] sealed) throws IOException {
      return write(out, buf.array(), length(), sealer, sealed);
    }
  }

  /**
   * Writes the plain frame bytes frame[0, len), sealed with sealer unless it is null, and flushes; returns the
   * buffer of sealed bytes (sealed, or a larger one), for the caller to reuse.
   */
  static byte[] write(OutputStream out, byte[] frame, int len, ChannelSecurity.Aead sealer, byte[] sealed)
      throws IOException {
    if (sealer == null) {
      out.write(frame, 0, len);
    } else {
      // records of at most RECORD plain bytes, each written once sealed: the peer opens one while the next is sealed
      int need = 8 + Math.min(len, RECORD) + ChannelSecurity.TAG;
      if (sealed == null || sealed.length < need) sealed = new byte[need];
      for (int at = 0; at < len; at += RECORD) {
        out.write(sealed, 0, sealer.seal(frame, at, Math.min(RECORD, len - at), sealed));
      }
    }
    out.flush();
    return sealed;
  }

  /** The most plain bytes one sealed record carries; a longer frame travels as several records. */
  public static final int RECORD = 1 << 16;

  /** A frame that was read: its type and its checked body (valid until the next read with the same reader). */
  public record Frame(int type, ByteBuffer body) {}

  /** Reads frames from one stream into a reused buffer; after {@link #decrypt}, sealed frames only. */
  public static final class Reader {
    private final DataInputStream in;
    private final String peer;
    private final CRC32C crc = new CRC32C();
    private byte[] bytes = new byte[1024], sealed = new byte[0];
    private ChannelSecurity.Aead opener, broadcast;
    /** The lowest broadcast record number this reader still accepts. */
    private long broadcastFloor;

    public Reader(DataInputStream in, String peer) {
      this.in = in;
      this.peer = peer;
    }

    /** From now on every frame must arrive sealed, and is opened with opener. */
    void decrypt(ChannelSecurity.Aead opener) {
      this.opener = opener;
    }

    /** From now on broadcast records are accepted too, opened with opener, numbered floor or more, each once. */
    void broadcast(ChannelSecurity.Aead opener, long floor) {
      this.broadcast = opener;
      this.broadcastFloor = floor;
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
      try {
        return frameAfter(b0, maxBody);
      } catch (EOFException e) {
        throw new IOException(peer + ": truncated frame: the connection ended inside it");
      }
    }

    private Frame frameAfter(int b0, int maxBody) throws IOException {
      bytes[0] = (byte) b0;
      if (opener != null) return readSealed(maxBody);
      in.readFully(bytes, 1, HEADER - 1);
      int len = bodyLength(bytes, maxBody);
      if (bytes.length < HEADER + len + 4) bytes = java.util.Arrays.copyOf(bytes, HEADER + len + 4);
      in.readFully(bytes, HEADER, len + 4);
      return checked(bytes, len);
    }

    /**
     * A sealed frame: one record, or several when the plain frame is longer than {@link #RECORD}; all of the
     * connection's own, or all broadcast records with consecutive numbers.
     */
    private Frame readSealed(int maxBody) throws IOException {
      byte[] header = new byte[ChannelSecurity.Broadcast.HEADER];
      header[0] = bytes[0];
      int magic = recordHeader(header, -1);
      int plain = openRecord(magic, header, 0), body = -1;
      while (true) {
        if (body < 0 && plain >= HEADER) body = bodyLength(bytes, maxBody);
        if (body >= 0 && plain >= HEADER + body + 4) break;
        if (plain % RECORD != 0) throw new IOException(peer + ": encrypted frame ends before its contents do");
        header[0] = (byte) in.readUnsignedByte();
        recordHeader(header, magic);
        plain += openRecord(magic, header, plain);
      }
      if (HEADER + body + 4 != plain) throw new IOException(peer + ": encrypted frame's length does not match its contents");
      return checked(bytes, body);
    }

    /**
     * Reads the rest of a record's header (its first byte already in header[0]) and returns its magic, which must
     * be expected's when expected is not -1 (the records of one frame are all of one kind).
     */
    private int recordHeader(byte[] header, int expected) throws IOException {
      in.readFully(header, 1, 7);
      int magic = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN).getInt(0);
      if (magic == BROADCAST_MAGIC) in.readFully(header, 8, 8);
      if (magic != SEALED_MAGIC && magic != BROADCAST_MAGIC) {
        throw new IOException(peer + ": a plain frame (magic " + Integer.toHexString(magic) + ") on an encrypted channel");
      }
      if (expected != -1 && magic != expected) {
        throw new IOException(peer + ": an encrypted frame mixes broadcast records with the connection's own");
      }
      return magic;
    }

    /** Reads one sealed record, whose header is in header, and opens it into bytes at offset at. */
    private int openRecord(int magic, byte[] header, int at) throws IOException {
      ByteBuffer h = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
      int len = h.getInt(4);
      int most = RECORD + ChannelSecurity.TAG;
      if (len <= ChannelSecurity.TAG || len > most) {
        throw new IOException(peer + ": encrypted record of " + len + " bytes; " + (ChannelSecurity.TAG + 1) + " to " + most
            + " expected");
      }
      long k = 0;
      if (magic == BROADCAST_MAGIC) {
        k = h.getLong(8);
        if (broadcast == null) throw new IOException(peer + ": a broadcast record before the driver's KEY frame");
        if (k < broadcastFloor || (at > 0 && k != broadcastFloor)) {
          throw new IOException(peer + ": broadcast record " + k + " where record " + broadcastFloor
              + (at > 0 ? "" : " or a later one") + " was due (replayed, reordered or dropped); closing the connection");
        }
      }
      if (sealed.length < len) sealed = new byte[len];
      in.readFully(sealed, 0, len);
      if (bytes.length < at + len) bytes = java.util.Arrays.copyOf(bytes, Math.max(at + len, 2 * bytes.length));
      if (magic == SEALED_MAGIC) return opener.open(header, sealed, len, bytes, at, peer);
      int n = broadcast.openRecord(k, header, sealed, len, bytes, at, peer);
      broadcastFloor = k + 1;
      return n;
    }

    /** Checks the magic, type and length of the header at b[0, 12) and returns the body's length. */
    private int bodyLength(byte[] b, int maxBody) throws IOException {
      ByteBuffer h = ByteBuffer.wrap(b, 0, HEADER).order(ByteOrder.LITTLE_ENDIAN);
      int magic = h.getInt(), type = h.getInt(), len = h.getInt();
      if (magic != MAGIC) throw new IOException(peer + ": not a sparktrain step frame (magic " + Integer.toHexString(magic) + ")");
      if (type < HELLO || type > KEY) throw new IOException(peer + ": unknown frame type " + type);
      if (len < 0 || len > maxBody) {
        throw new IOException(peer + ": frame type " + type + " has a " + len + "-byte body; at most " + maxBody + " expected");
      }
      return len;
    }

    /** The frame in b, whose body has len bytes; its checksum is checked unless it arrived sealed. */
    private Frame checked(byte[] b, int len) throws IOException {
      int type = ByteBuffer.wrap(b, 4, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
      if (opener == null) {  // a sealed frame's records passed their GCM tags, which cover every byte
        crc.reset();
        crc.update(b, 4, HEADER - 4 + len);
        ByteBuffer all = ByteBuffer.wrap(b, 0, HEADER + len + 4).order(ByteOrder.LITTLE_ENDIAN);
        if (all.getInt(HEADER + len) != (int) crc.getValue()) {
          throw new IOException(peer + ": frame type " + type + " failed its CRC32C check");
        }
      }
      ByteBuffer body = ByteBuffer.wrap(b, HEADER, len).slice().order(ByteOrder.LITTLE_ENDIAN);
      return new Frame(type, body);
    }
  }

  // ---- bodies ----

  /**
   * A task's HELLO: its run, a fresh nonce, its partition and attempts, its Spark task id and executor (to name it
   * and to kill it if it hangs), and the flags it expects.
   */
  public record Hello(long runId, byte[] nonce, int partition, int stageAttempt, int attempt, long taskId, int flags,
                      String executor, String listen) {
    /** The longest executor id and listener address a HELLO carries (longer ones are cut). */
    public static final int MAX_EXECUTOR = 64, MAX_LISTEN = 270;
    /** The largest HELLO body. */
    public static final int MAX_BODY = 8 + ChannelSecurity.NONCE + 4 + 4 + 4 + 8 + 4 + 2 + MAX_EXECUTOR + 2 + MAX_LISTEN;

    /** A HELLO with no tree listener. */
    public Hello(long runId, byte[] nonce, int partition, int stageAttempt, int attempt, long taskId, int flags,
                 String executor) {
      this(runId, nonce, partition, stageAttempt, attempt, taskId, flags, executor, "");
    }

    /** The same HELLO telling the driver where this task's children reach it (train.reduce = tree). */
    public Hello withListen(String hostPort) {
      return new Hello(runId, nonce, partition, stageAttempt, attempt, taskId, flags, executor, hostPort);
    }

    public static Hello decode(ByteBuffer b, String peer) throws IOException {
      long run = b.getLong();
      byte[] nonce = new byte[ChannelSecurity.NONCE];
      b.get(nonce);
      int partition = b.getInt(), stage = b.getInt(), attempt = b.getInt();
      long task = b.getLong();
      int flags = b.getInt();
      String executor = string(b, MAX_EXECUTOR, peer, "HELLO's executor id");
      String listen = string(b, MAX_LISTEN, peer, "HELLO's listener address");
      if (b.hasRemaining()) throw new IOException(peer + ": HELLO has " + b.remaining() + " bytes after its listener address");
      return new Hello(run, nonce, partition, stage, attempt, task, flags, executor, listen);
    }

    /** The body's bytes, which both sides put in the handshake's transcript. */
    public byte[] body() {
      byte[] e = utf8(executor, MAX_EXECUTOR), l = utf8(listen, MAX_LISTEN);
      return ByteBuffer.allocate(MAX_BODY - MAX_EXECUTOR - MAX_LISTEN + e.length + l.length).order(ByteOrder.LITTLE_ENDIAN)
          .putLong(runId).put(nonce).putInt(partition).putInt(stageAttempt).putInt(attempt).putLong(taskId).putInt(flags)
          .putShort((short) e.length).put(e).putShort((short) l.length).put(l).array();
    }

    /** "partition 3 (task 57, attempt 0 of stage attempt 1, executor 2)", for messages. */
    public String describe() {
      return "partition " + partition + " (task " + taskId + ", attempt " + attempt + " of stage attempt " + stageAttempt
          + ", executor " + executor + ")";
    }
  }

  /** A u16-length-prefixed UTF-8 string of at most max bytes. */
  private static String string(ByteBuffer b, int max, String peer, String what) throws IOException {
    if (b.remaining() < 2) throw new IOException(peer + ": " + what + " is missing");
    int k = b.getShort() & 0xFFFF;
    if (k > max || k > b.remaining()) {
      throw new IOException(peer + ": " + what + " has length " + k + " (at most " + Math.min(max, b.remaining()) + ")");
    }
    byte[] e = new byte[k];
    b.get(e);
    return new String(e, StandardCharsets.UTF_8);
  }

  private static byte[] utf8(String s, int max) {
    byte[] e = s.getBytes(StandardCharsets.UTF_8);
    return e.length > max ? java.util.Arrays.copyOf(e, max) : e;
  }

  /**
   * PEER, from the driver to a child task of the gradient tree: where its parent (a partition of the same stage
   * attempt) listens, as the parent said in its HELLO. The driver is the tasks' rendezvous, so they need no
   * address exchange of their own.
   */
  public record Peer(int partition, int stageAttempt, String listen) {
    public static final int MAX_BODY = 4 + 4 + 2 + Hello.MAX_LISTEN;

    public static Peer decode(ByteBuffer b, String peer) throws IOException {
      if (b.remaining() < 10) throw new IOException(peer + ": PEER of " + b.remaining() + " bytes");
      int p = b.getInt(), stage = b.getInt();
      String listen = string(b, Hello.MAX_LISTEN, peer, "PEER's address");
      if (b.hasRemaining() || listen.lastIndexOf(':') <= 0) throw new IOException(peer + ": malformed PEER for partition " + p + ": '" + listen + "'");
      return new Peer(p, stage, listen);
    }

    public byte[] body() {
      byte[] l = utf8(listen, Hello.MAX_LISTEN);
      return ByteBuffer.allocate(10 + l.length).order(ByteOrder.LITTLE_ENDIAN).putInt(partition).putInt(stageAttempt)
          .putShort((short) l.length).put(l).array();
    }
  }

  /** Writes a frame of this type whose body is the given bytes. */
  public static void encode(Writer w, int type, byte[] body) {
    w.begin(type, body.length).body().put(body);
    w.finish();
  }

  /** The driver's CHALLENGE: its nonce, the flags it confirms, and its proof of the secret. */
  public record Challenge(byte[] nonce, int flags, byte[] proof) {
    public static final int BODY = ChannelSecurity.NONCE + 4 + ChannelSecurity.MAC;

    public static Challenge decode(ByteBuffer b) {
      byte[] n = new byte[ChannelSecurity.NONCE], p = new byte[ChannelSecurity.MAC];
      b.get(n);
      int flags = b.getInt();
      b.get(p);
      return new Challenge(n, flags, p);
    }

    public byte[] body() {
      return ByteBuffer.allocate(BODY).order(ByteOrder.LITTLE_ENDIAN).put(nonce).putInt(flags).put(proof).array();
    }
  }

  /** The bytes of a frame's body, copied. */
  public static byte[] copy(ByteBuffer body) {
    byte[] b = new byte[body.remaining()];
    body.duplicate().get(b);
    return b;
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

  /** The bytes a GRAD frame of n gradient values and m statistics takes on the wire: header, body, checksum. */
  public static long gradFrame(int n, int m) {
    return HEADER + (long) gradBody(n, m) + 4;
  }

  /** Bytes of a GRAD body at most, for n parameters and m statistics. */
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
