package dev.sparktrain.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.net.httpserver.HttpServer;
import dev.sparktrain.UserError;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tests of {@link DatasetFetcher} on a tiny made-up dataset of two files: found in a package root or the cache,
 * installed by a fake command, downloaded from a local HTTP server, rejected on a bad checksum, and the how-to
 * message when everything fails. Nothing here reaches the real network.
 */
class DatasetFetcherTest {
  private static final String NAME = "test-data";
  private static final byte[] A = "first file: some idx-like bytes".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] B = new byte[5000];

  static {
    for (int i = 0; i < B.length; i++) B[i] = (byte) (i * 31 + 7);
  }

  @TempDir Path tmp;
  private Path packageRoot;
  private Path cacheRoot;
  private HttpServer server;
  private final Map<String, byte[]> served = new ConcurrentHashMap<>();
  private final List<String> requests = new CopyOnWriteArrayList<>();
  private final List<String> log = new CopyOnWriteArrayList<>();
  private final AtomicInteger installs = new AtomicInteger();
  private DatasetSpec spec;

  @BeforeEach
  void setUp() throws IOException {
    packageRoot = tmp.resolve("share");
    cacheRoot = tmp.resolve("cache");
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/files/", exchange -> {
      String file = exchange.getRequestURI().getPath().substring("/files/".length());
      requests.add(file);
      byte[] body = served.get(file);
      if (body == null) {
        exchange.sendResponseHeaders(404, -1);
      } else {
        exchange.sendResponseHeaders(200, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
          out.write(body);
        }
      }
      exchange.close();
    });
    server.start();
    URI source = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/files/");
    spec = new DatasetSpec(NAME, "dataset-test-data", List.of(source),
        List.of(fileSpec("a.gz", A), fileSpec("b.gz", B)));
  }

  @AfterEach
  void tearDown() {
    server.stop(0);
  }

  private DatasetFetcher fetcher(PackageInstaller installer) {
    return new DatasetFetcher(List.of(spec), List.of(packageRoot), cacheRoot, installer, log::add);
  }

  /** An installer that counts its calls and installs nothing. */
  private PackageInstaller countingInstaller() {
    return pkg -> {
      installs.incrementAndGet();
      return false;
    };
  }

  @Test
  void foundInFirstPackageRootBeforeOthersAndCache() throws IOException {
    Path second = tmp.resolve("second");
    writeDataset(packageRoot.resolve(NAME));
    writeDataset(second.resolve(NAME));
    writeDataset(cacheRoot.resolve(NAME));
    DatasetFetcher f = new DatasetFetcher(List.of(spec), List.of(packageRoot, second), cacheRoot,
        countingInstaller(), log::add);

    assertEquals(packageRoot.resolve(NAME), f.locate(NAME));
    assertEquals(0, installs.get());
    assertEquals(List.of(), requests);
    assertTrue(log.stream().anyMatch(l -> l.contains("checked 2 of 2")), log.toString());
  }

  @Test
  void foundInCacheWhenPackageRootIsIncomplete() throws IOException {
    Files.createDirectories(packageRoot.resolve(NAME));
    Files.write(packageRoot.resolve(NAME).resolve("a.gz"), gzip(A));
    writeDataset(cacheRoot.resolve(NAME));

    assertEquals(cacheRoot.resolve(NAME), fetcher(countingInstaller()).locate(NAME));
    assertEquals(0, installs.get());
    assertEquals(List.of(), requests);
    assertTrue(log.stream().anyMatch(l -> l.contains("incomplete") && l.contains("missing b.gz")), log.toString());
  }

  @Test
  void downloadsIntoCacheThenReusesItWithoutCheckingAgain() throws IOException {
    served.put("a.gz", gzip(A));
    served.put("b.gz", gzip(B));

    Path dir = fetcher(countingInstaller()).locate(NAME);

    assertEquals(cacheRoot.resolve(NAME), dir);
    assertEquals(1, installs.get(), "the package install is tried before downloading");
    assertEquals(List.of("a.gz", "b.gz"), requests);
    assertArrayEquals(served.get("a.gz"), Files.readAllBytes(dir.resolve("a.gz")));
    assertArrayEquals(served.get("b.gz"), Files.readAllBytes(dir.resolve("b.gz")));
    assertEquals(List.of("a.gz", "b.gz"), fileNames(dir));

    log.clear();
    assertEquals(dir, fetcher(PackageInstaller.none()).locate(NAME));
    assertEquals(2, requests.size(), "no second download");
    assertTrue(log.stream().anyMatch(l -> l.contains("verified before")), log.toString());
  }

  @Test
  void downloadsOnlyTheMissingFiles() throws IOException {
    Files.createDirectories(cacheRoot.resolve(NAME));
    Files.write(cacheRoot.resolve(NAME).resolve("a.gz"), gzip(A));
    served.put("b.gz", gzip(B));

    assertEquals(cacheRoot.resolve(NAME), fetcher(PackageInstaller.none()).locate(NAME));
    assertEquals(List.of("b.gz"), requests);
  }

  @Test
  void checksumMismatchOnDownloadIsUserErrorAndSavesNothing() throws IOException {
    served.put("a.gz", gzip(A));
    byte[] wrong = B.clone();
    wrong[100] ^= 1;
    served.put("b.gz", gzip(wrong));

    UserError e = assertThrows(UserError.class, () -> fetcher(PackageInstaller.none()).locate(NAME));

    assertTrue(e.getMessage().contains("b.gz") && e.getMessage().contains("SHA-256"), e.getMessage());
    assertEquals(List.of(), fileNames(cacheRoot.resolve(NAME)), "not even the good a.gz, nor .part files");
  }

  @Test
  void wrongGzipMd5OrNonGzipBodyOnDownloadIsUserError() throws IOException {
    served.put("a.gz", gzipTwoMembers(A)); // same content, other compressed bytes
    served.put("b.gz", gzip(B));
    UserError md5 = assertThrows(UserError.class, () -> fetcher(PackageInstaller.none()).locate(NAME));
    assertTrue(md5.getMessage().contains("a.gz") && md5.getMessage().contains("MD5"), md5.getMessage());

    served.put("a.gz", "<html>captive portal</html>".getBytes(StandardCharsets.US_ASCII));
    UserError html = assertThrows(UserError.class, () -> fetcher(PackageInstaller.none()).locate(NAME));
    assertTrue(html.getMessage().contains("a.gz") && html.getMessage().contains("not a gzip"), html.getMessage());
    assertEquals(List.of(), fileNames(cacheRoot.resolve(NAME)));
  }

  @Test
  void installerCommandPutsFilesInPlaceAndItsOutputStaysOffStdout() throws Exception {
    Path staging = tmp.resolve("staging");
    writeDataset(staging);
    Path argFile = tmp.resolve("installed-package");
    Path script = tmp.resolve("fake-apt-get");
    Files.writeString(script, String.join("\n",
        "#!/bin/sh",
        "echo \"fake apt output for $1\"",
        "echo \"$1\" > '" + argFile + "'",
        "mkdir -p '" + packageRoot.resolve(NAME) + "'",
        "cp '" + staging + "'/*.gz '" + packageRoot.resolve(NAME) + "'/",
        ""));
    assertTrue(script.toFile().setExecutable(true));
    PackageInstaller installer = new CommandInstaller(List.of(script.toString()), Duration.ofSeconds(30), log::add);

    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    Path dir;
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    try {
      dir = fetcher(installer).locate(NAME);
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }

    assertEquals(packageRoot.resolve(NAME), dir);
    assertEquals("dataset-test-data", Files.readString(argFile).strip());
    assertEquals(List.of(), requests);
    assertEquals("", out.toString(StandardCharsets.UTF_8));
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("fake apt output for dataset-test-data"));
  }

  @Test
  void failingInstallerCommandFallsThroughToDownload() throws IOException {
    Path script = tmp.resolve("failing-apt-get");
    Files.writeString(script, "#!/bin/sh\necho 'E: Unable to locate package' >&2\nexit 100\n");
    assertTrue(script.toFile().setExecutable(true));
    served.put("a.gz", gzip(A));
    served.put("b.gz", gzip(B));

    PackageInstaller installer = new CommandInstaller(List.of(script.toString()), Duration.ofSeconds(30), log::add);
    assertEquals(cacheRoot.resolve(NAME), fetcher(installer).locate(NAME));
    assertTrue(log.stream().anyMatch(l -> l.contains("exit code 100")), log.toString());
  }

  @Test
  void whenEverythingFailsTheMessageSaysHowToGetTheData() {
    UserError e = assertThrows(UserError.class, () -> fetcher(countingInstaller()).locate(NAME));

    String m = e.getMessage();
    assertFalse(m.contains("\n"), m);
    assertTrue(m.contains("apt-get install dataset-test-data"), m);
    assertTrue(m.contains("a.gz, b.gz"), m);
    assertTrue(m.contains(spec.sources().get(0).toString()), m);
    assertTrue(m.contains(cacheRoot.resolve(NAME).toString()), m);
    assertTrue(m.contains("404"), m);
    assertEquals(1, installs.get());
  }

  @Test
  void corruptFileInCacheIsUserErrorNamingIt() throws IOException {
    writeDataset(cacheRoot.resolve(NAME));
    Files.write(cacheRoot.resolve(NAME).resolve("b.gz"), gzip(A));

    UserError e = assertThrows(UserError.class, () -> fetcher(PackageInstaller.none()).locate(NAME));
    assertTrue(e.getMessage().startsWith(cacheRoot.resolve(NAME).resolve("b.gz") + ": checksum mismatch"),
        e.getMessage());
    assertEquals(List.of(), requests);
  }

  @Test
  void fileChangedAfterVerificationIsCheckedAgain() throws IOException {
    Path dir = packageRoot.resolve(NAME);
    writeDataset(dir);
    fetcher(PackageInstaller.none()).locate(NAME);

    byte[] wrong = B.clone();
    wrong[0] ^= 1;
    Path b = dir.resolve("b.gz");
    Files.write(b, gzip(wrong));
    Files.setLastModifiedTime(b, FileTime.fromMillis(Files.getLastModifiedTime(b).toMillis() + 5_000));

    UserError e = assertThrows(UserError.class, () -> fetcher(PackageInstaller.none()).locate(NAME));
    assertTrue(e.getMessage().contains(b.toString()) && e.getMessage().contains("reinstall"), e.getMessage());
  }

  @Test
  void unknownDatasetNamesTheKnownOnes() {
    UserError e = assertThrows(UserError.class, () -> fetcher(countingInstaller()).locate("mnist"));
    assertEquals("unknown dataset 'mnist'; known datasets: test-data", e.getMessage());
    assertEquals(0, installs.get());
  }

  @Test
  void aptRunsAsRootOrThroughPasswordlessSudoOnly() {
    assertEquals(List.of("apt-get", "install", "-y"), AptInstaller.command(true, true, false));
    assertEquals(List.of("sudo", "-n", "apt-get", "install", "-y"), AptInstaller.command(true, false, true));
    assertEquals(List.of(), AptInstaller.command(true, false, false));
    assertEquals(List.of(), AptInstaller.command(false, true, true));
  }

  @Test
  void cacheRootHonoursAbsoluteXdgCacheHome() {
    assertEquals(Path.of("/x/cache/sparktrain/datasets"),
        DatasetFetcher.defaultCacheRoot(Map.of("XDG_CACHE_HOME", "/x/cache"), "/home/u"));
    assertEquals(Path.of("/home/u/.cache/sparktrain/datasets"), DatasetFetcher.defaultCacheRoot(Map.of(), "/home/u"));
    assertEquals(Path.of("/home/u/.cache/sparktrain/datasets"),
        DatasetFetcher.defaultCacheRoot(Map.of("XDG_CACHE_HOME", "relative"), "/home/u"));
  }

  /** The real checksums against Debian's package, where it is installed; skipped elsewhere (never downloads). */
  @Test
  void fashionMnistChecksumsMatchTheDebianPackage() {
    Path share = Path.of("/usr/share/datasets");
    DatasetSpec fm = DatasetSpec.FASHION_MNIST;
    assumeTrue(fm.fileNames().stream().allMatch(n -> Files.isRegularFile(share.resolve(fm.name()).resolve(n))));

    DatasetFetcher f = new DatasetFetcher(DatasetSpec.builtIn(), List.of(share), cacheRoot, PackageInstaller.none(),
        log::add);
    assertEquals(share.resolve(fm.name()), f.locate("fashion-mnist"));
    assertTrue(log.stream().anyMatch(l -> l.contains("checked 4 of 4")), log.toString());
  }

  // ---- helpers

  private static DatasetSpec.DatasetFile fileSpec(String name, byte[] content) {
    try {
      return new DatasetSpec.DatasetFile(name, hex("MD5", gzip(content)), content.length, hex("SHA-256", content));
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  private void writeDataset(Path dir) throws IOException {
    Files.createDirectories(dir);
    Files.write(dir.resolve("a.gz"), gzip(A));
    Files.write(dir.resolve("b.gz"), gzip(B));
  }

  private static byte[] gzip(byte[] content) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (GZIPOutputStream out = new GZIPOutputStream(bytes)) {
      out.write(content);
    }
    return bytes.toByteArray();
  }

  /** The same content compressed differently: a gzip stream followed by an empty second member. */
  private static byte[] gzipTwoMembers(byte[] content) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    bytes.write(gzip(content));
    bytes.write(gzip(new byte[0]));
    return bytes.toByteArray();
  }

  private static String hex(String algorithm, byte[] data) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance(algorithm).digest(data));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  /** The names of the files in {@code dir}, sorted; empty if it does not exist. */
  private static List<String> fileNames(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) return List.of();
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }
}
