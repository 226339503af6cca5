package dev.sparktrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparktrain.report.MetricsFixtures;
import dev.sparktrain.testing.CliRun;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code report} through the command: two runs to one page, the JSON line, and bad metrics files (missing, a bad
 * line in the middle: exit 2, one line naming the file and line, no page and no temporary file; a cut-short last
 * line: a warning naming the file and line, and the page of the rest).
 */
class ReportCommandTest {
  @TempDir Path dir;
  private Path adam, sgd, out;

  @BeforeEach
  void writeRuns() {
    adam = MetricsFixtures.write(dir.resolve("adam.jsonl"), MetricsFixtures.lines(MetricsFixtures.fashion("adam", "adam", 1e-3, false, 42)));
    sgd = MetricsFixtures.write(dir.resolve("sgd.jsonl"), MetricsFixtures.lines(MetricsFixtures.fashion("sgd", "sgd", 0.05, true, 7)));
    out = dir.resolve("site/report.html");
  }

  @Test
  void twoRunsMakeOnePage() throws IOException {
    Files.createDirectories(out.getParent());
    CliRun.Result r = CliRun.inProcess("report", adam.toString(), sgd.toString(), "--out", out.toString());
    assertEquals(0, r.exitCode(), r.toString());
    JsonNode json = r.json();
    assertEquals(out.toString(), json.get("report").asText());
    assertEquals(2, json.get("runs").asInt());
    assertEquals(10, json.get("charts").asInt(), "7 scalar and timing charts, per-class accuracy, 2 confusion matrices");
    assertEquals(0, json.get("warnings").asInt());
    String html = Files.readString(out);
    assertEquals(10, html.split("<figure class=\"chart", -1).length - 1);
    assertTrue(html.contains("adam.jsonl") && html.contains("sgd.jsonl"), "the sidebar names the files");
    assertEquals(List.of("report.html"), names(out.getParent()), "no temporary file left beside it");
  }

  @Test
  void twoFilesOfTheSameRunNameGetDistinctNames() throws IOException {
    Path copy = Files.copy(adam, dir.resolve("again.jsonl"));
    CliRun.Result r = CliRun.inProcess("report", adam.toString(), copy.toString(), "--out=" + out);
    assertEquals(0, r.exitCode(), r.toString());
    assertEquals(out.toString(), r.json().get("report").asText());
    assertTrue(Files.readString(out).contains("adam #2"));
  }

  @Test
  void aMissingFileIsOneLineAndNoPage() throws IOException {
    Path missing = dir.resolve("nope.jsonl");
    CliRun.Result r = CliRun.inProcess("report", adam.toString(), missing.toString(), "--out", out.toString());
    String line = r.assertUserError(missing.toString());
    assertEquals("error: " + missing + ": no such file", line);
    assertFalse(Files.exists(out.getParent()), "nothing written");
  }

  @Test
  void aBadLineInTheMiddleNamesFileAndLineAndWritesNoPage() throws IOException {
    List<String> lines = new java.util.ArrayList<>(Files.readAllLines(sgd));
    lines.set(99, lines.get(99).substring(0, 25));
    Files.write(sgd, lines);
    Files.createDirectories(out.getParent());
    CliRun.Result r = CliRun.inProcess("report", adam.toString(), sgd.toString(), "--out", out.toString());
    r.assertUserError(sgd + ": line 100: not JSON");
    assertEquals(List.of(), names(out.getParent()), "no page, no temporary file");
  }

  @Test
  void aCutShortLastLineIsAWarningAndThePageOfTheRest() throws IOException {
    List<String> lines = Files.readAllLines(sgd);
    String last = lines.get(lines.size() - 1);
    Files.writeString(sgd, String.join("\n", lines.subList(0, lines.size() - 1)) + "\n" + last.substring(0, last.length() / 2));
    CliRun.Result r = CliRun.inProcess("report", adam.toString(), sgd.toString(), "--out", out.toString());
    assertEquals(0, r.exitCode(), r.toString());
    List<String> warnings = r.stderr().lines().filter(l -> l.startsWith("warning:")).toList();
    assertEquals(1, warnings.size(), r.toString());
    assertTrue(warnings.get(0).startsWith("warning: " + sgd + ": line " + lines.size() + " "), warnings.get(0));
    assertEquals(1, r.json().get("warnings").asInt());
    assertEquals(9, r.json().get("charts").asInt(), "sgd's confusion matrix was in the cut line");
    String html = Files.readString(out);
    assertTrue(html.contains("no end record"), "the summary says the run did not end");
    assertTrue(html.contains("line " + lines.size()), "the page shows the warning");
  }

  @Test
  void usageErrors() {
    CliRun.inProcess("report").assertUserError("usage: sparktrain report");
    CliRun.inProcess("report", adam.toString(), "--out").assertUserError("--out: expected a file name");
    CliRun.inProcess("report", adam.toString(), "--bogus").assertUserError("unknown option '--bogus'");
  }

  private static List<String> names(Path d) throws IOException {
    try (Stream<Path> s = Files.list(d)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }
}
