package dev.sparktrain.data;

import dev.sparktrain.UserError;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Finds a dataset's directory on this machine, or gets the dataset there, so that training works on a fresh machine.
 * It tries, in order, logging one line per step:
 * <ol>
 *   <li>each package root ({@code /usr/share/datasets/<name>}, where Debian's {@code dataset-*} packages put
 *       their files), then the user cache ({@code $XDG_CACHE_HOME/sparktrain/datasets/<name>}, by default
 *       {@code ~/.cache/sparktrain/datasets/<name>});</li>
 *   <li>installing the dataset's Debian package, then looking again;</li>
 *   <li>downloading the missing files from the dataset's sources into the cache: each file goes to a temporary
 *       file, and all are renamed into place only after every one passed its checksums;</li>
 *   <li>failing with one line that says how to get the data.</li>
 * </ol>
 * Every file is checked by the SHA-256 of its decompressed content, wherever it came from (Debian recompresses, so
 * the upstream {@code .gz} MD5 is only checked on download). A passed check is remembered in {@link VerifiedFiles},
 * so later runs skip it. A checksum mismatch is a {@link UserError} naming the file.
 */
public final class DatasetFetcher {
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration RESPONSE_TIMEOUT = Duration.ofSeconds(60);

  private final Map<String, DatasetSpec> registry = new LinkedHashMap<>();
  private final List<Path> packageRoots;
  private final Path cacheRoot;
  private final PackageInstaller installer;
  private final Consumer<String> log;
  private final VerifiedFiles verified;
  private HttpClient http; // made on the first download: most runs never need one

  /**
   * @param registry the datasets known by name
   * @param packageRoots read-only directories searched first, each holding one subdirectory per dataset
   * @param cacheRoot the writable directory searched last and downloaded into, one subdirectory per dataset; it also
   *     holds the record of verified files
   * @param installer installs a dataset's Debian package, or {@link PackageInstaller#none()}
   * @param log receives one line per step, e.g. {@code System.err::println}
   */
  public DatasetFetcher(Collection<DatasetSpec> registry, List<Path> packageRoots, Path cacheRoot,
      PackageInstaller installer, Consumer<String> log) {
    for (DatasetSpec spec : registry) {
      if (this.registry.put(spec.name(), spec) != null) {
        throw new IllegalArgumentException("dataset " + spec.name() + " is registered twice");
      }
    }
    this.packageRoots = List.copyOf(packageRoots);
    this.cacheRoot = cacheRoot;
    this.installer = installer;
    this.log = log;
    this.verified = new VerifiedFiles(cacheRoot.resolve("verified.properties"), log);
  }

  /** The fetcher the command line uses: built-in datasets, Debian's path, the user cache, apt-get, the network. */
  public static DatasetFetcher standard(Consumer<String> log) {
    return new DatasetFetcher(DatasetSpec.builtIn(), List.of(Path.of("/usr/share/datasets")),
        defaultCacheRoot(System.getenv(), System.getProperty("user.home")), new AptInstaller(log), log);
  }

  /** {@code $XDG_CACHE_HOME/sparktrain/datasets}, or {@code ~/.cache/...} when it is unset or not absolute. */
  static Path defaultCacheRoot(Map<String, String> env, String userHome) {
    String xdg = env.get("XDG_CACHE_HOME");
    Path base = xdg != null && !xdg.isEmpty() && Path.of(xdg).isAbsolute() ? Path.of(xdg) : Path.of(userHome, ".cache");
    return base.resolve("sparktrain").resolve("datasets");
  }

  /** The directory in which {@code dataset}'s files are present and verified; see the class comment. */
  public Path locate(String dataset) {
    DatasetSpec spec = registry.get(dataset);
    if (spec == null) {
      throw new UserError("unknown dataset '" + dataset + "'; known datasets: " + String.join(", ", registry.keySet()));
    }
    Path found = search(spec);
    if (found != null) return found;
    if (spec.debianPackage() != null) {
      log.accept(spec.name() + ": trying to install the package " + spec.debianPackage());
      if (installer.install(spec.debianPackage())) {
        found = search(spec);
        if (found != null) return found;
        log.accept(spec.name() + ": " + spec.debianPackage() + " is installed, but its files are not where expected");
      }
    }
    try {
      return download(spec);
    } catch (DownloadFailed e) {
      throw new UserError(howToGet(spec, e.getMessage()));
    }
  }

