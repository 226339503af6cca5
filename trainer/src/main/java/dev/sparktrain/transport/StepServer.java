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
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The driver's aggregation endpoint of the barrier engine. Each training task connects once, says HELLO with the
 * run's token and its partition, and then loops: it receives PARAMS for a step, computes its gradient sum and
 * answers GRAD. {@link #exchange} sends one step's parameters to every partition and returns when it holds every
 * partition's gradient for that step; the caller combines them along {@link GradientSum}'s fixed tree, so the
 * result is the job engine's bit for bit.
 *
 * <p>Tasks in other JVMs connect over TCP and speak the framed protocol ({@link Frames}); the frame of a step is
 * encoded once and written to all of them in parallel. A task in the driver's own JVM (local mode) finds the
 * endpoint by its token and exchanges the same messages through in-memory queues: the parameters and gradient
 * arrays are handed over, not copied, and neither side writes to an array once it has been handed over.
 *
 * <p>Faults: when a task dies, Spark relaunches the whole barrier stage. The new tasks' HELLOs replace the old
 * connections, and each newcomer is sent the step in flight, the last completed step being the one the driver's
 * parameters came from. Gradients are pure functions of (parameters, step, partition), so a gradient received
 * before the failure equals its recomputation and is kept. Only the training thread calls exchange and stop;
 * one thread accepts and one thread per TCP connection reads, handing the frames over through a queue.
 */
public final class StepServer implements AutoCloseable {
  /** Endpoints of this JVM by token, for tasks that run in the driver's JVM. */
  private static final Map<Long, StepServer> IN_PROCESS = new ConcurrentHashMap<>();

  private final ServerSocket server;
  private final long token;
  private final int partitions, gradientLength, statsCount;
  /** Bytes of GRAD frames read from tasks over TCP (header, body and checksum), for the bytes-per-step figure. */
  private final java.util.concurrent.atomic.AtomicLong gradBytes = new java.util.concurrent.atomic.AtomicLong();
  private final LinkedBlockingQueue<Object> events = new LinkedBlockingQueue<>();
  private final Conn[] conns;
  private final Frames.Writer writer = new Frames.Writer();
  private final ExecutorService senders;
  /** What every newcomer is sent: the step in flight, or STOP; null before the first step. */
  private volatile Message current;
  private long encodedStep = Long.MIN_VALUE;
  private volatile boolean closed;

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

    abstract void close();

    boolean isTcp() {
      return false;
    }
  }

  private static final class TcpConn extends Conn {
    final Socket socket;
    final OutputStream out;

    TcpConn(Socket socket) throws IOException {
      this.socket = socket;
      this.out = new BufferedOutputStream(socket.getOutputStream(), 1 << 16);
    }

    @Override
    boolean send(Message m, Frames.Writer w) {
      try {
        out.write(w.array(), 0, w.length());
        out.flush();
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
    final LinkedBlockingQueue<Message> inbox = new LinkedBlockingQueue<>();
    volatile boolean open = true;

    @Override
    boolean send(Message m, Frames.Writer encoded) {
      if (!open) return false;
      inbox.add(m);
      return true;
    }

    @Override
    void close() {
      open = false;
      inbox.add(Message.STOP);
    }
  }

  /**
   * Listens on bindAddress (an ephemeral port) for the tasks of a run with this token, which the tasks receive
   * inside the Spark closure (over Spark's RPC, encrypted when Spark's is).
   */
  public StepServer(String bindAddress, long token, int partitions, int gradientLength, int statsCount) throws IOException {
    this.token = token;
    this.partitions = partitions;
    this.gradientLength = gradientLength;
    this.statsCount = statsCount;
    this.conns = new Conn[partitions];
    this.server = new ServerSocket();
    server.setReceiveBufferSize(1 << 22);
    server.bind(new InetSocketAddress(InetAddress.getByName(bindAddress), 0), 64);
    this.senders = Executors.newFixedThreadPool(partitions, r -> {
      Thread t = new Thread(r, "sparktrain-step-endpoint-send");
      t.setDaemon(true);
      return t;
    });
    Thread acceptor = new Thread(this::acceptLoop, "sparktrain-step-endpoint-accept");
    acceptor.setDaemon(true);
    acceptor.start();
    IN_PROCESS.put(token, this);
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
    try {
      String peer = "step endpoint: task at " + c.socket.getRemoteSocketAddress();
      Frames.Reader r = new Frames.Reader(new DataInputStream(new BufferedInputStream(c.socket.getInputStream(), 1 << 16)), peer);
      c.socket.setSoTimeout(30_000);  // a HELLO must come promptly
      Frames.Frame f = r.read(64);
      if (f.type() != Frames.HELLO) throw new IOException(peer + ": expected HELLO, got frame type " + f.type());
      Frames.Hello h = Frames.Hello.decode(f.body());
      if (h.token() != token || h.partition() < 0 || h.partition() >= partitions) {
        throw new IOException(peer + ": HELLO with a wrong token or partition " + h.partition());
      }
      c.hello = h;
      c.socket.setSoTimeout(0);
      events.add(new Hello(c, h));
      int max = Frames.gradBody(gradientLength, statsCount);
      while (true) {
        Frames.Frame g = r.read(max);
        if (g.type() != Frames.GRAD) throw new IOException(peer + ": expected GRAD, got frame type " + g.type());
        gradBytes.addAndGet(Frames.HEADER + g.body().remaining() + 4);  // as Frames.gradFrame counts
        events.add(new Grad(c, Frames.decodeGrad(g.body(), gradientLength, statsCount, peer)));
      }
    } catch (IOException e) {
      c.close();
      events.add(new Closed(c, e));
    }
  }

  /**
   * The in-process link of a task in this JVM, or null when the endpoint with this token lives in another JVM
   * (the task then connects over TCP).
   */
  public static Link inProcess(Frames.Hello hello) {
    StepServer s = IN_PROCESS.get(hello.token());
    if (s == null || s.closed) return null;
    LocalConn c = new LocalConn();
    c.hello = hello;
    s.events.add(new Hello(c, hello));
    return new Link() {
      @Override
      public Message next(Runnable whileWaiting) throws IOException {
        try {
          while (true) {
            Message m = c.inbox.poll(200, TimeUnit.MILLISECONDS);
            if (m != null) {
              if (m.isStop() && !c.open && !s.closed && s.current != Message.STOP) {
                throw new IOException("step endpoint: partition " + hello.partition() + " was replaced by a newer attempt");
              }
              return m;
            }
            whileWaiting.run();
          }
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
    current = new Message(step, epoch, iteration, params);
    sendToAll();
    GradientSum.Node[] got = new GradientSum.Node[partitions];
    int have = 0;
    while (have < partitions) {
      Object e = take(failure);
      if (e instanceof Grad g) {
        Frames.Grad gr = g.grad();
        int p = gr.partition();
        if (gr.step() == step && p == g.conn().hello.partition() && got[p] == null) {
          got[p] = gr.node();
          have++;
        }
      } else {
        handle(e);
      }
    }
    return got;
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
    for (int p = 0; p < partitions; p++) {
      if (sent[p] == null) continue;
      try {
        if (!sent[p].get()) conns[p] = null;
      } catch (Exception e) {
        conns[p] = null;
      }
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
    }
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

  private Object take(Supplier<RuntimeException> failure) {
    try {
      while (true) {
        Object e = events.poll(100, TimeUnit.MILLISECONDS);
        if (e != null) return e;
        RuntimeException f = failure.get();
        if (f != null) throw f;
      }
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
      if (current != null) {
        if (h.conn().isTcp()) encodeCurrent();
        if (!h.conn().send(current, writer)) conns[p] = null;
      }
    } else if (e instanceof Closed c) {
      Frames.Hello h = c.conn().hello;
      if (h != null && conns[h.partition()] == c.conn()) conns[h.partition()] = null;
    }
    // a GRAD outside exchange (a stale step) is dropped
  }

  private static boolean newer(Frames.Hello a, Frames.Hello b) {
    return a.stageAttempt() > b.stageAttempt() || (a.stageAttempt() == b.stageAttempt() && a.attempt() > b.attempt());
  }

  /** The step whose parameters were last sent, or -1. */
  public long stepInFlight() {
    Message m = current;
    return m == null ? -1 : m.step();
  }

  @Override
  public void close() {
    closed = true;
    IN_PROCESS.remove(token, this);
    try {
      server.close();
    } catch (IOException ignored) {
      // closing
    }
    for (Conn c : conns) if (c != null) c.close();
    senders.shutdownNow();
  }
}
