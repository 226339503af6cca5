package dev.sparktrain.cli;

import dev.sparktrain.UserError;
import dev.sparktrain.io.ModelZoo;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;

/**
 * {@code zoo list ZOO [NAME] | publish ZOO NAME MODEL [key=value ...] | get ZOO REF DEST | promote ZOO REF}: the
 * model zoo (docs/zoo.md) from the command line, through Hadoop's FileSystem, without Spark. REF is NAME,
 * NAME@vN or NAME@latest; publish's key=value pairs go into the manifest (numbers as metrics, text as notes).
 */
final class ZooCommand {
  static final String USAGE = "usage: sparktrain zoo list ZOO [NAME] | publish ZOO NAME MODEL [key=value ...]"
      + " | get ZOO REF DEST | promote ZOO REF";

  private ZooCommand() {}

  static Map<String, Object> run(String[] args) {
    if (args.length < 3) throw new UserError(USAGE);
    ModelZoo zoo = new ModelZoo(args[2], new Configuration());
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("zoo", args[2]);
    switch (args[1]) {
      case "list" -> {
        if (args.length > 4) throw new UserError(USAGE);
        List<Map<String, Object>> versions = new ArrayList<>();
        for (var e : args.length == 4 ? zoo.list(args[3]) : zoo.list()) {
          Map<String, Object> v = new LinkedHashMap<>();
          v.put("name", e.name());
          v.put("version", e.version());
          v.put("latest", e.latest());
          v.put("created", e.manifest().created());
          v.put("layers", e.manifest().architecture().layers());
          v.put("classes", e.manifest().architecture().numClasses());
          Map<String, Object> metrics = new LinkedHashMap<>();
          e.manifest().metrics().forEach((k, x) -> metrics.put(k, Double.isFinite(x) ? x : null));
          v.put("metrics", metrics);
          versions.add(v);
          System.err.printf("%s@%s%s  %s  %s%n", e.name(), e.version(), e.latest() ? " (latest)" : "",
              e.manifest().created(), e.manifest().architecture().layers());
        }
        m.put("versions", versions);
      }
      case "publish" -> {
        if (args.length < 5) throw new UserError(USAGE);
        Map<String, Object> extra = new LinkedHashMap<>();
        for (int i = 5; i < args.length; i++) {
          int eq = args[i].indexOf('=');
          if (eq <= 0) throw new UserError("zoo publish: expected key=value, got '" + args[i] + "'");
          String k = args[i].substring(0, eq), v = args[i].substring(eq + 1);
          try {
            extra.put(k, Double.parseDouble(v));
          } catch (NumberFormatException e) {
            extra.put(k, v);
          }
        }
        var v = zoo.publish(args[3], args[4], extra);
        m.put("published", v.ref());
        m.put("model", v.modelPath());
        m.put("sha256", v.manifest().modelSha256());
      }
      case "get" -> {
        if (args.length != 5) throw new UserError(USAGE);
        m.put("ref", zoo.resolve(args[3]).ref());
        m.put("model", zoo.get(args[3], args[4]));
      }
      case "promote" -> {
        if (args.length != 4) throw new UserError(USAGE);
        m.put("latest", zoo.promote(args[3]).ref());
      }
      default -> throw new UserError(USAGE);
    }
    return m;
  }
}