  /** The first candidate directory holding all files, verified; null if none holds them all. */
  private Path search(DatasetSpec spec) {
    List<Path> dirs = new ArrayList<>();
    for (Path root : packageRoots) dirs.add(root.resolve(spec.name()));
    dirs.add(cacheDir(spec));
    for (Path dir : dirs) {
      List<String> missing = missing(spec, dir);
      if (missing.isEmpty()) {
        verify(spec, dir);
        return dir;
      }
      log.accept(spec.name() + ": " + (missing.size() == spec.files().size()
          ? "not in " + dir
          : "incomplete in " + dir + " (missing " + String.join(", ", missing) + ")"));
    }
    return null;
  }

  private Path cacheDir(DatasetSpec spec) {
    return cacheRoot.resolve(spec.name());
  }

  private static List<String> missing(DatasetSpec spec, Path dir) {
    return spec.fileNames().stream().filter(f -> !Files.isRegularFile(dir.resolve(f))).toList();
  }

  /** Checks every file of the dataset in {@code dir}, skipping those verified before, and logs the outcome. */
  private void verify(DatasetSpec spec, Path dir) {
    int checked = 0;
    for (DatasetSpec.DatasetFile f : spec.files()) {
      Path file = dir.resolve(f.name());
      try {
        VerifiedFiles.Stamp stamp = VerifiedFiles.stamp(file, f.contentSha256());
        if (verified.contains(stamp)) continue;
        String mismatch = mismatch(f, GzipDigest.of(file, f.contentBytes()), false);
        if (mismatch != null) {
          throw new UserError(file + ": checksum mismatch: " + mismatch + "; " + remedy(spec, dir, file));
        }
        verified.add(stamp);
        checked++;
      } catch (IOException e) {
        throw new UserError(file + ": cannot read as gzip (" + describe(e) + "); " + remedy(spec, dir, file));
      }
    }
    log.accept(spec.name() + ": using " + dir + (checked == 0
        ? " (verified before)"
        : " (checked " + checked + " of " + spec.files().size() + " files)"));
  }

  private String remedy(DatasetSpec spec, Path dir, Path file) {
    return dir.startsWith(cacheRoot) || spec.debianPackage() == null
        ? "delete it to fetch it again"
        : "reinstall the package " + spec.debianPackage();
  }

  /** What is wrong with a file whose digest is {@code d}, or null if nothing. */
  private static String mismatch(DatasetSpec.DatasetFile f, GzipDigest d, boolean checkGzipMd5) {
    if (d.contentBytes() != f.contentBytes()) {
      return "content is " + (d.contentBytes() > f.contentBytes() ? "over " + f.contentBytes() : d.contentBytes())
          + " bytes, expected " + f.contentBytes();
    }
    if (!d.contentSha256().equals(f.contentSha256())) {
      return "content SHA-256 is " + d.contentSha256() + ", expected " + f.contentSha256();
    }
    if (checkGzipMd5 && f.gzipMd5() != null && !d.gzipMd5().equals(f.gzipMd5())) {
      return "gzip MD5 is " + d.gzipMd5() + ", expected " + f.gzipMd5();
    }
    return null;
  }

