package dev.sparktrain.data;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Installs a Debian package with {@code apt-get install -y} when that can be done without asking anyone: as root,
 * or through {@code sudo -n} when sudo needs no password. Otherwise it logs why it skipped and returns false.
 * The checks run only when an install is needed, not when this object is made.
 */
public final class AptInstaller implements PackageInstaller {
  private static final Duration INSTALL_TIMEOUT = Duration.ofMinutes(15);
  private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(10);

  private final Consumer<String> log;

  public AptInstaller(Consumer<String> log) {
    this.log = log;
  }

  @Override
  public boolean install(String packageName) {
    boolean aptGet = onPath("apt-get");
    boolean root = aptGet && isRoot();
    boolean sudo = aptGet && !root && onPath("sudo") && succeeds(List.of("sudo", "-n", "true"));
    List<String> command = command(aptGet, root, sudo);
    if (command.isEmpty()) {
      log.accept(aptGet
          ? "not installing " + packageName + ": not root, and sudo needs a password"
          : "not installing " + packageName + ": no apt-get on this system");
      return false;
    }
    return new CommandInstaller(command, INSTALL_TIMEOUT, log).install(packageName);
  }

  /** The install command for these facts, without the package name; empty if installing is not possible. */
  static List<String> command(boolean aptGet, boolean root, boolean passwordlessSudo) {
    if (!aptGet) return List.of();
    if (root) return List.of("apt-get", "install", "-y");
    if (passwordlessSudo) return List.of("sudo", "-n", "apt-get", "install", "-y");
    return List.of();
  }

  private static boolean onPath(String program) {
    String path = System.getenv("PATH");
    if (path == null) return false;
    for (String dir : path.split(File.pathSeparator)) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) return true;
    }
    return false;
  }

  /** Whether the effective user id is 0, from /proc/self/status, else from {@code id -u}. */
  private static boolean isRoot() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("Uid:")) return line.split("\\s+")[2].equals("0");
      }
    } catch (IOException | RuntimeException e) {
      // not Linux; ask id(1)
    }
    return succeeds(List.of("sh", "-c", "test \"$(id -u)\" = 0"));
  }

  private static boolean succeeds(List<String> argv) {
    try {
      Process p = new ProcessBuilder(argv)
          .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
          .redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .redirectError(ProcessBuilder.Redirect.DISCARD)
          .start();
      if (!p.waitFor(PROBE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        return false;
      }
      return p.exitValue() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
