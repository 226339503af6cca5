package dev.sparktrain.transport;

import dev.sparktrain.train.GradientSum;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The driver's aggregation endpoint of the barrier engine. Each training task connects once, says HELLO with the
 * run's id and its partition (after the handshake below), and then loops: it receives PARAMS for a step, computes its gradient sum and
 * answers GRAD. {@link #exchange} sends one step's parameters to every partition and returns when it holds every
 * partition's gradient for that step; the caller combines them along {@link GradientSum}'s fixed tree, so the
 * result is the job engine's bit for bit.
 *
 * <p>Tasks in other JVMs connect over TCP and speak the framed protocol ({@link Frames}); the frame of a step is
 * encoded once and written to all of them in parallel. A task in the driver's own JVM (local mode) finds the
 * endpoint by its run id and exchanges the same messages through in-memory queues: the parameters and gradient
 * arrays are handed over, not copied, and neither side writes to an array once it has been handed over.
 *
 * <p>Faults: when a task dies, Spark relaunches the whole barrier stage. The new tasks' HELLOs replace the old
 * connections, and each newcomer is sent the step in flight, the last completed step being the one the driver's
 * parameters came from. Gradients are pure functions of (parameters, step, partition), so the recomputed step
 * gives the same bits; a gradient counts only while its connection is its partition's current one. Only the
 * training thread calls exchange and stop; one thread accepts and one thread per TCP connection reads, handing
 * the frames over through a queue.
 *
 * <p>With the tasks' gradient tree ({@link #sumsAlongTree}) the endpoint is also the tasks' rendezvous: each HELLO
 * carries the address where the task's children reach it, and a child is sent its parent's (PEER) once both are
 * connected in the same stage attempt ({@link TreeReduce}).
 *
 * <p>Security: a TCP connection is admitted only after the handshake of {@link ChannelSecurity} (the task proves
 * the run's secret, the driver proves it back), and on an encrypted run every later frame is sealed. A refused
 * connection is logged and closed. Hangs: a heartbeat thread sends PING to every connection idle for a while, so
 * that tasks can tell a silent driver from a gone one; and a partition that does not answer a step within the
 * step timeout is reported to the {@link Watchdog}, escalated after a grace, and given up on 30 s past the
 * timeout, so that a hung task never stalls a run.
 */
public final class StepServer implements AutoCloseable {
  /** Endpoints of this JVM by run id, for tasks that run in the driver's JVM. */
  private static final Map<Long, StepServer> IN_PROCESS = new ConcurrentHashMap<>();
  /** How long after a step timeout of t ms the watchdog is called again: 5 s, or t / 2 if shorter. */
  static long escalateMillis(long t) {
    return Math.min(5_000, t / 2);
  }

  /** How long after a step timeout of t ms the endpoint gives up: 30 s, or 3 t if shorter. */
  static long giveUpMillis(long t) {
    return Math.min(30_000, 3 * t);
  }

  private final ServerSocket server;
  private final Config config;
  private final ChannelSecurity.Run run;
  private final int partitions, gradientLength, statsCount;
  /** Bytes of GRAD frames read from tasks over TCP (header, body and checksum), for the bytes-per-step figure. */
  private final java.util.concurrent.atomic.AtomicLong gradBytes = new java.util.concurrent.atomic.AtomicLong();
  private final LinkedBlockingQueue<Object> events = new LinkedBlockingQueue<>();
  private final Conn[] conns;
  /** When the message in flight went to each partition's connection (System.nanoTime), 0 when it has not. */
  private final long[] sentAt;
  private final Set<TcpConn> live = ConcurrentHashMap.newKeySet();
  private final Frames.Writer writer = new Frames.Writer();
  private final ExecutorService senders;
  /** On an encrypted run: the sealer of what every task is sent alike (PARAMS, STOP); else null. */
  private final ChannelSecurity.Broadcast broadcast;
  /** Recent step times in ms (exchange, first send to last gradient), for the derived step timeout. */
  private final double[] recent = new double[64];
  private int recorded;
  /** What every newcomer is sent: the step in flight, or STOP; null before the first step. */
  private volatile Message current;
  private long encodedStep = Long.MIN_VALUE;
  private volatile boolean closed;
  /** Each partition's children in the tasks' gradient tree, or null when every task sends its own. */
  private volatile int[][] treeChildren;
  /** The newest stage attempt each partition has said HELLO in, -1 before its first (read by the tree's watch). */
  private final int[] helloAttempt;

  /**
   * The endpoint's settings. port 0 is an ephemeral port; stepTimeoutSeconds 0 derives the timeout from the
   * step times seen (20 × their median, at least 60 s); log receives the lines the driver should show (refused
   * connections, hung partitions).
   */
  public record Config(String bindAddress, int port, ChannelSecurity.Run run, int partitions, int gradientLength,
                       int statsCount, double stepTimeoutSeconds, Watchdog watchdog, Consumer<String> log) {
    public Config {
      if (!(stepTimeoutSeconds >= 0)) throw new IllegalArgumentException("step timeout " + stepTimeoutSeconds);
    }

    /** An ephemeral port on loopback, a fresh unencrypted run, the derived timeout, no watchdog, no log. */
    public static Config local(int partitions, int gradientLength, int statsCount) {
      return new Config("127.0.0.1", 0, ChannelSecurity.Run.random(false), partitions, gradientLength, statsCount, 0,
          Watchdog.NONE, line -> {});
    }

    public Config withRun(ChannelSecurity.Run r) {
      return new Config(bindAddress, port, r, partitions, gradientLength, statsCount, stepTimeoutSeconds, watchdog, log);
    }

    public Config withTimeout(double seconds, Watchdog w, Consumer<String> l) {
      return new Config(bindAddress, port, run, partitions, gradientLength, statsCount, seconds, w, l);
    }
  }

  /** Told about a partition whose task has not answered the step in flight within the step timeout. */
  public interface Watchdog {
    Watchdog NONE = (task, step, waitedMillis, escalate) -> {};

    /**
     * task has not answered step for waitedMillis: called at the timeout (escalate false: e.g. kill the task) and
     * once more a few seconds later if it still has not (escalate true: e.g. replace its executor).
     */
    void unanswered(Frames.Hello task, long step, long waitedMillis, boolean escalate);
  }

  /**
   * How long a task waits for a frame before it takes the driver for gone: the configured step timeout, or
   * 60 s. The driver's heartbeats come four times as often.
   */
  public static long taskSilenceMillis(double stepTimeoutSeconds) {
    return stepTimeoutSeconds > 0 ? Math.max(1000, (long) (stepTimeoutSeconds * 1000)) : 60_000;
  }

  /** A message from the driver to a task: the parameters of a step, or (params == null) STOP. */
  public record Message(long step, int epoch, int iteration, float[] params) {
    static final Message STOP = new Message(-1, -1, -1, null);

    public boolean isStop() {
      return params == null;
    }
  }

  private record Hello(Conn conn, Frames.Hello hello) {}

  private record Grad(Conn conn, Frames.Grad grad) {}

  private record Closed(Conn conn, IOException cause) {}

  /** One task's connection; send is called by the training thread (or a sender on its behalf). */
  private abstract static class Conn {
    volatile Frames.Hello hello;

    abstract boolean send(Message m, Frames.Writer encoded);

    /** Tells this task, a child in the gradient tree, where its parent listens. */
    abstract boolean sendPeer(Frames.Peer parent);

    abstract void close();

    boolean isTcp() {
      return false;
    }
  }

  /** A PING frame's plain bytes. */
  private static final byte[] PING;

  static {
    Frames.Writer w = new Frames.Writer();
    w.begin(Frames.PING, 0).finish();
    PING = java.util.Arrays.copyOf(w.array(), w.length());
  }

  private static final class TcpConn extends Conn {
    final Socket socket;
    final OutputStream out;
    /** Set once the handshake is done on an encrypted run; then every frame written is sealed first. */
    ChannelSecurity.Aead sealer;
    /** With the sealer: the endpoint's sealer of what every task is sent alike, whose bytes send writes. */
    ChannelSecurity.Broadcast broadcast;
    private byte[] sealed;
    volatile long lastSend = System.nanoTime();

    TcpConn(Socket socket) throws IOException {
      this.socket = socket;
      this.out = new BufferedOutputStream(socket.getOutputStream(), 1 << 16);
    }

    @Override
    boolean send(Message m, Frames.Writer w) {
      if (broadcast != null) return writeSealed(broadcast.bytes(), broadcast.length());
      return write(w.array(), w.length());
    }

    @Override
    boolean sendPeer(Frames.Peer parent) {
      Frames.Writer w = new Frames.Writer();
      Frames.encode(w, Frames.PEER, parent.body());
      return write(w.array(), w.length());
    }

    /** Writes one frame (the sender threads, the heartbeat and the training thread share the stream). */
    boolean write(byte[] frame, int len) {
      return write(frame, len, sealer);
    }

    /** Writes bytes already sealed (a broadcast frame) as they are. */
    boolean writeSealed(byte[] b, int len) {
      return write(b, len, null);
    }

    private synchronized boolean write(byte[] frame, int len, ChannelSecurity.Aead with) {
      try {
        sealed = Frames.write(out, frame, len, with, sealed);
        lastSend = System.nanoTime();
        return true;
      } catch (IOException e) {
        close();
        return false;
      }
    }

    @Override
    void close() {
      try {
        socket.close();
      } catch (IOException ignored) {
        // closing
      }
    }

    @Override
    boolean isTcp() {
      return true;
    }
  }

  /** A task in this JVM: messages go into its inbox as they are. */
  private static final class LocalConn extends Conn {
    /** Messages and PEERs, in the order sent. */
    final LinkedBlockingQueue<Object> inbox = new LinkedBlockingQueue<>();
    volatile boolean open = true;

    @Override
    boolean send(Message m, Frames.Writer encoded) {
      if (!open) return false;
      inbox.add(m);
      return true;
    }

    @Override
    boolean sendPeer(Frames.Peer parent) {
      if (!open) return false;
      inbox.add(parent);
      return true;
    }

    @Override
    void close() {
      open = false;
      inbox.add(Message.STOP);
    }
  }

  /**
   * Listens on the configured address for the tasks of the run, which receive its id and secret inside the
   * Spark closure (over Spark's RPC, encrypted when Spark's is).
   */
  public StepServer(Config config) throws IOException {
    this.config = config;
    this.run = config.run();
    this.partitions = config.partitions();
    this.gradientLength = config.gradientLength();
    this.statsCount = config.statsCount();
    this.conns = new Conn[partitions];
    this.sentAt = new long[partitions];
    this.helloAttempt = new int[partitions];
    java.util.Arrays.fill(helloAttempt, -1);
    this.server = new ServerSocket();
    server.setReceiveBufferSize(1 << 22);
    server.bind(new InetSocketAddress(InetAddress.getByName(config.bindAddress()), config.port()), 64);
    this.senders = Executors.newFixedThreadPool(partitions, r -> {
      Thread t = new Thread(r, "sparktrain-step-endpoint-send");
      t.setDaemon(true);
      return t;
    });
    // a broadcast is sealed on this thread and up to `partitions` senders, while the tasks wait for it
    this.broadcast = run.encrypt()
        ? new ChannelSecurity.Broadcast(Math.min(Runtime.getRuntime().availableProcessors(), partitions + 1)) : null;
    if (run.encrypt()) writer.sealed();  // PARAMS and STOP: only ever sent sealed
    Thread acceptor = new Thread(this::acceptLoop, "sparktrain-step-endpoint-accept");
    acceptor.setDaemon(true);
    acceptor.start();
    Thread heartbeat = new Thread(this::heartbeatLoop, "sparktrain-step-endpoint-heartbeat");
    heartbeat.setDaemon(true);
    heartbeat.start();
    IN_PROCESS.put(run.id(), this);
  }

  /** PING to every connection that was sent nothing for a quarter of the tasks' silence limit. */
  private void heartbeatLoop() {
    long every = taskSilenceMillis(config.stepTimeoutSeconds()) / 4;
    while (!closed) {
      try {
        Thread.sleep(Math.max(50, every / 4));
      } catch (InterruptedException e) {
        return;
      }
      long now = System.nanoTime();
      for (TcpConn c : live) {
        if ((now - c.lastSend) / 1_000_000 >= every && !c.write(PING, PING.length)) live.remove(c);
      }
    }
  }

  /** Bytes of gradient frames received over TCP so far (in-process tasks send none). */
  public long gradientBytesReceived() {
    return gradBytes.get();
  }

  public int port() {
    return server.getLocalPort();
  }

  private void acceptLoop() {
    while (!closed) {
      try {
        Socket s = server.accept();
        s.setTcpNoDelay(true);
        s.setSendBufferSize(1 << 22);
        TcpConn c = new TcpConn(s);
        Thread reader = new Thread(() -> readLoop(c), "sparktrain-step-endpoint-read");
        reader.setDaemon(true);
        reader.start();
      } catch (IOException e) {
        return;  // the endpoint closed
      }
    }
  }

  private void readLoop(TcpConn c) {
    String peer = "step endpoint: task at " + c.socket.getRemoteSocketAddress();
    try {
      Frames.Reader r = new Frames.Reader(new DataInputStream(new BufferedInputStream(c.socket.getInputStream(), 1 << 16)), peer);
      c.socket.setSoTimeout(30_000);  // the handshake must come promptly
      Frames.Hello h = handshake(c, r, peer);
      c.socket.setSoTimeout(0);
      c.hello = h;
      live.add(c);
      events.add(new Hello(c, h));
      int max = Frames.gradBody(gradientLength, statsCount);
      while (true) {
        Frames.Frame g = r.read(max);
        if (g.type() != Frames.GRAD) throw new IOException(peer + ": expected GRAD, got frame type " + g.type());
        gradBytes.addAndGet(Frames.HEADER + g.body().remaining() + 4);  // as Frames.gradFrame counts
        events.add(new Grad(c, Frames.decodeGrad(g.body(), gradientLength, statsCount, peer)));
      }
    } catch (Refused e) {
      config.log().accept(e.getMessage());
      c.close();
    } catch (IOException e) {
      if (!(e instanceof java.io.EOFException)) config.log().accept(e.getMessage() + "; connection closed");
      c.close();
      live.remove(c);
      events.add(new Closed(c, e));
    }
  }

  /** A connection the handshake turned away; the driver logs it. */
  static final class Refused extends IOException {
    private static final long serialVersionUID = 1L;

    Refused(String peer, String why) {
      super(peer + ": refused: " + why);
    }
  }

  /**
   * The driver's side of the handshake: a HELLO of this run for a valid partition with the run's flags, then our
   * CHALLENGE, then the task's PROOF, checked in constant time; on an encrypted run, the keys.
   */
  private Frames.Hello handshake(TcpConn c, Frames.Reader r, String peer) throws IOException {
    Admitted a = admit(c.out, r, peer, run, h -> h.partition() < 0 || h.partition() >= partitions
        ? "HELLO for partition " + h.partition() + "; the run has " + partitions : null);
    c.sealer = a.sealer();
    if (c.sealer != null) {
      // the first sealed frame: the key of the frames sealed once for every task
      Frames.Writer w = new Frames.Writer();
      Frames.encode(w, Frames.KEY, broadcast.keyBody());
      c.sealed = Frames.write(c.out, w.array(), w.length(), c.sealer, null);
      c.broadcast = broadcast;
    }
    return a.hello();
  }

  /** A connection that passed {@link #admit}: the peer's HELLO, and the sealer of frames to it (null: plain). */
  record Admitted(Frames.Hello hello, ChannelSecurity.Aead sealer) {}

  /**
   * The accepting side of the handshake, the driver's and a parent task's ({@link TreeReduce}): a HELLO of this
   * run with the run's flags that refuse (a reason, or null) lets through, then our CHALLENGE with our proof,
   * then the peer's PROOF, checked in constant time; on an encrypted run, the keys (r then opens what it reads).
   * A refusal is a {@link Refused}, whose message names the peer and the reason.
   */
  static Admitted admit(OutputStream out, Frames.Reader r, String peer, ChannelSecurity.Run run,
                        java.util.function.Function<Frames.Hello, String> refuse) throws IOException {
    Frames.Frame f = r.read(Frames.Hello.MAX_BODY);
    if (f.type() != Frames.HELLO) throw new Refused(peer, "expected HELLO, got frame type " + f.type());
    byte[] helloBody = Frames.copy(f.body());
    Frames.Hello h = Frames.Hello.decode(f.body(), peer);
    if (h.runId() != run.id()) {
      throw new Refused(peer, String.format("HELLO from a task of another run (run %016x; this run is %016x)", h.runId(), run.id()));
    }
    String why = refuse.apply(h);
    if (why != null) throw new Refused(peer, why);
    int flags = run.encrypt() ? Frames.ENCRYPTED : 0;
    if (h.flags() != flags) {
      throw new Refused(peer, "the task asks for " + ((h.flags() & Frames.ENCRYPTED) != 0 ? "an encrypted" : "a plain")
          + " channel; this run's is " + (run.encrypt() ? "encrypted" : "plain"));
    }
    byte[] nonce = ChannelSecurity.bytes(ChannelSecurity.NONCE);
    byte[] transcript = ChannelSecurity.transcript(helloBody, nonce, flags);
    Frames.Writer w = new Frames.Writer();
    Frames.encode(w, Frames.CHALLENGE, new Frames.Challenge(nonce, flags, ChannelSecurity.driverProof(run.secret(), transcript)).body());
    w.writeTo(out);
    Frames.Frame p;
    try {
      p = r.read(ChannelSecurity.MAC);
    } catch (IOException e) {
      throw new Refused(peer, "no PROOF after the CHALLENGE to " + h.describe() + ": " + e.getMessage());
    }
    if (p.type() != Frames.PROOF || p.body().remaining() != ChannelSecurity.MAC) {
      throw new Refused(peer, "expected a PROOF of " + ChannelSecurity.MAC + " bytes, got frame type " + p.type());
    }
    if (!ChannelSecurity.same(ChannelSecurity.taskProof(run.secret(), transcript), Frames.copy(p.body()))) {
      throw new Refused(peer, h.describe() + " failed authentication: a wrong secret, or a replayed HELLO");
    }
    ChannelSecurity.Aead sealer = null;
    if (run.encrypt()) {
      sealer = ChannelSecurity.sealer(run.secret(), transcript, ChannelSecurity.DRIVER_TO_TASK);
      r.decrypt(ChannelSecurity.opener(run.secret(), transcript, ChannelSecurity.TASK_TO_DRIVER));
    }
    return new Admitted(h, sealer);
  }

  /**
   * The in-process link of a task in this JVM, or null when the endpoint of this run lives in another JVM
   * (the task then connects over TCP).
   */
  public static Link inProcess(Frames.Hello hello) {
    StepServer s = IN_PROCESS.get(hello.runId());
    if (s == null || s.closed) return null;
    LocalConn c = new LocalConn();
    c.hello = hello;
    s.events.add(new Hello(c, hello));
    return new Link() {
      private String parentAt;

      @Override
      public Message next(Runnable whileWaiting) throws IOException {
        try {
          while (true) {
            Object o = c.inbox.poll(200, TimeUnit.MILLISECONDS);
            if (o instanceof Frames.Peer peer) {
              parentAt = peer.listen();
            } else if (o instanceof Message m) {
              if (m.isStop() && !c.open && !s.closed && s.current != Message.STOP) {
                throw new IOException("step endpoint: partition " + hello.partition() + " was replaced by a newer attempt");
              }
              return m;
            } else {
              whileWaiting.run();
            }
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException("interrupted", e);
        }
      }

      @Override
      public String parentAddress(Runnable whileWaiting, long waitMillis) throws IOException {
        long since = System.nanoTime();
        try {
          while (parentAt == null) {
            Object o = c.inbox.poll(200, TimeUnit.MILLISECONDS);
            if (o instanceof Frames.Peer peer) parentAt = peer.listen();
            else if (o != null) throw new IOException("step endpoint: partition " + hello.partition() + " was sent a step or STOP while it waited for its parent's address");
            whileWaiting.run();
            waited(since, waitMillis, hello.partition());
          }
          return parentAt;
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException("interrupted", e);
        }
      }

      @Override
      public void sendGrad(long step, int partition, GradientSum.Node node) {
        s.events.add(new Grad(c, new Frames.Grad(step, partition, node)));
      }

      @Override
      public void close() {
        if (c.open) {
          c.open = false;
          s.events.add(new Closed(c, null));
        }
      }
    };
  }

  /** A task's side of a connection, TCP ({@link StepClient}) or in-process. */
  public interface Link extends AutoCloseable {
    /** The next message: a step's parameters (not to be written to), or STOP. */
    Message next(Runnable whileWaiting) throws IOException;

    /**
     * With the gradient tree: where this task's parent listens, as the driver tells it (PEER) once both have said
     * HELLO in the same stage attempt; waits at most waitMillis (the parent never connected: the task ends).
     */
    String parentAddress(Runnable whileWaiting, long waitMillis) throws IOException;

    void sendGrad(long step, int partition, GradientSum.Node node) throws IOException;

    @Override
    void close();
  }

  /**
   * Sends the parameters of this step to every connected task (and to every task that connects while it waits)
   * and returns each partition's gradient sum for it, in partition order. The array must not be written to
   * afterwards. failure is polled while waiting: a non-null answer (the barrier job ended without finishing the
   * step) is thrown.
   */
  public GradientSum.Node[] exchange(long step, int epoch, int iteration, float[] params,
                                     Supplier<RuntimeException> failure) {
    long start = System.nanoTime();
    long timeout = stepTimeoutMillis();
    current = new Message(step, epoch, iteration, params);
    sendToAll();
    GradientSum.Node[] got = new GradientSum.Node[partitions];
    Conn[] from = new Conn[partitions];  // the connection each gradient came from
    int[] reported = new int[partitions];
    int have = 0;
    while (have < partitions) {
      Object e = take(failure);
      if (e instanceof Grad g) {
        Frames.Grad gr = g.grad();
        int p = gr.partition();
        if (gr.step() == step && p == g.conn().hello.partition() && g.conn() == conns[p] && got[p] == null) {
          got[p] = gr.node();
          from[p] = g.conn();
          have++;
        }
      } else if (e != null) {
        if (e instanceof Hello h) reported[h.hello().partition()] = 0;  // a new attempt: its clock starts again
        handle(e);
        // A gradient counts only while its connection is the partition's current one. An in-process task hands
        // over its thread's step buffers (GradientTask.compute): once its attempt has ended, a task of the
        // relaunched stage may run on that thread and overwrite them, so the partition's new attempt answers.
        for (int p = 0; p < partitions; p++) {
          if (from[p] != null && from[p] != conns[p]) {
            got[p] = null;
            from[p] = null;
            have--;
          }
        }
      }
      watch(step, got, reported, timeout);
    }
    record((System.nanoTime() - start) / 1e6);
    return got;
  }

  /**
   * The partitions whose connection was sent this step more than the timeout ago and has not answered: the
   * watchdog hears of them at the timeout and again {@link #escalateMillis} later, and {@link #giveUpMillis} past
   * the timeout the run fails, never hangs.
   */
  private void watch(long step, GradientSum.Node[] got, int[] reported, long timeout) {
    long now = System.nanoTime();
    for (int p = 0; p < partitions; p++) {
      Conn c = conns[p];
      if (got[p] != null || c == null || sentAt[p] == 0 || waitsForAChild(p, got) || waitsForItsParent(p)) continue;
      long waited = (now - sentAt[p]) / 1_000_000;
      if (waited < timeout) continue;
      Frames.Hello task = c.hello;
      String what = task.describe() + " has not answered step " + step + " for " + waited / 1000.0 + " s (train.step_timeout "
          + (config.stepTimeoutSeconds() > 0 ? config.stepTimeoutSeconds() + " s" : timeout / 1000.0 + " s, derived")
          + ")";
      if (reported[p] == 0) {
        reported[p] = 1;
        config.log().accept("step endpoint: " + what + "; failing its task so that Spark retries the stage");
        config.watchdog().unanswered(task, step, waited, false);
      } else if (reported[p] == 1 && waited >= timeout + escalateMillis(timeout)) {
        reported[p] = 2;
        config.log().accept("step endpoint: " + what + "; its task did not end when killed: replacing executor " + task.executor());
        config.watchdog().unanswered(task, step, waited, true);
      } else if (waited >= timeout + giveUpMillis(timeout)) {
        throw new dev.sparktrain.JobFailure("step endpoint: " + what + ", and Spark did not replace it within "
            + giveUpMillis(timeout) / 1000.0 + " s; giving up (resume from the last checkpoint with --resume)");
      }
    }
  }

  /** The step timeout in ms: the configured one, or 20 × the median of recent step times, at least 60 s. */
  long stepTimeoutMillis() {
    if (config.stepTimeoutSeconds() > 0) return (long) (config.stepTimeoutSeconds() * 1000);
    int n = Math.min(recorded, recent.length);
    if (n == 0) return 60_000;
    double[] r = java.util.Arrays.copyOf(recent, n);
    java.util.Arrays.sort(r);
    return Math.max(60_000, (long) (20 * r[n / 2]));
  }

  private void record(double millis) {
    recent[recorded++ % recent.length] = millis;
  }

  /** Ends the run of steps: every task, connected now or later (a relaunched stage), is told to stop. */
  public void stop() {
    current = Message.STOP;
    sendToAll();
  }

  /** The current message to every connection: TCP ones in parallel, from one encoding. */
  private void sendToAll() {
    boolean tcp = false;
    for (Conn c : conns) tcp |= c != null && c.isTcp();
    if (tcp) encodeCurrent();
    @SuppressWarnings("unchecked")
    Future<Boolean>[] sent = new Future[partitions];
    for (int p = 0; p < partitions; p++) {
      Conn c = conns[p];
      if (c == null) continue;
      if (c.isTcp()) sent[p] = senders.submit(() -> c.send(current, writer));
      else if (!c.send(current, writer)) conns[p] = null;
    }
    long now = System.nanoTime();
    for (int p = 0; p < partitions; p++) {
      sentAt[p] = conns[p] == null ? 0 : now;
      if (sent[p] == null) continue;
      try {
        if (!sent[p].get()) conns[p] = null;
      } catch (Exception e) {
        conns[p] = null;
      }
      if (conns[p] == null) sentAt[p] = 0;
    }
  }

  private void encodeCurrent() {
    Message m = current;
    if (m.isStop()) {
      writer.begin(Frames.STOP, 0).finish();
      encodedStep = Long.MIN_VALUE;
    } else if (encodedStep != m.step()) {
      Frames.encodeParams(writer, m.step(), m.epoch(), m.iteration(), m.params());
      encodedStep = m.step();
    } else {
      return;  // encoded (and sealed) already
    }
    if (broadcast != null) broadcast.seal(writer.array(), writer.length(), senders);
  }

  /** Serves HELLOs (with STOP after {@link #stop}) until the barrier job is over, as the job's thread reports. */
  public void drain(java.util.function.BooleanSupplier jobDone) {
    while (!jobDone.getAsBoolean()) {
      try {
        Object e = events.poll(50, TimeUnit.MILLISECONDS);
        if (e != null) handle(e);
      } catch (InterruptedException ie) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /** The next event, or null after 100 ms without one; throws what failure reports. */
  private Object take(Supplier<RuntimeException> failure) {
    try {
      Object e = events.poll(100, TimeUnit.MILLISECONDS);
      if (e != null) return e;
      RuntimeException f = failure.get();
      if (f != null) throw f;
      return null;
    } catch (InterruptedException ie) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for gradients", ie);
    }
  }

  /** HELLO: the newest attempt of a partition replaces an older connection and gets the message in flight. */
  private void handle(Object e) {
    if (e instanceof Hello h) {
      int p = h.hello().partition();
      Conn old = conns[p];
      if (old != null && newer(old.hello, h.hello())) {
        h.conn().close();  // a straggler of an attempt that was already replaced
        return;
      }
      if (old != null) old.close();
      conns[p] = h.conn();
      sentAt[p] = 0;
      helloAttempt[p] = Math.max(helloAttempt[p], h.hello().stageAttempt());
      if (current != null) {
        if (h.conn().isTcp()) encodeCurrent();
        if (!h.conn().send(current, writer)) conns[p] = null;
        else sentAt[p] = System.nanoTime();
      }
      introduce(p);
    } else if (e instanceof Closed c) {
      Frames.Hello h = c.conn().hello;
      if (h != null && conns[h.partition()] == c.conn()) {
        conns[h.partition()] = null;
        sentAt[h.partition()] = 0;
      }
    }
    // a GRAD outside exchange (a stale step) is dropped
  }

  private static boolean newer(Frames.Hello a, Frames.Hello b) {
    return a.stageAttempt() > b.stageAttempt() || (a.stageAttempt() == b.stageAttempt() && a.attempt() > b.attempt());
  }

  /**
   * The tasks sum their gradients along {@link TreeReduce}'s tree: a partition answers a step only after its
   * children's sums reached it, so the watchdog blames only a partition none of whose children is still silent
   * (the one that hangs, not its waiting ancestors).
   */
  public void sumsAlongTree() {
    int[][] c = new int[partitions][];
    for (int p = 0; p < partitions; p++) c[p] = TreeReduce.children(p, partitions);
    treeChildren = c;
  }

  /**
   * With the tree, the driver is the tasks' rendezvous: a newly connected partition p is told where its parent
   * listens, and p's children where p does, for each pair whose connections are of the same stage attempt (a
   * connection of another attempt is about to be replaced, and its address is told when it is).
   */
  private void introduce(int p) {
    int[][] c = treeChildren;
    if (c == null || conns[p] == null) return;
    int parent = TreeReduce.parent(p);
    if (parent >= 0) offerParent(conns[parent], conns[p]);
    for (int child : c[p]) offerParent(conns[p], conns[child]);
  }

  /** Sends child its parent's address when both are connected in the same stage attempt. */
  private static void offerParent(Conn parent, Conn child) {
    if (parent == null || child == null) return;
    Frames.Hello ph = parent.hello, ch = child.hello;
    if (ph.stageAttempt() != ch.stageAttempt() || ph.listen().isEmpty()) return;
    child.sendPeer(new Frames.Peer(ph.partition(), ph.stageAttempt(), ph.listen()));
  }

  /**
   * Whether partition p cannot answer yet because its parent has not said HELLO in p's stage attempt, so that p
   * has no address to send to (tree only). A parent that connected and left since does not excuse p: p may be
   * the one that hangs, and its parent gave up waiting for it.
   */
  private boolean waitsForItsParent(int p) {
    Conn self = conns[p];
    if (treeChildren == null || p == 0 || self == null) return false;
    return helloAttempt[TreeReduce.parent(p)] < self.hello.stageAttempt();
  }

  /** Whether partition p waits for a child that has not answered (always false without the tree). */
  private boolean waitsForAChild(int p, GradientSum.Node[] got) {
    int[][] c = treeChildren;
    if (c == null) return false;
    for (int child : c[p]) if (got[child] == null) return true;
    return false;
  }

  /** Throws once a task has waited waitMillis for its parent's address. */
  static void waited(long since, long waitMillis, int partition) throws IOException {
    long ms = (System.nanoTime() - since) / 1_000_000;
    if (ms > waitMillis) {
      throw new IOException("partition " + partition + ": the driver gave no address of its parent in the tree for "
          + ms / 1000.0 + " s (train.step_timeout): the parent's task did not connect; the task ends");
    }
  }

  /** The step whose parameters were last sent, or -1. */
  public long stepInFlight() {
    Message m = current;
    return m == null ? -1 : m.step();
  }

  @Override
  public void close() {
    closed = true;
    IN_PROCESS.remove(run.id(), this);
    try {
      server.close();
    } catch (IOException ignored) {
      // closing
    }
    for (Conn c : conns) if (c != null) c.close();
    senders.shutdownNow();
  }
}
