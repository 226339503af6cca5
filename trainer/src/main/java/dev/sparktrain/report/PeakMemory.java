package dev.sparktrain.report;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The process's peak resident memory (VmHWM of /proc/self/status), reported by commands and benchmarks. */
public final class PeakMemory {
  private PeakMemory() {}

  /** Peak resident set size in MiB, or NaN where /proc is not available. */
  public static double mib() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
      }
    } catch (IOException | RuntimeException e) {
      // not Linux
    }
    return Double.NaN;
  }
}
