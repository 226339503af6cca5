package dev.sparktrain.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Properties;
import java.util.function.Consumer;

/**
 * A record of files whose content already passed its checksum, so that later runs skip the costly gunzip and
 * SHA-256. It is one properties file in the user's cache (the dataset directory itself may be read-only, like
 * {@code /usr/share/datasets}), keyed by the file's real path, with the file's size and modification time and the
 * expected checksum as value: replacing the file, touching it, or changing the expected checksum forces a new
 * check. The file is rewritten whole through a rename, so concurrent runs can at worst lose an entry, never
 * corrupt it. Failing to read or write it only costs time, so such failures are logged, not thrown.
 */
final class VerifiedFiles {
  private final Path indexFile;
  private final Consumer<String> log;

  VerifiedFiles(Path indexFile, Consumer<String> log) {
    this.indexFile = indexFile;
    this.log = log;
  }

  /** The current identity of a file, taken before it is checked so that a change during the check is noticed. */
  record Stamp(String key, String value) {}

  /** The stamp of {@code file} as it is now, for the expected checksum {@code sha256}. */
  static Stamp stamp(Path file, String sha256) throws IOException {
    BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
    return new Stamp(file.toRealPath().toString(), a.size() + " " + a.lastModifiedTime().toInstant() + " " + sha256);
  }

  boolean contains(Stamp stamp) {
    return stamp.value().equals(load().getProperty(stamp.key()));
  }

  void add(Stamp stamp) {
    Properties p = load();
    p.setProperty(stamp.key(), stamp.value());
    try {
      Files.createDirectories(indexFile.getParent());
      Path tmp = Files.createTempFile(indexFile.getParent(), indexFile.getFileName().toString(), ".tmp");
      try {
        try (OutputStream out = Files.newOutputStream(tmp)) {
          p.store(out, "dataset files whose checksums sparktrain verified: real path = size mtime sha256");
        }
        move(tmp, indexFile);
      } finally {
        Files.deleteIfExists(tmp);
      }
    } catch (IOException e) {
      log.accept("cannot record the verification in " + indexFile + " (" + e + "); it will be repeated next run");
    }
  }

  private Properties load() {
    Properties p = new Properties();
    try (InputStream in = Files.newInputStream(indexFile)) {
      p.load(in);
    } catch (NoSuchFileException e) {
      // nothing verified yet
    } catch (IOException | IllegalArgumentException e) {
      log.accept("ignoring unreadable " + indexFile + " (" + e + ")");
    }
    return p;
  }

  static void move(Path from, Path to) throws IOException {
    try {
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
    }
  }
}
