package dev.sparktrain.io;

import dev.sparktrain.UserError;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A text file of lines on any Hadoop path, read whole and rewritten whole through {@link AtomicWrite}: a reader
 * never sees a half-written file, on file systems without append (s3a) too. The metrics file is one.
 */
public final class LinesFile {
  private LinesFile() {}

  /** The file's lines; empty when it does not exist. A last line without its newline (a torn write) is dropped. */
  public static List<String> read(String uri, Configuration conf) {
    List<String> lines = new ArrayList<>();
    String text;
    try {
      text = text(uri, conf);
    } catch (IOException e) {
      throw new UserError(uri + ": cannot read (" + TensorFile.describe(e) + ")", e);
    }
    if (text == null) return lines;
    text.lines().filter(l -> !l.isBlank()).forEach(lines::add);
    if (!text.isEmpty() && !text.endsWith("\n") && !lines.isEmpty()) lines.remove(lines.size() - 1);
    return lines;
  }

  /** The whole file as UTF-8 text, as written (a torn last line included); null when it does not exist. */
  public static String text(String uri, Configuration conf) throws IOException {
    try {
      Path path = OutputFileSystem.qualified(uri, conf);
      FileSystem fs = OutputFileSystem.of(path, conf);
      if (!fs.exists(path)) return null;
      try (var in = fs.open(path)) {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
      }
    } catch (FileNotFoundException e) {
      return null;
    }
  }

  /** Replaces the file with these lines, each ending in a newline, atomically. */
  public static void write(String uri, Configuration conf, List<String> lines) {
    AtomicWrite.write(uri, conf, out -> {
      Writer w = new java.io.OutputStreamWriter(out, StandardCharsets.UTF_8);
      for (String l : lines) w.write(l + "\n");
      w.flush();
    });
  }
}
