// Tests of the run lease: exclusive acquisition, live and stale leases, heartbeats, release, and racing contenders.
package dev.sparktrain.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparktrain.UserError;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LeaseTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(60);
  private static final long T0 = 1_700_000_000_000L;
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;
  private final Configuration conf = new Configuration();
  private final TestClock clock = new TestClock(T0);
  private final List<String> warnings = new CopyOnWriteArrayList<>();

  /** A clock the test moves by hand, so that a lease goes stale without sleeping. */
  private static final class TestClock extends Clock {
    private final AtomicLong millis;

    TestClock(long start) {
      millis = new AtomicLong(start);
    }

    void advance(Duration d) {
      millis.addAndGet(d.toMillis());
    }

    @Override public long millis() { return millis.get(); }
    @Override public Instant instant() { return Instant.ofEpochMilli(millis()); }
    @Override public ZoneId getZone() { return ZoneOffset.UTC; }
    @Override public Clock withZone(ZoneId zone) { throw new UnsupportedOperationException(); }
  }

  private String path() {
    return dir.resolve("lease.json").toString();
  }

  private Lease.Acquisition attempt() {
    return Lease.acquire(path(), conf, TIMEOUT, clock, warnings::add);
  }

  private Lease acquired() {
    return assertInstanceOf(Lease.Acquired.class, attempt()).lease();
  }

  private JsonNode file() throws Exception {
    return JSON.readTree(Files.readAllBytes(dir.resolve("lease.json"))).get("lease");
  }

  private List<String> files() throws Exception {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  @Test
  void acquireWritesWhoHoldsTheLeaseAndSince() throws Exception {
    Lease lease = acquired();
    JsonNode f = file();
    assertEquals(lease.holder().owner(), f.get("owner").asText());
    assertEquals(36, f.get("owner").asText().length()); // a random UUID
    assertEquals(ProcessHandle.current().pid(), f.get("pid").asLong());
    assertFalse(f.get("host").asText().isBlank());
    assertEquals(T0, f.get("acquired_ms").asLong());
    assertEquals(T0, f.get("heartbeat_ms").asLong());
    assertEquals("2023-11-14T22:13:20Z", f.get("acquired").asText());
    assertEquals(List.of("lease.json"), files());
    assertTrue(warnings.isEmpty());
  }

  @Test
  void aSecondAcquireWhileLiveReportsTheHolderAndLeavesTheFileAlone() throws Exception {
    Lease first = acquired();
    byte[] before = Files.readAllBytes(dir.resolve("lease.json"));
    clock.advance(Duration.ofSeconds(30));
    Lease.AlreadyRunning busy = assertInstanceOf(Lease.AlreadyRunning.class, attempt());
    assertEquals(first.holder(), busy.holder());
    assertEquals(Duration.ofSeconds(30), busy.heartbeatAge());
    assertTrue(busy.message().contains("already running: owner " + first.holder().owner()), busy.message());
    assertTrue(busy.message().endsWith("last heartbeat 30.0 s ago"), busy.message());
    assertArrayEquals(before, Files.readAllBytes(dir.resolve("lease.json")));
    assertEquals(List.of("lease.json"), files()); // no temporary files left behind
    assertTrue(warnings.isEmpty());
  }

  @Test
  void aStaleLeaseIsTakenOverWithAWarningAndTheOldHolderLearnsAtItsHeartbeat() throws Exception {
    Lease old = acquired();
    clock.advance(Duration.ofSeconds(61));
    Lease fresh = acquired();
    assertNotEquals(old.holder().owner(), fresh.holder().owner());
    assertEquals(fresh.holder().owner(), file().get("owner").asText());
    assertEquals(T0 + 61_000, file().get("acquired_ms").asLong());
    assertEquals(1, warnings.size(), warnings.toString());
    String w = warnings.get(0);
    assertTrue(w.contains("taking over a stale lease of owner " + old.holder().owner() + " on host " + old.holder().host()), w);
    assertTrue(w.contains("last heartbeat 61.0 s ago (timeout 60.0 s)"), w);

    String msg = assertThrows(UserError.class, old::heartbeat).getMessage();
    assertTrue(msg.startsWith(path() + ": lease lost: taken over by owner " + fresh.holder().owner()), msg);
    assertTrue(old.lost().isPresent());
    assertFalse(old.release()); // not its file any more
    assertEquals(fresh.holder().owner(), file().get("owner").asText());
    assertEquals(List.of("lease.json"), files());
  }

  @Test
  void aHeartbeatKeepsTheLeaseAlive() throws Exception {
    Lease lease = acquired();
    clock.advance(Duration.ofSeconds(50));
    lease.heartbeat();
    assertEquals(T0 + 50_000, file().get("heartbeat_ms").asLong());
    assertEquals(T0, file().get("acquired_ms").asLong());
    assertEquals(T0 + 50_000, lease.holder().heartbeatMillis());
    clock.advance(Duration.ofSeconds(50)); // 100 s after acquiring, 50 s after the heartbeat
    Lease.AlreadyRunning busy = assertInstanceOf(Lease.AlreadyRunning.class, attempt());
    assertEquals(Duration.ofSeconds(50), busy.heartbeatAge());
    assertTrue(warnings.isEmpty());
  }

  @Test
  void releaseDeletesTheFileOnlyOnceAndOnlyIfOwned() throws Exception {
    Lease lease = acquired();
    assertTrue(lease.release());
    assertFalse(Files.exists(dir.resolve("lease.json")));
    assertFalse(lease.release());
    assertTrue(assertThrows(UserError.class, lease::heartbeat).getMessage().endsWith("the lease was released"));
    try (Lease again = acquired()) {
      assertTrue(Files.exists(dir.resolve("lease.json")));
    }
    assertFalse(Files.exists(dir.resolve("lease.json")));
  }

  @Test
  void aHeartbeatAfterTheFileVanishedFailsClearly() throws Exception {
    Lease lease = acquired();
    Files.delete(dir.resolve("lease.json"));
    String msg = assertThrows(UserError.class, lease::heartbeat).getMessage();
    assertEquals(path() + ": lease lost: the file is gone (deleted, or being taken over)", msg);
    assertFalse(Files.exists(dir.resolve("lease.json"))); // a lost lease is not recreated
  }

  @Test
  void aDamagedLeaseIsRefusedNamingTheFile() throws Exception {
    acquired();
    Path f = dir.resolve("lease.json");
    Files.writeString(f, Files.readString(f).replace("\"pid\":", "\"pid\":1"));
    String msg = assertThrows(UserError.class, this::attempt).getMessage();
    assertTrue(msg.startsWith(path() + ": checksum mismatch"), msg);
    assertTrue(msg.endsWith("(not a valid lease; delete it if no job is running)"), msg);
    Files.writeString(f, "{\"format\":\"other\"}");
    assertTrue(assertThrows(UserError.class, this::attempt).getMessage().contains("not a sparktrain-lease file"));
    assertThrows(UserError.class, () -> Lease.acquire(path(), conf, Duration.ZERO, clock, warnings::add));
  }

  @Test
  void theBackgroundHeartbeatWritesUntilClosed() throws Exception {
    Lease lease = acquired();
    clock.advance(Duration.ofSeconds(5));
    lease.startHeartbeat(Duration.ofMillis(10));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (file().get("heartbeat_ms").asLong() != T0 + 5_000 && System.nanoTime() < deadline) Thread.sleep(5);
    assertEquals(T0 + 5_000, file().get("heartbeat_ms").asLong());
    lease.close();
    assertFalse(Files.exists(dir.resolve("lease.json")));
    assertTrue(Thread.getAllStackTraces().keySet().stream().noneMatch(t -> t.getName().startsWith("lease-heartbeat")));
    assertTrue(lease.lost().isEmpty());
    assertThrows(UserError.class, () -> acquired().startHeartbeat(TIMEOUT));
  }

  @Test
  void theBackgroundHeartbeatReportsATakeover() throws Exception {
    Lease old = acquired();
    clock.advance(Duration.ofSeconds(61));
    acquired(); // the takeover's own warning
    old.startHeartbeat(Duration.ofMillis(10));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (old.lost().isEmpty() && System.nanoTime() < deadline) Thread.sleep(5);
    assertTrue(old.lost().orElseThrow().getMessage().contains("lease lost: taken over by"));
    assertEquals(2, warnings.size(), warnings.toString());
    assertTrue(warnings.get(1).contains("lease lost"), warnings.get(1));
    old.close();
  }

  @Test
  void aTakeoverLockLeftByADeadContenderIsRemovedOnceItIsStale() throws Exception {
    Lease stale = acquired();
    Path lock = dir.resolve(".lease.json.takeover");
    Files.write(lock, Lease.encode(new Lease.Holder("dead-contender", "h", 1, T0, T0)));
    clock.advance(Duration.ofSeconds(61));
    Lease fresh = acquired();
    assertFalse(Files.exists(lock));
    assertEquals(2, warnings.size(), warnings.toString());
    assertTrue(warnings.get(0).endsWith("removed a takeover lock abandoned by owner dead-contender on host h (pid 1)"), warnings.get(0));
    assertTrue(warnings.get(1).contains("stale lease of owner " + stale.holder().owner()), warnings.get(1));
    assertEquals(fresh.holder().owner(), file().get("owner").asText());
  }

  /** Contenders for a free lease, or a stale one, all start at once; exactly one may win. */
  private void race(int contenders) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(contenders);
    CountDownLatch go = new CountDownLatch(1);
    try {
      List<Future<Lease.Acquisition>> futures = new ArrayList<>();
      for (int i = 0; i < contenders; i++) {
        futures.add(pool.submit(() -> {
          go.await();
          return attempt();
        }));
      }
      go.countDown();
      List<Lease> winners = new ArrayList<>();
      for (Future<Lease.Acquisition> f : futures) {
        if (f.get(30, TimeUnit.SECONDS) instanceof Lease.Acquired a) winners.add(a.lease());
      }
      assertEquals(1, winners.size(), "winners: " + winners.stream().map(Lease::holder).toList());
      assertEquals(winners.get(0).holder().owner(), file().get("owner").asText());
      assertEquals(List.of("lease.json"), files());
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void ofContendersForAFreeLeaseExactlyOneWins() throws Exception {
    for (int round = 0; round < 5; round++) {
      Files.deleteIfExists(dir.resolve("lease.json"));
      race(8);
    }
  }

  @Test
  void ofContendersForAStaleLeaseExactlyOneWins() throws Exception {
    for (int round = 0; round < 5; round++) {
      Files.deleteIfExists(dir.resolve("lease.json"));
      acquired();
      clock.advance(Duration.ofSeconds(61));
      warnings.clear();
      race(8);
      assertEquals(1, warnings.size(), warnings.toString());
    }
  }
}
