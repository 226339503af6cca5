// Writes a whole file atomically through Hadoop's FileSystem: a hidden temporary file beside it, then a rename.
package dev.sparktrain.io;

import dev.sparktrain.UserError;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.OutputStream;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileAlreadyExistsException;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.StreamCapabilities;

/**
 * Writes files so that a reader sees the old complete file or the new complete one, never a partial one: the
 * content goes to a hidden temporary file in the target's directory, which is synced where the stream can, then
 * renamed over the target. On failure the temporary file is deleted and an existing target is left as it was.
 * The raw file system is used ({@link OutputFileSystem}), so no {@code .crc} side files appear.
 */
public final class AtomicWrite {
  /** What goes into the file; the stream is closed by {@link #write}. */
  @FunctionalInterface
  public interface Content {
    void writeTo(OutputStream out) throws IOException;
  }

  private AtomicWrite() {}

  /**
   * Writes {@code content} to {@code uri}, atomically.
   *
   * @throws UserError naming {@code uri} if the file cannot be written; the previous file, if any, is then unchanged
   */
  public static void write(String uri, Configuration conf, Content content) {
    FileSystem fs = null;
    Path temp = null;
    try {
      Path target = OutputFileSystem.qualified(uri, conf);
      fs = OutputFileSystem.of(target, conf);
      refuseDirectory(uri, fs, target);
      temp = tempFileFor(target);
      try (FSDataOutputStream out = fs.create(temp, false)) {
        content.writeTo(out);
        out.flush();
        if (out.hasCapability(StreamCapabilities.HSYNC)) out.hsync(); // durable before it becomes visible
      }
      replace(fs, temp, target);
      temp = null;
    } catch (IOException e) {
      throw new UserError(uri + ": cannot write (" + TensorFile.describe(e) + ")", e);
    } finally {
      if (temp != null) deleteQuietly(fs, temp);
    }
  }

  /** A hidden name beside the target: Hadoop and Spark input formats skip files starting with a dot. */
  private static Path tempFileFor(Path target) {
    String suffix = Long.toHexString(ThreadLocalRandom.current().nextLong());
    return new Path(target.getParent(), "." + target.getName() + "." + suffix + ".tmp");
  }

  private static void refuseDirectory(String uri, FileSystem fs, Path target) throws IOException {
    try {
      if (fs.getFileStatus(target).isDirectory()) throw new UserError(uri + ": is a directory; give a file name");
    } catch (FileNotFoundException e) {
      // a new file
    }
  }

  /**
   * Moves {@code temp} over {@code target}. Local file systems replace the target in one step; HDFS and S3A
   * refuse to rename onto a file, so there the old file is deleted first (a reader may briefly find no file).
   */
  private static void replace(FileSystem fs, Path temp, Path target) throws IOException {
    try {
      if (fs.rename(temp, target)) return;
    } catch (FileAlreadyExistsException e) {
      // some file systems throw instead of returning false; fall through to delete-then-rename
    }
    if (fs.exists(target) && fs.delete(target, false) && fs.rename(temp, target)) return;
    throw new IOException("could not rename " + temp.getName() + " to " + target.getName());
  }

  private static void deleteQuietly(FileSystem fs, Path temp) {
    try {
      fs.delete(temp, false);
    } catch (IOException | RuntimeException e) {
      // the write already failed; that error is the one to report
    }
  }
}
