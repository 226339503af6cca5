package dev.sparktrain.report;

import dev.sparktrain.UserError;
import dev.sparktrain.io.OutputFileSystem;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Writes a report's CSV file (a header line, then one line per row) through Hadoop's FileSystem, so any path
 * works; numbers are written in full precision, NaN as an empty field.
 */
public final class CsvFile {
  private CsvFile() {}

  /** Writes header and rows to file, replacing it; a failure is a UserError naming the file. */
  public static void write(String file, String header, List<String> rows, Configuration conf) {
    Path path = new Path(file);
    try {
      FileSystem fs = OutputFileSystem.of(path, conf);
      try (OutputStream raw = fs.create(path, true);
           PrintWriter w = new PrintWriter(new OutputStreamWriter(raw, StandardCharsets.UTF_8))) {
        w.println(header);
        for (String row : rows) w.println(row);
      }
    } catch (IOException e) {
      throw new UserError(file + ": cannot write (" + e.getMessage() + ")");
    }
  }

  /** A number as a field: Java's shortest round-trip form, empty for NaN. */
  public static String field(double v) {
    return Double.isNaN(v) ? "" : Double.toString(v);
  }
}
