package dev.sparktrain.cli;

import dev.sparktrain.UserError;
import dev.sparktrain.report.MetricsFileReader;
import dev.sparktrain.report.ReportPage;
import dev.sparktrain.report.RecordedRun;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;

/**
 * {@code report RUN... [--out report.html]}: one or more metrics files as one self-contained HTML page (the
 * training report, README "Training report"), without Spark. Every file is read before the page is written, and
 * the page is written atomically, so a bad file leaves no page behind. Warnings (a cut-short last line) go to
 * stderr and are shown on the page.
 */
final class ReportCommand {
  static final String USAGE = "usage: sparktrain report METRICS_FILE... [--out report.html]";
  static final String DEFAULT_OUT = "report.html";

  private ReportCommand() {}

  static Map<String, Object> run(String[] args, PrintStream err) {
    String out = DEFAULT_OUT;
    List<String> files = new ArrayList<>();
    for (int i = 1; i < args.length; i++) {
      if (args[i].equals("--out")) {
        if (i + 1 >= args.length || args[i + 1].isBlank()) throw new UserError("--out: expected a file name; " + USAGE);
        out = args[++i];
      } else if (args[i].startsWith("--out=")) {
        out = args[i].substring("--out=".length());
      } else if (args[i].startsWith("--")) {
        throw new UserError("command line: unknown option '" + args[i] + "'; " + USAGE);
      } else {
        files.add(args[i]);
      }
    }
    if (files.isEmpty()) throw new UserError(USAGE);
    Configuration conf = new Configuration();
    List<String> warnings = new ArrayList<>();
    List<RecordedRun> runs = new ArrayList<>();
    Set<String> names = new HashSet<>();
    for (String f : files) {
      RecordedRun run = MetricsFileReader.read(f, conf, w -> {
        err.println(w);
        warnings.add(w);
      });
      // two files may hold runs of the same name; the charts' legends need distinct ones
      String name = run.name();
      for (int n = 2; !names.add(name); n++) name = run.name() + " #" + n;
      runs.add(name.equals(run.name()) ? run : run.named(name));
    }
    ReportPage.Written w = ReportPage.write(runs, warnings, out, conf);
    err.printf("report: %d run%s, %d charts -> %s%n", w.runs(), w.runs() == 1 ? "" : "s", w.charts(), w.path());
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("report", w.path());
    m.put("runs", w.runs());
    m.put("charts", w.charts());
    m.put("warnings", warnings.size());
    return m;
  }
}
