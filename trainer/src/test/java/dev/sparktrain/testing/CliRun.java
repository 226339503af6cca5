package dev.sparktrain.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparktrain.cli.Main;
import dev.sparktrain.train.Hooks;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * Runs the command-line tool the way a user does, in a child JVM or in-process through {@link Main#run}, and
 * checks the shape of what it printed: the last stdout line is one JSON object, errors are one line on stderr.
 */
public final class CliRun {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern STACK_FRAME = Pattern.compile("^\\s+at \\S");

  /** What a command printed and returned. */
  public record Result(int exitCode, String stdout, String stderr) {
    /** The last non-empty stdout line parsed as a JSON object; fails the test if it is anything else. */
    public JsonNode json() {
      List<String> lines = nonEmptyLines(stdout);
      if (lines.isEmpty()) fail("no output on stdout\n" + this);
      String last = lines.get(lines.size() - 1);
      try {
        JsonNode node = JSON.readTree(last);
        if (node == null || !node.isObject()) fail("last stdout line is not a JSON object: " + last + "\n" + this);
        return node;
      } catch (IOException e) {
        throw new AssertionError("last stdout line is not JSON: " + last + "\n" + this, e);
      }
    }

    /** The stderr lines that start with "error:". */
    public List<String> errorLines() {
      return stderr.lines().filter(l -> l.startsWith("error:")).toList();
    }

    /**
     * Asserts the contract for bad input: exit code 2; exactly one "error:" line on stderr, containing every
     * fragment; the message not repeated by a log line; no stack trace on stderr; and a JSON {"error": ...}
     * as the only stdout line.
     * Returns the error line.
     */
    public String assertUserError(String... fragments) {
      assertEquals(2, exitCode, "exit code for bad input\n" + this);
      List<String> errors = errorLines();
      assertEquals(1, errors.size(), "exactly one 'error:' line on stderr\n" + this);
      String line = errors.get(0);
      for (String f : fragments) assertTrue(line.contains(f), "the error line should contain '" + f + "': " + line);
      String message = line.substring("error:".length()).strip();
      List<String> repeats = stderr.lines().filter(l -> !l.equals(line) && l.contains(message)).toList();
      assertTrue(repeats.isEmpty(), "the message is printed once, not also logged: " + repeats + "\n" + this);
      List<String> trace = stderr.lines()
          .filter(l -> STACK_FRAME.matcher(l).find() || l.contains("Exception in thread")).toList();
      assertTrue(trace.isEmpty(), "stderr must carry no stack trace, found " + trace + "\n" + this);
      assertEquals(1, nonEmptyLines(stdout).size(), "stdout carries only the JSON result\n" + this);
      JsonNode json = json();
      assertTrue(json.hasNonNull("error") && json.get("error").isTextual(), "JSON has an \"error\" field: " + json);
      assertFalse(json.get("error").asText().isBlank(), "the JSON error is not empty: " + json);
      return line;
    }

    @Override
    public String toString() {
      return "exit " + exitCode + "\n--- stdout ---\n" + tail(stdout) + "\n--- stderr ---\n" + tail(stderr);
    }

    private static String tail(String s) {
      return s.length() <= 6000 ? s : "..." + s.substring(s.length() - 6000);
    }
  }

  private CliRun() {}

  /** Runs Main in-process; stdout and stderr are captured (and stderr also echoed, for the surefire report). */
  public static Result inProcess(String... args) {
    return inProcess(Hooks.NONE, args);
  }

  /** As above, with callbacks and a partition hook (faults) passed to every run the command trains. */
  public static Result inProcess(Hooks hooks, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
    int code;
    try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
         PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
      code = Main.run(args, o, e, hooks);
    }
    Result r = new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    System.err.println("sparktrain " + String.join(" ", args) + " -> " + r);
    return r;
  }

  /**
   * Runs {@code java @conf/jvm.options -Dlog4j2.configurationFile=conf/log4j2.properties -cp <test classpath>
   * dev.sparktrain.cli.Main args...}, plus a 1 GiB heap and a start-up JIT setting, in workDir with
   * SPARK_LOCAL_IP=127.0.0.1 and stdin at end of file; kills the child and fails after timeoutSeconds.
   */
  public static Result subprocess(Path workDir, long timeoutSeconds, String... args)
      throws IOException, InterruptedException {
    Process p = start(workDir, args);
    boolean done = p.waitFor(timeoutSeconds, TimeUnit.SECONDS);
    if (!done) {
      p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    Path outFile = workDir.resolve(".cli-stdout"), errFile = workDir.resolve(".cli-stderr");
    Result r = new Result(done ? p.exitValue() : -1, Files.readString(outFile), Files.readString(errFile));
    Files.delete(outFile);
    Files.delete(errFile);
    System.err.println("sparktrain " + String.join(" ", args) + " -> " + r);
    if (!done) fail("sparktrain " + String.join(" ", args) + " did not finish in " + timeoutSeconds + " s\n" + r);
    return r;
  }

  /** The steps of the checkpoint files in a checkpoint directory, in order; empty when it does not exist. */
  public static List<Long> checkpointSteps(Path checkpoints) throws IOException {
    if (!Files.isDirectory(checkpoints)) return List.of();
    try (java.util.stream.Stream<Path> s = Files.list(checkpoints)) {
      return s.map(p -> p.getFileName().toString()).filter(n -> n.matches("ckpt-\\d{12}\\.stc"))
          .map(n -> Long.parseLong(n.substring(5, 17))).sorted().toList();
    }
  }

  /**
   * Kills the child that {@link #start} started in workDir with SIGKILL once it has written a checkpoint at step
   * {@code step} or later into checkpoints; fails if it ends first or writes none within 240 s.
   */
  public static void killAfterCheckpoint(Process child, Path workDir, Path checkpoints, long step) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
    while (checkpointSteps(checkpoints).stream().noneMatch(s -> s >= step)) {
      assertTrue(child.isAlive(), "the child ended before it was killed: " + Files.readString(workDir.resolve(".cli-stderr")));
      assertTrue(System.nanoTime() < deadline, "no checkpoint after 240 s");
      Thread.sleep(100);
    }
    child.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    assertEquals(137, child.exitValue(), "killed by SIGKILL");
  }

  /**
   * Starts the child JVM that {@link #subprocess} runs and returns it at once (for tests that kill it); its
   * stdout and stderr go to workDir/.cli-stdout and .cli-stderr.
   */
  public static Process start(Path workDir, String... args) throws IOException {
    List<String> cmd = javaCommand(Arrays.asList(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(workDir.toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
        .redirectOutput(workDir.resolve(".cli-stdout").toFile())
        .redirectError(workDir.resolve(".cli-stderr").toFile());
    pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
    pb.environment().put("OPENBLAS_NUM_THREADS", "1");
    return pb.start();
  }

  /** The child JVM's command line that {@link #start} runs: the project's JVM options, the test class path, Main, args. */
  public static List<String> javaCommand(List<String> args) {
    Path repo = repoRoot();
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx1g",
        // Start-up speed only: C1 alone compiles Spark's start-up code sooner. It changes no behaviour.
        "-XX:TieredStopAtLevel=1",
        "@" + repo.resolve("conf/jvm.options"),
        "-Dlog4j2.configurationFile=" + repo.resolve("conf/log4j2.properties"),
        "-cp", testClassPath(),
        Main.class.getName()));
    cmd.addAll(args);
    return cmd;
  }

  /** The repository root: the nearest directory above the working directory that holds conf/jvm.options. */
  public static Path repoRoot() {
    for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
      if (Files.isRegularFile(d.resolve("conf/jvm.options"))) return d;
    }
    throw new IllegalStateException("no conf/jvm.options above " + Path.of("").toAbsolutePath());
  }

  /** The test JVM's class path (surefire may hide it behind a manifest-only booter jar). */
  private static String testClassPath() {
    String cp = System.getProperty("surefire.test.class.path");
    return cp != null && !cp.isBlank() ? cp : System.getProperty("java.class.path");
  }

  /** The non-empty lines of s. */
  public static List<String> nonEmptyLines(String s) {
    return s.lines().filter(l -> !l.isBlank()).toList();
  }
}
