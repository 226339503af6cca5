package dev.sparktrain.io;

import dev.sparktrain.UserError;
import java.io.BufferedReader;
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
    try {
      Path path = OutputFileSystem.qualified(uri, conf);
      FileSystem fs = OutputFileSystem.of(path, conf);
      if (!fs.exists(path)) return lines;
      String text;
      try (var in = fs.open(path)) {
        text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      }
      try (BufferedReader r = new BufferedReader(new java.io.StringReader(text))) {
        for (String l = r.readLine(); l != null; l = r.readLine()) if (!l.isBlank()) lines.add(l);
      }
      if (!text.isEmpty() && !text.endsWith("\n") && !lines.isEmpty()) lines.remove(lines.size() - 1);
      return lines;
    } catch (FileNotFoundException e) {
      return lines;
    } catch (IOException e) {
      throw new UserError(uri + ": cannot read (" + TensorFile.describe(e) + ")", e);
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
