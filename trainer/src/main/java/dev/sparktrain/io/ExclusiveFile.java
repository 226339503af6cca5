// Puts a complete file under a name only if no file has that name yet: the one exclusive step of the zoo and of leases.
package dev.sparktrain.io;

import java.io.File;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;

/**
 * Creates a file with given bytes under a name that must not exist yet, so that of several processes racing for
 * the name exactly one wins and a reader never sees a partial file. The bytes go to a hidden temporary file beside
 * the target first; then:
 *
 * <ul>
 *   <li>on HDFS (and other file systems whose rename refuses an existing file atomically), a rename;
 *   <li>on the local file system, a hard link from the target to the temporary file ({@code link(2)} fails if the
 *       target exists, in one step). Hadoop's local rename would silently replace the target, and its
 *       create-without-overwrite checks then creates, so this is the one place that reaches past
 *       {@code FileSystem} to {@code java.nio}, for {@code file:} paths only;
 *   <li>on S3A a rename is a copy and a delete after an existence check: two racers can both win. Use HDFS or a
 *       local or NFS disk where exclusivity matters (docs/zoo.md).
 * </ul>
 */
final class ExclusiveFile {
  private ExclusiveFile() {}

  /**
   * Writes {@code bytes} to {@code target} if it does not exist.
   *
   * @return false, leaving the existing file untouched, if {@code target} already existed
   */
  static boolean create(FileSystem fs, Path target, byte[] bytes) throws IOException {
    Path temp = new Path(target.getParent(), "." + target.getName() + "."
        + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
    try {
      try (FSDataOutputStream out = fs.create(temp, false)) {
        out.write(bytes);
      }
      return fs instanceof RawLocalFileSystem local ? link(local, temp, target) : rename(fs, temp, target);
    } finally {
      try {
        fs.delete(temp, false); // after a link or a failed rename; a no-op after a rename
      } catch (IOException | RuntimeException e) {
        // a leftover hidden temporary file is harmless; the outcome above is what matters
      }
    }
  }

  private static boolean link(RawLocalFileSystem fs, Path temp, Path target) throws IOException {
    File from = fs.pathToFile(temp), to = fs.pathToFile(target);
    try {
      Files.createLink(to.toPath(), from.toPath());
      return true;
    } catch (FileAlreadyExistsException e) {
      return false;
    } catch (UnsupportedOperationException e) {
      // no hard links on this disk: an existence check then a move, which a racer can slip between
      try {
        Files.move(from.toPath(), to.toPath());
        return true;
      } catch (FileAlreadyExistsException exists) {
        return false;
      }
    }
  }

  private static boolean rename(FileSystem fs, Path temp, Path target) throws IOException {
    if (!ChecksummedJson.missing(fs, target)) return false; // also keeps rename from moving into a directory
    try {
      if (fs.rename(temp, target)) return true;
    } catch (org.apache.hadoop.fs.FileAlreadyExistsException e) {
      return false;
    }
    if (!ChecksummedJson.missing(fs, target)) return false;
    throw new IOException("could not rename " + temp.getName() + " to " + target.getName());
  }
}
