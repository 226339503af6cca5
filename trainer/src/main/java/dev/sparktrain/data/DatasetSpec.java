package dev.sparktrain.data;

import java.net.URI;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The description of a dataset that {@link DatasetFetcher} can find, install or download: its name (also the
 * name of its directory), the Debian package that ships it (null if none), the base URLs it can be downloaded
 * from, and its gzip-compressed files with their checksums. Adding a dataset means adding one constant here.
 */
public record DatasetSpec(String name, String debianPackage, List<URI> sources, List<DatasetFile> files) {
  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9.-]*");
  private static final Pattern FILE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");
  private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
  private static final Pattern MD5 = Pattern.compile("[0-9a-f]{32}");

  /**
   * One gzip-compressed file. The checksum of the decompressed content is the authoritative one, because
   * repackagers (Debian) recompress the files; the MD5 of the {@code .gz} file as published upstream, when known,
   * is checked on download only.
   */
  public record DatasetFile(String name, String gzipMd5, long contentBytes, String contentSha256) {
    public DatasetFile {
      if (name == null || !FILE.matcher(name).matches()) throw new IllegalArgumentException("bad file name: " + name);
      if (gzipMd5 != null && !MD5.matcher(gzipMd5).matches()) {
        throw new IllegalArgumentException(name + ": gzip MD5 must be 32 lowercase hex digits: " + gzipMd5);
      }
      if (contentBytes <= 0) throw new IllegalArgumentException(name + ": content size must be positive");
      if (contentSha256 == null || !SHA256.matcher(contentSha256).matches()) {
        throw new IllegalArgumentException(name + ": content SHA-256 must be 64 lowercase hex digits");
      }
    }
  }

  public DatasetSpec {
    if (name == null || !NAME.matcher(name).matches()) throw new IllegalArgumentException("bad dataset name: " + name);
    if (debianPackage != null && !NAME.matcher(debianPackage).matches()) {
      throw new IllegalArgumentException(name + ": bad Debian package name: " + debianPackage);
    }
    sources = sources.stream().map(DatasetSpec::asDirectory).toList();
    files = List.copyOf(files);
    if (files.isEmpty()) throw new IllegalArgumentException(name + ": no files");
    if (files.stream().map(DatasetFile::name).distinct().count() != files.size()) {
      throw new IllegalArgumentException(name + ": duplicate file names");
    }
  }

  /** Fashion-MNIST (Xiao, Rasul and Vollgraf 2017): 60000 + 10000 grey 28×28 images of clothes in 10 classes. */
  public static final DatasetSpec FASHION_MNIST = new DatasetSpec(
      "fashion-mnist",
      "dataset-fashion-mnist",
      List.of(URI.create("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/")),
      List.of(
          new DatasetFile("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d", 47040016,
              "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
          new DatasetFile("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe", 60008,
              "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
          new DatasetFile("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79", 7840016,
              "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
          new DatasetFile("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310", 10008,
              "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34")));

  /** The datasets the command line knows by name. */
  public static List<DatasetSpec> builtIn() {
    return List.of(FASHION_MNIST);
  }

  /** The file names, in order, for messages. */
  public List<String> fileNames() {
    return files.stream().map(DatasetFile::name).toList();
  }

  // A base URL must end with '/', or resolve() would replace its last path segment.
  private static URI asDirectory(URI base) {
    String s = base.toString();
    return s.endsWith("/") ? base : URI.create(s + "/");
  }
}
