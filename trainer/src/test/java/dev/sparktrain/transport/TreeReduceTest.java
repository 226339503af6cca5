package dev.sparktrain.transport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktrain.train.GradientSum;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The gradient tree among barrier tasks, without Spark: its topology computes GradientSum's tree bit for bit,
 * tasks on threads reduce over real TCP connections (plain and encrypted) to the same bits, and a parent admits
 * only its own children of its own stage attempt that prove the run's secret.
 */
class TreeReduceTest {
  private static final int LENGTH = 1000, STATS = 6;

  /** Partition p's node of a step: values of mixed magnitude, so that float addition order shows in the bits. */
  private static GradientSum.Node node(int p, long step, boolean empty) {
    if (empty) return new GradientSum.Node(null, 0, 0, 0);
    Random r = new Random(31 * step + p);
    float[] g = new float[LENGTH];
    for (int i = 0; i < LENGTH; i++) g[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(7) - 3));
    double[] st = new double[STATS];
    for (int i = 0; i < STATS; i++) st[i] = r.nextGaussian() * 1e3;
    return new GradientSum.Node(g, r.nextDouble() * 100, 64 + p, p, st);
  }

  /** The driver's sum of one node per partition along GradientSum's tree (PartitionStep.combine). */
  private static GradientSum.Node flat(GradientSum.Node[] nodes) {
    GradientSum sum = GradientSum.empty(nodes.length);
    for (int p = 0; p < nodes.length; p++) sum.merge(GradientSum.leaf(nodes.length, p, nodes[p].copy()));
    return sum.total();
  }

  /** What the tasks compute: each adds its children's results to its own, in the order children() gives. */
  private static GradientSum.Node tree(int p, GradientSum.Node[] nodes) {
    GradientSum.Node n = nodes[p].copy();
    for (int c : TreeReduce.children(p, nodes.length)) n = n.plus(tree(c, nodes));
    return n;
  }

  private static void assertSameBits(GradientSum.Node want, GradientSum.Node got) {
    assertArrayEquals(want.grad(), got.grad());
    assertArrayEquals(want.stats(), got.stats());
    assertEquals(Double.doubleToRawLongBits(want.lossSum()), Double.doubleToRawLongBits(got.lossSum()));
    assertEquals(want.count(), got.count());
    assertEquals(want.correct(), got.correct());
  }

  @Test
  void theTreeIsGradientSumsTreeForEveryPartitionCount() {
    for (int partitions = 1; partitions <= 33; partitions++) {
      GradientSum.Node[] nodes = new GradientSum.Node[partitions];
      for (int p = 0; p < partitions; p++) nodes[p] = node(p, partitions, p % 5 == 3);
      assertSameBits(flat(nodes), tree(0, nodes));
      // every partition but 0 is exactly one partition's child, and that one is its parent
      int[] childOf = new int[partitions];
      java.util.Arrays.fill(childOf, -1);
      for (int p = 0; p < partitions; p++) {
        for (int c : TreeReduce.children(p, partitions)) {
          assertEquals(-1, childOf[c], "partition " + c + " has two parents");
          childOf[c] = p;
        }
      }
      for (int p = 0; p < partitions; p++) assertEquals(TreeReduce.parent(p), childOf[p], "parent of " + p);
    }
    assertArrayEquals(new int[] {1, 2, 4, 8}, TreeReduce.children(0, 9));
    assertArrayEquals(new int[] {5, 6}, TreeReduce.children(4, 7));
    assertArrayEquals(new int[] {}, TreeReduce.children(6, 7));
  }

  /** A grouping other than the tree's would give other bits: the check above can fail. */
  @Test
  void anotherSummationOrderGivesOtherBits() {
    GradientSum.Node[] nodes = new GradientSum.Node[5];
    for (int p = 0; p < 5; p++) nodes[p] = node(p, 5, false);
    GradientSum.Node chain = nodes[0].copy();
    for (int p = 1; p < 5; p++) chain = chain.plus(nodes[p].copy());
    assertTrue(!java.util.Arrays.equals(flat(nodes).grad(), chain.grad()), "a left-to-right chain gave the tree's bits");
  }

  /** A driver link that only knows where the task's parent listens, as the driver's PEER says. */
  private static StepServer.Link parentAt(java.util.function.Supplier<String> address) {
    return new StepServer.Link() {
      @Override
      public StepServer.Message next(Runnable whileWaiting) {
        throw new UnsupportedOperationException();
      }

      @Override
      public String parentAddress(Runnable whileWaiting, long waitMillis) {
        return address.get();
      }

      @Override
      public void sendGrad(long step, int partition, GradientSum.Node node) {
        throw new UnsupportedOperationException();
      }

      @Override
      public void close() {}
    };
  }

  private static TreeReduce open(ChannelSecurity.Run run, int p, int partitions, int stageAttempt, java.util.function.Consumer<String> log)
      throws IOException {
    return TreeReduce.open(run, hello(run, p, stageAttempt), partitions, LENGTH, STATS, "127.0.0.1", 20_000, log);
  }

  private static Frames.Hello hello(ChannelSecurity.Run run, int p, int stageAttempt) {
    return new Frames.Hello(run.id(), ChannelSecurity.nonce(), p, stageAttempt, 0, 100 + p,
        run.encrypt() ? Frames.ENCRYPTED : 0, "exec-" + p);
  }

  /** Runs partitions tasks on threads for steps steps; returns partition 0's totals and the bytes each received. */
  private static List<GradientSum.Node> runTasks(ChannelSecurity.Run run, int partitions, int steps, long[] bytes)
      throws Exception {
    TreeReduce[] trees = new TreeReduce[partitions];
    for (int p = 0; p < partitions; p++) trees[p] = open(run, p, partitions, 0, line -> {});
    List<CompletableFuture<List<GradientSum.Node>>> tasks = new ArrayList<>();
    for (int p = 0; p < partitions; p++) {
      int part = p;
      StepServer.Link driver = parentAt(() -> trees[TreeReduce.parent(part)].address());
      tasks.add(CompletableFuture.supplyAsync(() -> {
        List<GradientSum.Node> totals = new ArrayList<>();
        try (TreeReduce t = trees[part]) {
          for (long s = 0; s < steps; s++) {
            GradientSum.Node total = t.reduce(s, node(part, s, part == 2 && s == 1), () -> {}, driver);
            if (part == 0) totals.add(total);
            else assertNull(total);
          }
          bytes[part] = t.bytesFromChildren();
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
        return totals;
      }, java.util.concurrent.Executors.newSingleThreadExecutor()));
    }
    List<GradientSum.Node> root = tasks.get(0).get(60, TimeUnit.SECONDS);
    for (var t : tasks) t.get(60, TimeUnit.SECONDS);
    return root;
  }

  @Test
  void tasksOnTcpReduceToTheDriversBitsPlainAndEncrypted() throws Exception {
    for (boolean encrypt : new boolean[] {false, true}) {
      int partitions = 6, steps = 3;
      long[] bytes = new long[partitions];
      List<GradientSum.Node> totals = runTasks(ChannelSecurity.Run.random(encrypt), partitions, steps, bytes);
      for (int s = 0; s < steps; s++) {
        GradientSum.Node[] nodes = new GradientSum.Node[partitions];
        for (int p = 0; p < partitions; p++) nodes[p] = node(p, s, p == 2 && s == 1);
        assertSameBits(flat(nodes), totals.get(s));
      }
      // partition 0 hears from 1, 2 and 4; 2 from 3; 4 from 5; the leaves from nobody
      long frame = Frames.gradFrame(LENGTH, STATS);
      assertTrue(bytes[0] >= 3 * steps * (frame - 4 * LENGTH) && bytes[0] <= 3 * steps * frame, "partition 0: " + bytes[0]);
      assertEquals(0, bytes[1]);
      assertEquals(0, bytes[5]);
    }
  }

  /** A TCP relay in front of host:port that keeps what passes from the connecting side to the other. */
  private static final class Relay implements AutoCloseable {
    final java.net.ServerSocket listen = new java.net.ServerSocket(0, 4, java.net.InetAddress.getLoopbackAddress());
    final java.io.ByteArrayOutputStream forward = new java.io.ByteArrayOutputStream();
    final Thread pump;

    Relay(String host, int port) throws IOException {
      pump = new Thread(() -> {
        try (java.net.Socket in = listen.accept(); java.net.Socket out = new java.net.Socket(host, port)) {
          Thread back = new Thread(() -> copy(out, in, null));
          back.setDaemon(true);
          back.start();
          copy(in, out, forward);
        } catch (IOException ignored) {
          // the test closed it
        }
      });
      pump.setDaemon(true);
      pump.start();
    }

    static void copy(java.net.Socket from, java.net.Socket to, java.io.ByteArrayOutputStream keep) {
      byte[] buf = new byte[1 << 16];
      try {
        int n;
        while ((n = from.getInputStream().read(buf)) > 0) {
          if (keep != null) synchronized (keep) { keep.write(buf, 0, n); }
          to.getOutputStream().write(buf, 0, n);
        }
        to.shutdownOutput();
      } catch (IOException ignored) {
        // closed
      }
    }

    String address() {
      return "127.0.0.1:" + listen.getLocalPort();
    }

    byte[] captured() {
      synchronized (forward) {
        return forward.toByteArray();
      }
    }

    @Override
    public void close() throws IOException {
      listen.close();
    }
  }

  /** How many of the gradient's consecutive value pairs appear, as little-endian bytes, in the captured stream. */
  private static int pairsFound(byte[] captured, float[] g) {
    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    String hay = new String(captured, java.nio.charset.StandardCharsets.ISO_8859_1);
    int found = 0;
    for (int i = 0; i + 1 < g.length; i += 2) {
      b.clear();
      b.putFloat(g[i]).putFloat(g[i + 1]);
      if (hay.contains(new String(b.array(), java.nio.charset.StandardCharsets.ISO_8859_1))) found++;
    }
    return found;
  }

  /** Through a relay between child and parent: the plain link shows the child's gradient, the encrypted one none of it. */
  @Test
  void anEncryptedRunsTreeLinkCarriesNoGradientInTheClear() throws Exception {
    for (boolean encrypt : new boolean[] {false, true}) {
      ChannelSecurity.Run run = ChannelSecurity.Run.random(encrypt);
      try (TreeReduce root = open(run, 0, 2, 0, l -> {}); TreeReduce leaf = open(run, 1, 2, 0, l -> {});
           Relay r = new Relay("127.0.0.1", Integer.parseInt(root.address().substring(root.address().lastIndexOf(':') + 1)))) {
        assertNull(leaf.reduce(3, node(1, 3, false), () -> {}, parentAt(r::address)));
        GradientSum.Node total = root.reduce(3, node(0, 3, false), () -> {}, null);
        assertSameBits(flat(new GradientSum.Node[] {node(0, 3, false), node(1, 3, false)}), total);
        int found = pairsFound(r.captured(), node(1, 3, false).grad());
        if (encrypt) assertEquals(0, found, "gradient value pairs in the clear on an encrypted link");
        else assertEquals(LENGTH / 2, found, "the plain link, the control");
      }
    }
  }

  /**
   * The driver is the tasks' rendezvous: a child is told where its parent listens once both have said HELLO in
   * the same stage attempt, whichever came first, over TCP and in-process; a parent of another stage attempt (a
   * straggler of the failed one) is never given out.
   */
  @Test
  @SuppressWarnings("try")  // zero only needs to be connected
  void theDriverIntroducesAChildToItsParentOfTheSameStageAttempt() throws Exception {
    ChannelSecurity.Run run = ChannelSecurity.Run.random(true);
    java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
    try (StepServer server = new StepServer(StepServer.Config.local(3, LENGTH, STATS).withRun(run))) {
      server.sumsAlongTree();
      Thread driver = new Thread(() -> server.drain(done::get));
      driver.start();
      try (StepClient one = new StepClient("127.0.0.1", server.port(), run, hello(run, 1, 1), LENGTH, 20_000);
           StepClient stale = new StepClient("127.0.0.1", server.port(), run, hello(run, 0, 0).withListen("127.0.0.1:1111"), LENGTH, 20_000)) {
        IOException none = assertThrows(IOException.class, () -> one.parentAddress(() -> {}, 600));
        assertTrue(none.getMessage().contains("did not connect"), none.getMessage());
        try (StepClient zero = new StepClient("127.0.0.1", server.port(), run, hello(run, 0, 1).withListen("127.0.0.1:2222"), LENGTH, 20_000);
             StepServer.Link two = StepServer.inProcess(hello(run, 2, 1))) {
          assertEquals("127.0.0.1:2222", one.parentAddress(() -> {}, 10_000));
          assertEquals("127.0.0.1:2222", two.parentAddress(() -> {}, 10_000));
          // and the straggler was let go when its partition's newer attempt said HELLO
          assertThrows(java.io.EOFException.class, () -> stale.next(() -> {}));
        }
      } finally {
        done.set(true);
        driver.join(10_000);
      }
    }
  }

  /**
   * A stage relaunched after the driver's last step is told STOP at once: a parent that reads it ends, and closes
   * its listener, while its child may not have read its own STOP yet. The child must then end cleanly too, not
   * fail on a refused connection (which failed every relaunch of the stage in ExecutorLossTest): it links up
   * with its parent only at its first step.
   */
  @Test
  void aChildWhoseParentEndedBeforeTheFirstStepEndsCleanly() throws Exception {
    ChannelSecurity.Run run = ChannelSecurity.Run.random(false);
    TreeReduce root = open(run, 0, 2, 0, l -> {});
    String address = root.address();
    TreeReduce child = open(run, 1, 2, 0, l -> {});
    // opened while the parent still listens, so its own listener cannot take the parent's freed port
    TreeReduce orphan = open(run, 1, 2, 0, l -> {});
    root.close();  // it read STOP
    child.close();  // it read STOP too, and never linked up
    // a child that does have a step to send while its parent is gone fails, naming the parent
    IOException e = assertThrows(IOException.class, () -> orphan.reduce(0, node(1, 0, false), () -> {}, parentAt(() -> address)));
    assertTrue(e.getMessage().contains("partition 1's parent, partition 0 at " + address), e.getMessage());
    orphan.close();
  }

  /** A child's connection to its parent, which sends no KEY. */
  private static StepClient child(String host, int port, ChannelSecurity.Run run, Frames.Hello hello) throws IOException {
    return new StepClient(host, port, run, hello, 0, 5000, "the parent", false);
  }

  @Test
  void aParentAdmitsOnlyItsChildrenOfItsAttemptWithTheSecret() throws Exception {
    ChannelSecurity.Run run = ChannelSecurity.Run.random(true);
    List<String> log = Collections.synchronizedList(new ArrayList<>());
    // partition 0 of 3: children 1 and 2
    try (TreeReduce root = open(run, 0, 3, 1, log::add)) {
      String address = root.address();
      String host = address.substring(0, address.lastIndexOf(':'));
      int port = Integer.parseInt(address.substring(address.lastIndexOf(':') + 1));
      ChannelSecurity.Run wrongSecret = new ChannelSecurity.Run(run.id(), ChannelSecurity.bytes(32), true);
      assertThrows(IOException.class, () -> child(host, port, wrongSecret, hello(run, 1, 1)).close());
      assertThrows(IOException.class, () -> child(host, port, run, hello(run, 1, 0)).close());
      ChannelSecurity.Run otherRun = new ChannelSecurity.Run(run.id() + 1, run.secret(), true);
      assertThrows(IOException.class, () -> child(host, port, otherRun, hello(otherRun, 2, 1)).close());
      // the genuine children connect and their sums arrive
      try (StepClient one = child(host, port, run, hello(run, 1, 1));
           StepClient two = child(host, port, run, hello(run, 2, 1))) {
        // a second partition 1 passes the handshake (it proves the secret) and is refused after it, in the log
        child(host, port, run, hello(run, 1, 1)).close();
        one.sendGrad(7, 1, node(1, 7, false));
        two.sendGrad(7, 2, node(2, 7, false));
        GradientSum.Node total = root.reduce(7, node(0, 7, false), () -> {}, null);
        assertSameBits(flat(new GradientSum.Node[] {node(0, 7, false), node(1, 7, false), node(2, 7, false)}), total);
      }
    }
    for (int i = 0; i < 100 && log.stream().noneMatch(l -> l.contains("already connected")); i++) Thread.sleep(50);
    String all = String.join("\n", log);
    assertTrue(all.contains("no PROOF after the CHALLENGE"), all);  // the wrong secret: the task gave up on our proof
    assertTrue(all.contains("HELLO of stage attempt 0 for the tree of stage attempt 1"), all);
    assertTrue(all.contains("another run"), all);
    assertTrue(all.contains("partition 1 is already connected"), all);
  }
}
