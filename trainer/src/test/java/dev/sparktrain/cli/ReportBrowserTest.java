package dev.sparktrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparktrain.report.MetricsFixtures;
import dev.sparktrain.testing.CliRun;
import java.awt.image.BufferedImage;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The report in a real browser: {@code scripts/check-report} opens the page in headless Chromium (Debian's
 * {@code chromium}, which .ci/run installs), and must find every chart rendered, an empty console and a
 * screenshot; and it must fail on a page with an empty chart or a script error. Without Chromium the test is
 * skipped, except under CI ({@code CI} set), where it fails.
 */
class ReportBrowserTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir static Path dir;
  private static Path page;

  /** What the check printed and returned. */
  private record Check(int exitCode, String stdout, String stderr) {
    JsonNode json() throws IOException {
      List<String> lines = CliRun.nonEmptyLines(stdout);
      return JSON.readTree(lines.get(lines.size() - 1));
    }
  }

  @BeforeAll
  static void writeReport() {
    boolean chromium = Stream.of("/usr/bin/chromium", "/usr/bin/chromium-browser").anyMatch(p -> new File(p).canExecute())
        || System.getenv("CHROMIUM") != null;
    if (!chromium && System.getenv("CI") != null) fail("CI needs Debian's chromium for the report's browser check");
    Assumptions.assumeTrue(chromium, "chromium is not installed (apt-get install chromium)");
    Path adam = MetricsFixtures.write(dir.resolve("adam.jsonl"),
        MetricsFixtures.lines(MetricsFixtures.fashion("adam", "adam", 1e-3, false, 42)));
    Path sgd = MetricsFixtures.write(dir.resolve("sgd.jsonl"),
        MetricsFixtures.lines(MetricsFixtures.fashion("sgd-cosine", "sgd", 0.05, true, 7)));
    page = dir.resolve("report.html");
    CliRun.Result r = CliRun.inProcess("report", adam.toString(), sgd.toString(), "--out", page.toString());
    assertEquals(0, r.exitCode(), r.toString());
  }

  private static Check check(Path html, Path png) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(CliRun.repoRoot().resolve("scripts/check-report").toString(), html.toString(), png.toString())
        .redirectOutput(dir.resolve("check.out").toFile()).redirectError(dir.resolve("check.err").toFile()).start();
    if (!p.waitFor(180, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      fail("scripts/check-report did not finish in 180 s");
    }
    Check c = new Check(p.exitValue(), Files.readString(dir.resolve("check.out")), Files.readString(dir.resolve("check.err")));
    System.err.println("check-report " + html + " -> " + c);
    return c;
  }

  @Test
  void everyChartRendersWithAQuietConsoleAndAScreenshot() throws Exception {
    Path png = dir.resolve("report.png");
    Check c = check(page, png);
    assertEquals(0, c.exitCode(), c.toString());
    JsonNode json = c.json();
    assertEquals(10, json.get("charts").asInt());
    assertEquals(10, json.get("rendered").asInt());
    assertEquals(10, json.get("non_empty_svg").asInt());
    assertEquals("10/10", json.get("page_check").asText());
    assertEquals(0, json.get("console_messages").asInt());
    BufferedImage image = ImageIO.read(png.toFile());
    assertEquals(1280, image.getWidth());
    assertEquals(2400, image.getHeight());
    Set<Integer> colours = new HashSet<>();
    for (int y = 0; y < image.getHeight(); y += 7) for (int x = 0; x < image.getWidth(); x += 7) colours.add(image.getRGB(x, y));
    assertTrue(colours.size() > 50, "a drawn page, not a blank one: " + colours.size() + " colours");
    assertEquals(0xfff57c00, image.getRGB(600, 10), "the header bar's orange at the top");
  }

  @Test
  void theRecordedFashionMnistRunsRender() throws Exception {
    Path samples = CliRun.repoRoot().resolve("docs/metrics-sample");
    Path html = dir.resolve("recorded.html");
    CliRun.Result r = CliRun.inProcess("report", samples.resolve("adam.jsonl").toString(),
        samples.resolve("nesterov-cosine.jsonl").toString(), "--out", html.toString());
    assertEquals(0, r.exitCode(), r.toString());
    Check c = check(html, dir.resolve("recorded.png"));
    assertEquals(0, c.exitCode(), c.toString());
    assertEquals(r.json().get("charts").asInt(), c.json().get("rendered").asInt());
    assertEquals(10, c.json().get("rendered").asInt());
  }

  @Test
  void anEmptyChartFailsTheCheckAndIsNamed() throws Exception {
    String html = Files.readString(page);
    int svg = html.indexOf("<svg id='lr-step-svg'");
    int end = html.indexOf("</svg>", svg);
    Path broken = Files.writeString(dir.resolve("empty-chart.html"),
        html.substring(0, html.indexOf('>', svg) + 1) + html.substring(end));
    Check c = check(broken, dir.resolve("empty-chart.png"));
    assertEquals(1, c.exitCode(), c.toString());
    assertTrue(c.stderr().contains("chart not rendered: lr-step"), c.stderr());
    assertTrue(c.json().get("error").asText().contains("9 of 10 charts rendered"), c.stdout());
  }

  @Test
  void aScriptErrorFailsTheCheck() throws Exception {
    String html = Files.readString(page).replace("</body>", "<script>reportNotDefined();</script></body>");
    Check c = check(Files.writeString(dir.resolve("script-error.html"), html), dir.resolve("script-error.png"));
    assertEquals(1, c.exitCode(), c.toString());
    assertTrue(c.stderr().contains("Uncaught ReferenceError: reportNotDefined is not defined"), c.stderr());
  }
}
