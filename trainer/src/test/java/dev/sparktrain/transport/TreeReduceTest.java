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
import java.util.concurrent.CyclicBarrier;
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

  /** Addresses traded between threads as BarrierTaskContext.allGather trades them between tasks. */
  private static final class Exchange {
    final String[] all;
    final CyclicBarrier barrier;

    Exchange(int n) {
      all = new String[n];
      barrier = new CyclicBarrier(n);
    }

    TreeReduce.Gather forPartition(int p) {
      return mine -> {
        all[p] = mine;
        try {
          barrier.await(30, TimeUnit.SECONDS);
        } catch (Exception e) {
          throw new IOException(e);
        }
        return all.clone();
      };
    }
  }

  private static Frames.Hello hello(ChannelSecurity.Run run, int p, int stageAttempt) {
    return new Frames.Hello(run.id(), ChannelSecurity.nonce(), p, stageAttempt, 0, 100 + p,
        run.encrypt() ? Frames.ENCRYPTED : 0, "exec-" + p);
  }

  /** Runs partitions tasks on threads for steps steps; returns partition 0's totals and the bytes each received. */
  private static List<GradientSum.Node> runTasks(ChannelSecurity.Run run, int partitions, int steps, long[] bytes)
      throws Exception {
    Exchange ex = new Exchange(partitions);
    List<CompletableFuture<List<GradientSum.Node>>> tasks = new ArrayList<>();
    for (int p = 0; p < partitions; p++) {
      int part = p;
      tasks.add(CompletableFuture.supplyAsync(() -> {
        List<GradientSum.Node> totals = new ArrayList<>();
        try (TreeReduce t = TreeReduce.open(run, hello(run, part, 0), partitions, LENGTH, STATS, "127.0.0.1", 20_000,
            ex.forPartition(part), line -> {})) {
          for (long s = 0; s < steps; s++) {
            GradientSum.Node total = t.reduce(s, node(part, s, part == 2 && s == 1), () -> {});
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
      String[] all = new String[2];
      CyclicBarrier published = new CyclicBarrier(2);
      Relay[] relay = new Relay[1];
      TreeReduce.Gather rootGather = mine -> {
        all[0] = mine;
        int colon = mine.lastIndexOf(':');
        relay[0] = new Relay(mine.substring(0, colon), Integer.parseInt(mine.substring(colon + 1)));
        await(published);
        return new String[] {mine, ""};
      };
      TreeReduce.Gather childGather = mine -> {
        await(published);
        return new String[] {relay[0].address(), mine};
      };
      CompletableFuture<TreeReduce> child = CompletableFuture.supplyAsync(() -> {
        try {
          return TreeReduce.open(run, hello(run, 1, 0), 2, LENGTH, STATS, "127.0.0.1", 20_000, childGather, l -> {});
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      });
      try (TreeReduce root = TreeReduce.open(run, hello(run, 0, 0), 2, LENGTH, STATS, "127.0.0.1", 20_000, rootGather, l -> {});
           TreeReduce leaf = child.get(30, TimeUnit.SECONDS); Relay r = relay[0]) {
        assertNull(leaf.reduce(3, node(1, 3, false), () -> {}));
        GradientSum.Node total = root.reduce(3, node(0, 3, false), () -> {});
        assertSameBits(flat(new GradientSum.Node[] {node(0, 3, false), node(1, 3, false)}), total);
        int found = pairsFound(r.captured(), node(1, 3, false).grad());
        if (encrypt) assertEquals(0, found, "gradient value pairs in the clear on an encrypted link");
        else assertEquals(LENGTH / 2, found, "the plain link, the control");
      }
    }
  }

  private static void await(CyclicBarrier b) throws IOException {
    try {
      b.await(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IOException(e);
    }
  }

  @Test
  void aParentAdmitsOnlyItsChildrenOfItsAttemptWithTheSecret() throws Exception {
    ChannelSecurity.Run run = ChannelSecurity.Run.random(true);
    List<String> log = Collections.synchronizedList(new ArrayList<>());
    String[] address = new String[1];
    // partition 0 of 3: children 1 and 2
    try (TreeReduce root = TreeReduce.open(run, hello(run, 0, 1), 3, LENGTH, STATS, "127.0.0.1", 20_000,
        mine -> new String[] {address[0] = mine, "", ""}, log::add)) {
      String host = address[0].substring(0, address[0].lastIndexOf(':'));
      int port = Integer.parseInt(address[0].substring(address[0].lastIndexOf(':') + 1));
      ChannelSecurity.Run wrongSecret = new ChannelSecurity.Run(run.id(), ChannelSecurity.bytes(32), true);
      assertThrows(IOException.class, () -> new StepClient(host, port, wrongSecret, hello(run, 1, 1), 0, 5000).close());
      assertThrows(IOException.class, () -> new StepClient(host, port, run, hello(run, 1, 0), 0, 5000).close());
      ChannelSecurity.Run otherRun = new ChannelSecurity.Run(run.id() + 1, run.secret(), true);
      assertThrows(IOException.class, () -> new StepClient(host, port, otherRun, hello(otherRun, 2, 1), 0, 5000).close());
      // the genuine children connect and their sums arrive
      try (StepClient one = new StepClient(host, port, run, hello(run, 1, 1), 0, 5000);
           StepClient two = new StepClient(host, port, run, hello(run, 2, 1), 0, 5000)) {
        // a second partition 1 passes the handshake (it proves the secret) and is refused after it, in the log
        new StepClient(host, port, run, hello(run, 1, 1), 0, 5000).close();
        one.sendGrad(7, 1, node(1, 7, false));
        two.sendGrad(7, 2, node(2, 7, false));
        GradientSum.Node total = root.reduce(7, node(0, 7, false), () -> {});
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
