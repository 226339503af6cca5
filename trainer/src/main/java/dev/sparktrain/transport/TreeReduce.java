package dev.sparktrain.transport;

import dev.sparktrain.train.GradientSum;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * The gradient tree among the tasks of a barrier stage (train.reduce = tree): instead of every task sending its
 * partition's gradient sum to the driver, each task adds its children's sums to its own along
 * {@link GradientSum}'s fixed binary tree of partition indices and sends the result to its parent; partition 0
 * sends the total, and only it, to the driver. The driver then receives one gradient per step whatever the number
 * of tasks, and the sum is the one every other engine computes, bit for bit: each tree node is computed as
 * left + right from the same operands, by the task of the node's leftmost partition.
 *
 * <p>Topology: partition p's parent is p minus its lowest set bit; its children are p + 2^l for each level l
 * below its lowest set bit (every level for partition 0) while p + 2^l is a partition, combined in increasing l.
 * With P partitions a task has at most ⌈log₂ P⌉ children and the longest chain to the driver is ⌈log₂ P⌉ + 1
 * hops.
 *
 * <p>Connections: every task with children listens on an ephemeral port of its executor's host and puts that
 * address in its HELLO to the driver; the driver is the rendezvous, and tells each child where its parent of the
 * same stage attempt listens (a PEER frame) once both have said HELLO. Spark's own {@code allGather} is not used:
 * its barrier sync polls every second, which cost a second per barrier stage, and after a loss Spark may rerun
 * only the stage's unfinished tasks, whose sync then waits forever for the finished ones. At its first step a
 * child connects to its parent and runs the step channel's handshake with the run's secret, the parent in the
 * driver's role ({@link StepServer#admit}): it admits only its own children of its own stage attempt, and on an
 * encrypted run every frame is sealed with per-connection keys, exactly as on the links to the driver. The
 * frames are the step protocol's GRAD frames.
 *
 * <p>Faults: a task that fails fails the barrier stage, and the relaunched stage builds a new tree. A stage
 * relaunched after the driver's last step is told STOP at once, and its tasks then end without linking up (a
 * parent ends as soon as it reads STOP, so a child that connected before its first step could find it gone). A
 * child waits for its parent's address, and a parent for a child, at most the tasks' silence limit, polling
 * {@code whileWaiting} (the task's kill flag) every 200 ms; so no task waits forever.
 */
public final class TreeReduce implements AutoCloseable {
  /** A partition's parent in the tree: p minus its lowest set bit; -1 for partition 0, the root. */
  public static int parent(int p) {
    if (p < 0) throw new IllegalArgumentException("partition " + p);
    return p == 0 ? -1 : p - Integer.lowestOneBit(p);
  }

  /** A partition's children in the order their sums are added to its own. */
  public static int[] children(int p, int partitions) {
    if (p < 0 || p >= partitions) throw new IllegalArgumentException("partition " + p + " of " + partitions);
    long below = p == 0 ? Long.MAX_VALUE : Integer.lowestOneBit(p);  // the levels under p's own
    return java.util.stream.LongStream.iterate(1, bit -> bit < below && p + bit < partitions, bit -> bit << 1)
        .mapToInt(bit -> (int) (p + bit)).toArray();
  }

  private final ChannelSecurity.Run run;
  private final Frames.Hello self;
  private final int partition, gradientLength, statsCount;
  private final int[] children;
  private final long silenceMillis;
  private final Consumer<String> log;
  private final ServerSocket listener;
  private final Map<Integer, Child> admitted = new ConcurrentHashMap<>();
  private final AtomicLong bytesFromChildren = new AtomicLong();
  private final String bindHost;
  /** The link to the parent, made at the first reduce; null before, and always on partition 0. */
  private StepClient parentLink;
  private volatile boolean closed;

  /** A child's admitted connection; only the task's own thread reads from it, after admission. */
  private record Child(Socket socket, Frames.Reader reader, String peer) {}

  private TreeReduce(ChannelSecurity.Run run, Frames.Hello self, int partitions, int gradientLength, int statsCount,
                     String bindHost, long silenceMillis, Consumer<String> log) throws IOException {
    this.run = run;
    this.self = self;
    this.partition = self.partition();
    this.gradientLength = gradientLength;
    this.statsCount = statsCount;
    this.children = children(partition, partitions);
    this.silenceMillis = silenceMillis;
    this.log = log;
    this.bindHost = bindHost;
    if (children.length == 0) {
      listener = null;
    } else {
      listener = new ServerSocket();
      listener.setReceiveBufferSize(1 << 22);
      listener.bind(new InetSocketAddress(InetAddress.getByName(bindHost), 0), children.length + 4);
      Thread t = new Thread(this::acceptLoop, "sparktrain-tree-accept-p" + partition);
      t.setDaemon(true);
      t.start();
    }
  }

  /**
   * Partition self.partition()'s side of the tree: listens for its children, if it has any, on bindHost (its
   * {@link #address} goes to the driver in the task's HELLO). The link to its parent, if it has one, is made at
   * the first {@link #reduce}, at the address the driver gives (PEER), so that a task told STOP at once (a stage
   * relaunched after the driver's last step) never waits for a parent. self is the task's HELLO to the driver;
   * its parent is sent the same with a fresh nonce. log receives refusals.
   */
  public static TreeReduce open(ChannelSecurity.Run run, Frames.Hello self, int partitions, int gradientLength,
                                int statsCount, String bindHost, long silenceMillis, Consumer<String> log) throws IOException {
    return new TreeReduce(run, self, partitions, gradientLength, statsCount, bindHost, silenceMillis, log);
  }

  /** host:port where this task's children reach it, or "" when it has none. */
  public String address() {
    return listener == null ? "" : bindHost + ":" + listener.getLocalPort();
  }

  /** Connects to the parent at its address, with the task's HELLO under a fresh nonce. */
  private StepClient connectToParent(String parentAddress) throws IOException {
    int colon = parentAddress.lastIndexOf(':');
    String host = parentAddress.substring(0, colon);
    int port;
    try {
      port = Integer.parseInt(parentAddress.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IOException("partition " + partition + ": its parent's address '" + parentAddress + "' has no port");
    }
    Frames.Hello hello = new Frames.Hello(self.runId(), ChannelSecurity.nonce(), self.partition(), self.stageAttempt(),
        self.attempt(), self.taskId(), self.flags(), self.executor());
    return new StepClient(host, port, run, hello, 0, silenceMillis,
        "partition " + partition + "'s parent, partition " + parent(partition) + " at " + parentAddress, false);
  }

  private void acceptLoop() {
    while (!closed) {
      Socket s;
      try {
        s = listener.accept();
      } catch (IOException e) {
        return;  // closed
      }
      String peer = "partition " + partition + "'s tree endpoint: task at " + s.getRemoteSocketAddress();
      try {
        s.setTcpNoDelay(true);
        s.setSoTimeout(30_000);  // the handshake must come promptly
        Frames.Reader r = new Frames.Reader(new DataInputStream(new BufferedInputStream(s.getInputStream(), 1 << 16)), peer);
        OutputStream out = s.getOutputStream();
        StepServer.Admitted a = StepServer.admit(out, r, peer, run, this::refusal);
        if (admitted.putIfAbsent(a.hello().partition(), new Child(s, r, "partition " + partition + "'s child, "
            + a.hello().describe())) != null) {
          throw new StepServer.Refused(peer, "partition " + a.hello().partition() + " is already connected");
        }
      } catch (IOException e) {
        log.accept(e.getMessage());
        try {
          s.close();
        } catch (IOException ignored) {
          // closing
        }
      }
    }
  }

  /** Why a HELLO is not one of this task's children of this stage attempt, or null when it is. */
  private String refusal(Frames.Hello h) {
    if (h.stageAttempt() != self.stageAttempt()) {
      return "HELLO of stage attempt " + h.stageAttempt() + " for the tree of stage attempt " + self.stageAttempt();
    }
    for (int c : children) if (c == h.partition()) return null;
    return "partition " + h.partition() + " is not a child of partition " + partition + " in the tree";
  }

  /**
   * Adds the children's sums of this step to own, in the tree's order (own is summed into; see
   * {@link GradientSum.Node#plus}); sends the result to the parent and returns null, or, on partition 0,
   * returns the total. driver is the task's link to the driver, which gives the parent's address the first time.
   */
  public GradientSum.Node reduce(long step, GradientSum.Node own, Runnable whileWaiting, StepServer.Link driver)
      throws IOException {
    GradientSum.Node node = own;
    for (int c : children) node = node.plus(receive(c, step, whileWaiting));
    if (partition == 0) return node;
    if (parentLink == null) parentLink = connectToParent(driver.parentAddress(whileWaiting, silenceMillis));
    parentLink.sendGrad(step, partition, node);
    return null;
  }

  /** Child c's GRAD of this step. */
  private GradientSum.Node receive(int c, long step, Runnable whileWaiting) throws IOException {
    long since = System.nanoTime();
    Child ch;
    while ((ch = admitted.get(c)) == null) {
      sleep200(whileWaiting);
      quiet(since, "partition " + c + " (a child of partition " + partition + " in the tree) did not connect");
    }
    ch.socket().setSoTimeout(200);
    int b0;
    while (true) {
      try {
        b0 = ch.reader().firstByte();
        break;
      } catch (SocketTimeoutException e) {
        whileWaiting.run();
        quiet(since, ch.peer() + " sent nothing for step " + step);
      }
    }
    if (b0 < 0) throw new java.io.EOFException(ch.peer() + " closed the connection");
    ch.socket().setSoTimeout(0);
    Frames.Frame f = ch.reader().readAfterFirstByte(b0, Frames.gradBody(gradientLength, statsCount));
    if (f.type() != Frames.GRAD) throw new IOException(ch.peer() + ": expected GRAD, got frame type " + f.type());
    bytesFromChildren.addAndGet(Frames.HEADER + f.body().remaining() + 4);
    Frames.Grad g = Frames.decodeGrad(f.body(), gradientLength, statsCount, ch.peer());
    if (g.step() != step || g.partition() != c) {
      throw new IOException(ch.peer() + ": GRAD of step " + g.step() + " for partition " + g.partition()
          + ", expected step " + step + " for partition " + c);
    }
    return g.node();
  }

  private void quiet(long since, String what) throws IOException {
    long ms = (System.nanoTime() - since) / 1_000_000;
    if (ms > silenceMillis) {
      throw new IOException(what + " for " + ms / 1000.0 + " s (train.step_timeout); the task ends");
    }
  }

  private static void sleep200(Runnable whileWaiting) throws IOException {
    try {
      Thread.sleep(200);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
    whileWaiting.run();
  }

  /** Bytes of GRAD frames this task has received from its children. */
  public long bytesFromChildren() {
    return bytesFromChildren.get();
  }

  /** This task's children, in the order they are added. */
  public int[] children() {
    return children.clone();
  }

  @Override
  public void close() {
    closed = true;
    try {
      if (listener != null) listener.close();
    } catch (IOException ignored) {
      // closing
    }
    for (Child c : admitted.values()) {
      try {
        c.socket().close();
      } catch (IOException ignored) {
        // closing
      }
    }
    if (parentLink != null) parentLink.close();
  }
}