  /** Downloads the files missing from the cache directory, trying the sources in order; returns the directory. */
  private Path download(DatasetSpec spec) throws DownloadFailed {
    if (spec.sources().isEmpty()) throw new DownloadFailed("no download source is known");
    Path dir = cacheDir(spec);
    List<DatasetSpec.DatasetFile> missing =
        spec.files().stream().filter(f -> !Files.isRegularFile(dir.resolve(f.name()))).toList();
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new DownloadFailed("cannot create " + dir + " (" + describe(e) + ")");
    }
    DownloadFailed last = null;
    for (URI source : spec.sources()) {
      try {
        downloadAll(missing, source, dir);
        log.accept(spec.name() + ": saved " + missing.size() + " files from " + source + " in " + dir);
        verify(spec, dir);
        return dir;
      } catch (DownloadFailed e) {
        log.accept(spec.name() + ": download failed: " + e.getMessage());
        last = e;
      }
    }
    throw last;
  }

  /** Downloads and checks every file into a temporary file, then renames them all; on any failure saves nothing. */
  private void downloadAll(List<DatasetSpec.DatasetFile> files, URI source, Path dir) throws DownloadFailed {
    Map<DatasetSpec.DatasetFile, Path> parts = new LinkedHashMap<>();
    try {
      for (DatasetSpec.DatasetFile f : files) {
        Path part = Files.createTempFile(dir, "." + f.name() + ".", ".part");
        parts.put(f, part);
        URI uri = source.resolve(f.name());
        log.accept("downloading " + uri);
        fetch(uri, part);
        String mismatch;
        try {
          mismatch = mismatch(f, GzipDigest.of(part, f.contentBytes()), true);
        } catch (IOException e) {
          mismatch = "not a gzip file (" + describe(e) + ")";
        }
        if (mismatch != null) {
          throw new UserError(uri + ": downloaded file failed its checksum: " + mismatch + "; nothing was saved in "
              + dir);
        }
      }
      for (Map.Entry<DatasetSpec.DatasetFile, Path> e : parts.entrySet()) {
        Path target = dir.resolve(e.getKey().name());
        VerifiedFiles.move(e.getValue(), target);
        verified.add(VerifiedFiles.stamp(target, e.getKey().contentSha256()));
      }
    } catch (IOException e) {
      throw new DownloadFailed(describe(e));
    } finally {
      for (Path part : parts.values()) deleteQuietly(part);
    }
  }

  private void fetch(URI uri, Path part) throws IOException, DownloadFailed {
    HttpRequest request = HttpRequest.newBuilder(uri).timeout(RESPONSE_TIMEOUT).GET().build();
    HttpResponse<Path> response;
    try {
      response = client().send(request, HttpResponse.BodyHandlers.ofFile(part));
    } catch (IOException e) {
      throw new DownloadFailed(uri + ": " + describe(e));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new UserError(uri + ": interrupted while downloading");
    }
    if (response.statusCode() != 200) throw new DownloadFailed(uri + ": HTTP status " + response.statusCode());
  }

  private synchronized HttpClient client() {
    if (http == null) {
      http = HttpClient.newBuilder()
          .connectTimeout(CONNECT_TIMEOUT)
          .followRedirects(HttpClient.Redirect.NORMAL)
          .version(HttpClient.Version.HTTP_1_1)
          .build();
    }
    return http;
  }

  private String howToGet(DatasetSpec spec, String downloadFailure) {
    StringBuilder s = new StringBuilder("dataset " + spec.name() + " is not on this machine");
    if (downloadFailure != null) s.append(" and could not be downloaded (").append(downloadFailure).append(')');
    s.append("; to get it, ");
    if (spec.debianPackage() != null) s.append("run 'apt-get install ").append(spec.debianPackage()).append("' as root, or ");
    s.append(spec.sources().isEmpty() ? "put " : "download ").append(String.join(", ", spec.fileNames()));
    if (!spec.sources().isEmpty()) s.append(" from ").append(spec.sources().get(0));
    return s.append(" into ").append(cacheDir(spec)).toString();
  }

  private static String describe(Exception e) {
    String m = e.getMessage();
    return m == null || m.isBlank() ? e.getClass().getSimpleName() : e.getClass().getSimpleName() + ": " + m;
  }

  private static void deleteQuietly(Path p) {
    try {
      Files.deleteIfExists(p);
    } catch (IOException e) {
      // a leftover .part file is harmless: it is never taken for a dataset file
    }
  }

  /** A download that failed for a reason other than a checksum, e.g. no network; the next step may still work. */
  private static final class DownloadFailed extends Exception {
    private static final long serialVersionUID = 1L;

    DownloadFailed(String message) {
      super(message, null, false, false);
    }
  }
}
