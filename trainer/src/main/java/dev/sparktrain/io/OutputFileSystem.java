package dev.sparktrain.io;

import dev.sparktrain.UserError;
import java.io.IOException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.ChecksumFileSystem;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The Hadoop file system to write a path through, without Hadoop's client-side checksum layer: on local disks
 * that layer only litters {@code .crc} side files next to models, CSVs and plots.
 */
public final class OutputFileSystem {
  private OutputFileSystem() {}

  public static FileSystem of(Path path, Configuration conf) throws IOException {
    FileSystem fs = path.getFileSystem(conf);
    return fs instanceof ChecksumFileSystem checksummed ? checksummed.getRawFileSystem() : fs;
  }

  /** The fully qualified path of a user's {@code uri}; a malformed one is a UserError naming it. */
  static Path qualified(String uri, Configuration conf) throws IOException {
    try {
      Path path = new Path(uri);
      return path.getFileSystem(conf).makeQualified(path);
    } catch (IllegalArgumentException e) {
      throw new UserError(uri + ": not a valid path (" + TensorFile.shorten(e.getMessage()) + ")", e);
    }
  }
}
