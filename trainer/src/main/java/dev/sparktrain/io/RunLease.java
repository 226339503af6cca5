package dev.sparktrain.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparktrain.UserError;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Consumer;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileAlreadyExistsException;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * An exclusive lease on a scheduled run: a small JSON file (format {@code sparktrain-lease}) on the run's own
 * filesystem holding the owner (a random id per acquisition), host, process id, when it was acquired and its last
 * heartbeat. A run that finds a live lease exits as "already running" and touches nothing. A lease is taken over,
 * with a warning, when its heartbeat is older than the timeout, or at once when it names this host and a process
 * that no longer exists (a killed run).
 *
 * <p>Creation is exclusive ({@code create} without overwrite). A takeover re-reads the stale lease just before
 * deleting it and only deletes the content it judged stale, then creates exclusively; two contenders cannot both
 * hold it, except in the moment between a re-read and a delete when a third run both took over and heartbeated —
 * on object stores without atomic create (S3A), exclusivity holds only as far as the store gives it. Heartbeats
 * rewrite the file atomically and first check that this run still owns it.
 */
public final class RunLease implements AutoCloseable {
  public static final String FORMAT = "sparktrain-lease";
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Who holds a lease, and how long ago it last beat. */
  public record Holder(String owner, String host, long pid, Instant acquired, Instant heartbeat) {
    public Duration age(Clock clock) {
      return Duration.between(heartbeat, clock.instant());
    }

    public String describe(Clock clock) {
      return String.format("held by %s (process %d on %s) since %s, last heartbeat %d s ago", owner, pid, host, acquired,
          Math.max(0, age(clock).toSeconds()));
    }
  }

  private final Path path;
  private final FileSystem fs;
  private final Configuration conf;
  private final Clock clock;
  private final Holder me;
  private volatile boolean released;
  private volatile String lost;
  private Thread heartbeats;

  private RunLease(Path path, FileSystem fs, Configuration conf, Clock clock, Holder me) {
    this.path = path;
    this.fs = fs;
    this.conf = conf;
    this.clock = clock;
    this.me = me;
  }

  /** This process's identity in a lease. */
  static Holder self(Clock clock) {
    Instant now = clock.instant();
    return new Holder(UUID.randomUUID().toString(), host(), ProcessHandle.current().pid(), now, now);
  }

  private static String host() {
    try {
      return java.net.InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      return "unknown-host";
    }
  }

  /**
   * The lease at uri, if no live run holds it; empty (and nothing written) while one does, whose holder
   * {@link #holder} then describes. warn hears of a takeover.
   */
  public static Optional<RunLease> acquire(String uri, Configuration conf, Duration timeout, Clock clock,
                                           Consumer<String> warn) {
    Path p = new Path(uri);
    try {
      FileSystem fs = OutputFileSystem.of(p, conf);
      if (p.getParent() != null) fs.mkdirs(p.getParent());
      Holder me = self(clock);
      if (create(fs, p, me)) return Optional.of(new RunLease(p, fs, conf, clock, me));
      byte[] seen = readBytes(fs, p);
      if (seen == null) {  // released between our create and read: try once more
        return create(fs, p, me) ? Optional.of(new RunLease(p, fs, conf, clock, me)) : Optional.empty();
      }
      Holder old = parse(seen, uri);
      String why = old == null ? "unreadable (" + uri + " is not a lease file)"
          : old.age(clock).compareTo(timeout) > 0 ? "stale: " + old.describe(clock) + ", over the timeout of "
              + timeout.toSeconds() + " s"
          : old.host().equals(me.host()) && old.pid() != me.pid() && ProcessHandle.of(old.pid()).isEmpty()
              ? "left by a process that has ended: " + old.describe(clock) : null;
      if (why == null) return Optional.empty();
      byte[] again = readBytes(fs, p);
      if (again == null || !java.util.Arrays.equals(again, seen)) return Optional.empty();  // someone moved first
      fs.delete(p, false);
      if (!create(fs, p, me)) return Optional.empty();
      warn.accept("lease " + uri + " taken over: it was " + why);
      return Optional.of(new RunLease(p, fs, conf, clock, me));
    } catch (IOException e) {
      throw new UserError(uri + ": cannot take the lease (" + e.getMessage() + ")", e);
    }
  }

