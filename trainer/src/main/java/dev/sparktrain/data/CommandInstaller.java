package dev.sparktrain.data;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Installs a package by running a command with the package name appended, e.g. {@code apt-get install -y}. The
 * command's output (stdout and stderr) goes to our stderr, never to our stdout, which belongs to the results;
 * its stdin is empty so that it cannot wait for an answer; it is killed after {@code timeout}.
 */
public final class CommandInstaller implements PackageInstaller {
  private final List<String> command;
  private final Duration timeout;
  private final Consumer<String> log;

  public CommandInstaller(List<String> command, Duration timeout, Consumer<String> log) {
    if (command.isEmpty()) throw new IllegalArgumentException("empty installer command");
    this.command = List.copyOf(command);
    this.timeout = timeout;
    this.log = log;
  }

  @Override
  public boolean install(String packageName) {
    List<String> argv = new ArrayList<>(command);
    argv.add(packageName);
    log.accept("running: " + String.join(" ", argv));
    Process process;
    try {
      process = new ProcessBuilder(argv)
          .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
          .redirectErrorStream(true)
          .start();
    } catch (IOException e) {
      log.accept("cannot run " + argv.get(0) + ": " + e.getMessage());
      return false;
    }
    Thread copier = copyToStderr(process.getInputStream());
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        log.accept(argv.get(0) + " did not finish within " + timeout.toSeconds() + " s; stopped it");
        return false;
      }
      copier.join(5_000);
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      return false;
    }
    int exit = process.exitValue();
    if (exit != 0) log.accept(argv.get(0) + " failed with exit code " + exit);
    return exit == 0;
  }

  // A thread, because a child whose pipe is full blocks, and waitFor() would then wait for ever.
  private static Thread copyToStderr(InputStream childOutput) {
    PrintStream err = System.err;
    Thread t = new Thread(() -> {
      try (InputStream in = childOutput) {
        in.transferTo(err);
      } catch (IOException e) {
        // the child is gone; nothing more to copy
      }
      err.flush();
    }, "installer-output");
    t.setDaemon(true);
    t.start();
    return t;
  }
}
