// An exclusive lease on a run, a small JSON file with a heartbeat, so that two scheduled jobs never work on one run.
package dev.sparktrain.io;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparktrain.UserError;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A lease file, format {@code sparktrain-lease} (docs/zoo.md, "Leases"): who holds the run (a random owner id made
 * for each acquisition, the host and the pid), since when, and the last heartbeat, in the checksummed envelope of
 * {@link ChecksummedJson}.
 *
 * <p>{@link #acquire} creates the file exclusively ({@link ExclusiveFile}), so of processes racing for a free lease
 * exactly one wins. A lease whose heartbeat is older than the timeout is removed by one contender at a time, under
 * an exclusive takeover lock, after checking that it is still the stale lease judged; then the contenders race
 * for the free name as before. Whoever wins re-reads the file and checks that it is its own.
 *
 * <p>Limits: a holder learns that its lease was taken over only at its next {@link #heartbeat}, so heartbeat well
 * within the timeout (a third of it) and stop working when a heartbeat fails; a holder that stalls past the
 * timeout and then heartbeats during a takeover may lose its lease only at the heartbeat after. The clocks of the
 * hosts must roughly agree (the age is this host's clock minus the holder's). On S3A, renames are copies and
 * nothing is exclusive: two jobs can both acquire.
 */
public final class Lease implements AutoCloseable {
  public static final String FORMAT = "sparktrain-lease";
  public static final int VERSION = 1;
  private static final Set<String> FIELDS = Set.of("owner", "host", "pid", "acquired_ms", "acquired", "heartbeat_ms",
      "heartbeat");
  private static final int ATTEMPTS = 200;

  /** What a lease file says. */
  public record Holder(String owner, String host, long pid, long acquiredMillis, long heartbeatMillis) {
    /** {@code owner 1b2c… on host h (pid 42)}. */
    public String describe() {
      return "owner " + owner + " on host " + host + " (pid " + pid + ")";
    }
  }

  /** The outcome of {@link #acquire}. */
  public sealed interface Acquisition permits Acquired, AlreadyRunning {}

  /** The lease is this process's; close it (or {@link Lease#release}) when the run ends. */
  public record Acquired(Lease lease) implements Acquisition {}

  /** Another process holds a live lease; the file was not changed. */
  public record AlreadyRunning(String path, Holder holder, Duration heartbeatAge) implements Acquisition {
    /** One line for the log or the job's result. */
    public String message() {
      return path + ": already running: " + holder.describe() + ", last heartbeat " + seconds(heartbeatAge) + " ago";
    }
  }

  private final String uri;
  private final Path path;
  private final FileSystem fs;
  private final Configuration conf;
  private final Clock clock;
  private final Duration timeout;
  private final Consumer<String> warn;
  private Holder holder;
  private boolean released;
  private volatile UserError lost;
  private ScheduledExecutorService heartbeats;

  private Lease(String uri, Path path, FileSystem fs, Configuration conf, Clock clock, Duration timeout,
                Consumer<String> warn, Holder holder) {
    this.uri = uri;
    this.path = path;
    this.fs = fs;
    this.conf = conf;
    this.clock = clock;
    this.timeout = timeout;
    this.warn = warn;
    this.holder = holder;
  }

  /**
   * Acquires the lease at {@code path} (its directory must exist), or reports who holds it. A lease whose last
   * heartbeat is more than {@code timeout} old is taken over, with a warning naming the old holder and its age.
   *
   * @throws UserError naming {@code path} if the file is not a valid lease (delete it if no job is running), the
   *     file system fails, or the lease stays contended for {@value #ATTEMPTS} attempts
   */
  public static Acquisition acquire(String path, Configuration conf, Duration timeout, Clock clock, Consumer<String> warn) {
    if (timeout == null || timeout.isNegative() || timeout.isZero()) {
      throw new UserError(path + ": lease timeout " + timeout + " must be positive");
    }
    String owner = UUID.randomUUID().toString();
    try {
      Path p = OutputFileSystem.qualified(path, conf);
      FileSystem fs = OutputFileSystem.of(p, conf);
      for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
        Holder current = read(fs, p, path);
        long now = clock.millis();
        if (current == null) {
          Holder mine = new Holder(owner, Identity.HOST, Identity.PID, now, now);
          if (ExclusiveFile.create(fs, p, encode(mine)) && mine.equals(read(fs, p, path))) {
            return new Acquired(new Lease(path, p, fs, conf, clock, timeout, warn, mine));
          }
          continue;
        }
        Duration age = Duration.ofMillis(now - current.heartbeatMillis());
        boolean ended = endedHere(current);
        if (age.compareTo(timeout) <= 0 && !ended) return new AlreadyRunning(path, current, age);
        if (removeStale(fs, p, path, current, owner, clock, timeout, warn)) {
          // warned by whoever removed it, which may not be whoever wins the free name next
          warn.accept(path + ": taking over " + (ended ? "the lease of a process that has ended, " : "a stale lease of ")
              + current.describe() + ", last heartbeat " + seconds(age) + " ago (timeout " + seconds(timeout) + ")");
        }
      }
    } catch (IOException e) {
      throw new UserError(path + ": cannot acquire the lease (" + TensorFile.describe(e) + ")", e);
    }
    throw new UserError(path + ": lease still contended after " + ATTEMPTS + " attempts");
  }

  /**
   * Removes the stale lease {@code stale}, holding the takeover lock {@code .NAME.takeover} (created exclusively, so
   * one contender at a time) while it checks that the file still holds {@code stale}, moves it to a name of its own
   * and checks what it moved. If the stale holder woke and heartbeat in between, the moved file is put back.
   * A takeover lock older than the timeout was left by a contender that died during a takeover and is removed.
   *
   * @return whether {@code stale} was removed; false means look again
   */
  private static boolean removeStale(FileSystem fs, Path p, String uri, Holder stale, String owner, Clock clock,
                                     Duration timeout, Consumer<String> warn) throws IOException {
    Path lock = new Path(p.getParent(), "." + p.getName() + ".takeover");
    long now = clock.millis();
    if (!ExclusiveFile.create(fs, lock, encode(new Holder(owner, Identity.HOST, Identity.PID, now, now)))) {
      Holder other;
      try {
        other = read(fs, lock, lock.toString());
      } catch (UserError e) {
        other = null; // being written or damaged: judged by the next attempt
      }
      if (other != null && now - other.heartbeatMillis() > timeout.toMillis() && fs.delete(lock, false)) {
        warn.accept(lock + ": removed a takeover lock abandoned by " + other.describe());
      } else {
        pause();
      }
      return false;
    }
    Path aside = new Path(p.getParent(), "." + p.getName() + "." + owner + ".stale");
    try {
      if (!stale.equals(read(fs, p, uri)) || !fs.rename(p, aside)) return false;
      byte[] moved = ChecksummedJson.readSmall(fs, aside);
      boolean same;
      try {
        same = stale.equals(decode(uri, moved));
      } catch (UserError e) {
        same = false; // put back, to be reported as it stands
      }
      if (!same) ExclusiveFile.create(fs, p, moved);
      return same;
    } finally {
      fs.delete(aside, false);
      fs.delete(lock, false);
    }
  }

  /**
   * Whether the holder ran on this host as a process that no longer exists (a killed run): its lease is taken over
   * at once, without waiting for the timeout. Another host's processes cannot be seen, so theirs wait for it.
   */
  private static boolean endedHere(Holder h) {
    return h.host().equals(Identity.HOST) && h.pid() != Identity.PID && ProcessHandle.of(h.pid()).isEmpty();
  }

  private static void pause() {
    try {
      Thread.sleep(2);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new UserError("interrupted while waiting for a lease takeover", e);
    }
  }

  /** The holder this lease last wrote. */
  public synchronized Holder holder() {
    return holder;
  }

  public String path() {
    return uri;
  }

  /**
   * Writes a new heartbeat time (atomically), after checking that the file still names this lease.
   *
   * @throws UserError naming the file if the lease was released, deleted or taken over (then it is lost for good)
   */
  public synchronized void heartbeat() {
    if (lost != null) throw lost;
    if (released) throw new UserError(uri + ": the lease was released");
    Holder current;
    try {
      current = read(fs, path, uri);
    } catch (IOException e) {
      throw new UserError(uri + ": cannot read the lease (" + TensorFile.describe(e) + ")", e);
    }
    if (current == null) throw lose(uri + ": lease lost: the file is gone (deleted, or being taken over)");
    if (!current.owner().equals(holder.owner())) {
      throw lose(uri + ": lease lost: taken over by " + current.describe() + " at "
          + Instant.ofEpochMilli(current.acquiredMillis()));
    }
    Holder next = new Holder(holder.owner(), holder.host(), holder.pid(), holder.acquiredMillis(), clock.millis());
    byte[] bytes = encode(next);
    AtomicWrite.write(uri, conf, out -> out.write(bytes));
    holder = next;
  }

  /**
   * Heartbeats every {@code every} on a daemon thread until {@link #close}; the first failure is passed to the
   * warning consumer, ends the thread and is kept in {@link #lost}.
   */
  public synchronized void startHeartbeat(Duration every) {
    if (every == null || every.isNegative() || every.isZero() || every.compareTo(timeout) >= 0) {
      throw new UserError(uri + ": heartbeat interval " + every + " must be positive and shorter than the timeout " + timeout);
    }
    if (heartbeats != null) throw new IllegalStateException("the heartbeat thread is already running");
    heartbeats = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "lease-heartbeat " + uri);
      t.setDaemon(true);
      return t;
    });
    heartbeats.scheduleWithFixedDelay(() -> {
      try {
        heartbeat();
      } catch (RuntimeException e) {
        if (lost == null) lost = e instanceof UserError u ? u : new UserError(uri + ": heartbeat failed (" + e + ")", e);
        warn.accept(lost.getMessage());
        throw e; // ends the schedule
      }
    }, every.toMillis(), every.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Why the lease was lost (a failed heartbeat), if it was. */
  public Optional<UserError> lost() {
    return Optional.ofNullable(lost);
  }

  /**
   * Stops the heartbeat thread and deletes the file if it still names this lease.
   *
   * @return whether the file was deleted (false if released before, taken over or gone)
   */
  public boolean release() {
    stopHeartbeat();
    synchronized (this) {
      if (released) return false;
      released = true;
      try {
        Holder current = read(fs, path, uri);
        return current != null && current.owner().equals(holder.owner()) && fs.delete(path, false);
      } catch (IOException e) {
        throw new UserError(uri + ": cannot release the lease (" + TensorFile.describe(e) + ")", e);
      }
    }
  }

  @Override
  public void close() {
    release();
  }

  private void stopHeartbeat() {
    ScheduledExecutorService h;
    synchronized (this) {
      h = heartbeats;
      heartbeats = null;
    }
    if (h == null) return;
    h.shutdownNow();
    try {
      h.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private UserError lose(String message) {
    lost = new UserError(message);
    return lost;
  }

  // ---------------------------------------------------------------- the file

  static byte[] encode(Holder h) {
    ObjectNode n = ChecksummedJson.JSON.createObjectNode().put("owner", h.owner()).put("host", h.host()).put("pid", h.pid())
        .put("acquired_ms", h.acquiredMillis()).put("acquired", Instant.ofEpochMilli(h.acquiredMillis()).toString())
        .put("heartbeat_ms", h.heartbeatMillis()).put("heartbeat", Instant.ofEpochMilli(h.heartbeatMillis()).toString());
    return ChecksummedJson.encode(FORMAT, VERSION, "lease", n);
  }

  /** The lease at {@code p}, or null if there is none. */
  static Holder read(FileSystem fs, Path p, String uri) throws IOException {
    byte[] bytes;
    try {
      bytes = ChecksummedJson.readSmall(fs, p);
    } catch (FileNotFoundException e) {
      return null;
    }
    return decode(uri, bytes);
  }

  private static Holder decode(String uri, byte[] bytes) {
    try {
      ObjectNode n = ChecksummedJson.decode(uri, bytes, FORMAT, VERSION, "lease");
      ChecksummedJson.exactly(n, FIELDS, "lease");
      long acquired = ChecksummedJson.nonNegativeLong(n.get("acquired_ms"), "lease.acquired_ms");
      long beat = ChecksummedJson.nonNegativeLong(n.get("heartbeat_ms"), "lease.heartbeat_ms");
      sameInstant(n, "acquired", acquired);
      sameInstant(n, "heartbeat", beat);
      return new Holder(ChecksummedJson.text(n.get("owner"), "lease.owner"), ChecksummedJson.text(n.get("host"), "lease.host"),
          ChecksummedJson.nonNegativeLong(n.get("pid"), "lease.pid"), acquired, beat);
    } catch (UserError e) {
      String m = e.getMessage().startsWith(uri) ? e.getMessage() : uri + ": " + e.getMessage();
      throw new UserError(m + " (not a valid lease; delete it if no job is running)", e);
    }
  }

  private static void sameInstant(ObjectNode n, String field, long millis) {
    Instant iso = ChecksummedJson.instant(n.get(field), "lease." + field);
    if (iso.toEpochMilli() != millis) {
      throw new UserError("field lease." + field + " " + iso + " is not lease." + field + "_ms " + millis);
    }
  }

  private static String seconds(Duration d) {
    return String.format(Locale.ROOT, "%.1f s", d.toMillis() / 1000.0);
  }

  /** This process's host name and pid, looked up once. */
  private static final class Identity {
    static final long PID = ProcessHandle.current().pid();
    static final String HOST = host();

    private static String host() {
      try {
        return InetAddress.getLocalHost().getHostName();
      } catch (IOException | RuntimeException e) {
        String env = System.getenv("HOSTNAME");
        return env == null || env.isBlank() ? "unknown" : env;
      }
    }
  }
}