  /** Who holds the lease at uri now, or empty when there is none (or it is unreadable). */
  public static Optional<Holder> holder(String uri, Configuration conf) {
    Path p = new Path(uri);
    try {
      byte[] b = readBytes(OutputFileSystem.of(p, conf), p);
      return b == null ? Optional.empty() : Optional.ofNullable(parse(b, uri));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  private static boolean create(FileSystem fs, Path p, Holder h) throws IOException {
    try (OutputStream out = fs.create(p, false)) {
      out.write(encode(h));
      return true;
    } catch (FileAlreadyExistsException e) {
      return false;
    } catch (IOException e) {
      if (fs.exists(p)) return false;  // some filesystems report an existing file as a plain IOException
      throw e;
    }
  }

  private static byte[] encode(Holder h) throws IOException {
    ObjectNode o = JSON.createObjectNode();
    o.put("format", FORMAT);
    o.put("owner", h.owner());
    o.put("host", h.host());
    o.put("pid", h.pid());
    o.put("acquired", h.acquired().toString());
    o.put("heartbeat", h.heartbeat().toString());
    return (JSON.writeValueAsString(o) + "\n").getBytes(StandardCharsets.UTF_8);
  }

  private static Holder parse(byte[] bytes, String uri) {
    try {
      JsonNode o = JSON.readTree(bytes);
      if (o == null || !FORMAT.equals(o.path("format").asText()) || !o.path("pid").canConvertToLong()) return null;
      return new Holder(o.get("owner").asText(), o.get("host").asText(), o.get("pid").asLong(),
          Instant.parse(o.get("acquired").asText()), Instant.parse(o.get("heartbeat").asText()));
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  private static byte[] readBytes(FileSystem fs, Path p) throws IOException {
    try (InputStream in = fs.open(p)) {
      return in.readNBytes(64 * 1024);
    } catch (java.io.FileNotFoundException e) {
      return null;
    }
  }

  public Holder owner() {
    return me;
  }

  public String path() {
    return path.toString();
  }

  /** Rewrites the heartbeat time, if this run still holds the lease; otherwise throws, naming who took it. */
  public synchronized void heartbeat() {
    if (released) throw new IllegalStateException("lease " + path + " was released");
    try {
      byte[] now = readBytes(fs, path);
      Holder h = now == null ? null : parse(now, path.toString());
      if (h == null || !h.owner().equals(me.owner())) {
        lost = h == null ? "the lease file " + path + " is gone" : "the lease " + path + " was taken over: "
            + h.describe(clock);
        throw new JobLeaseLost(lost);
      }
      byte[] next = encode(new Holder(me.owner(), me.host(), me.pid(), me.acquired(), clock.instant()));
      AtomicWrite.write(path.toString(), conf, out -> out.write(next));
    } catch (IOException e) {
      throw new UserError(path + ": cannot renew the lease (" + e.getMessage() + ")", e);
    }
  }

  /** Why the background heartbeat found the lease lost, or null while it holds it. */
  public String lost() {
    return lost;
  }

  /** Renews the lease every period on a daemon thread until it is released or lost. */
  public synchronized void startHeartbeat(Duration period, Consumer<String> warn) {
    if (heartbeats != null) return;
    heartbeats = new Thread(() -> {
      while (!released && lost == null) {
        try {
          Thread.sleep(period.toMillis());
          if (!released) heartbeat();
        } catch (InterruptedException e) {
          return;
        } catch (JobLeaseLost e) {
          warn.accept(e.getMessage());
        } catch (RuntimeException e) {
          warn.accept("lease heartbeat failed (will retry): " + e.getMessage());
        }
      }
    }, "sparktrain-lease-heartbeat");
    heartbeats.setDaemon(true);
    heartbeats.start();
  }

  /** Deletes the lease file if this run still holds it. */
  public synchronized void release() {
    if (released) return;
    released = true;
    if (heartbeats != null) heartbeats.interrupt();
    try {
      byte[] now = readBytes(fs, path);
      Holder h = now == null ? null : parse(now, path.toString());
      if (h != null && h.owner().equals(me.owner())) fs.delete(path, false);
    } catch (IOException e) {
      throw new UserError(path + ": cannot release the lease (" + e.getMessage() + ")", e);
    }
  }

  @Override
  public void close() {
    release();
  }

  /** The lease was taken over by another run (or deleted) while this one held it. */
  public static final class JobLeaseLost extends RuntimeException {
    JobLeaseLost(String message) {
      super(message);
    }
  }
}
