package dev.sparktrain.config;

import dev.sparktrain.UserError;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.DoublePredicate;

/**
 * The raw settings of a job: {@code key = value} lines of a conf file ({@code #} starts a comment), then
 * {@code key=value} overrides from the command line. Each value remembers where it came from, so that an error
 * can say "conf/x.conf:12" or "command line". Every key must be consumed, or {@link #checkAllUsed} names it.
 */
public final class Settings {
  /** A value and its source. */
  public record Entry(String value, String source) {}

  private final Map<String, Entry> entries = new LinkedHashMap<>();
  private final Set<String> used = new LinkedHashSet<>();

  public static Settings load(String confFile, List<String> overrides) {
    Settings s = new Settings();
    if (confFile != null) s.readFile(Path.of(confFile));
    for (String o : overrides) s.put(o, "command line");
    return s;
  }

  public static Settings of(Map<String, String> values) {
    Settings s = new Settings();
    values.forEach((k, v) -> s.entries.put(k, new Entry(v, "settings")));
    return s;
  }

  /**
   * Settings written as a conf file's text (key = value per line, '#' comments), read exactly as a file is, or as
   * one line of settings separated by ';'. Errors name source and line, as for a file (a spark.ml estimator's
   * config param, say). Only a one-line text is split at ';', so that values which hold ';' themselves
   * (ensemble.overrides) keep it in a conf file's text.
   */
  public static Settings parse(String text, String source) {
    Settings s = new Settings();
    List<String> lines = text.lines().toList();
    if (lines.size() == 1) {
      for (String part : uncommented(lines.get(0)).split(";")) if (!part.isBlank()) s.put(part, source + ":1");
    } else {
      s.putLines(lines, source);
    }
    return s;
  }

  /** These settings with some values replaced or added (source "override"); nothing is marked used. */
  public Settings withOverrides(Map<String, String> overrides) {
    Settings s = new Settings();
    s.entries.putAll(entries);
    overrides.forEach((k, v) -> s.entries.put(k, new Entry(v, "override")));
    return s;
  }

  private void readFile(Path file) {
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new UserError(file + ": config file not found");
    } catch (IOException e) {
      throw new UserError(file + ": cannot read config file: " + e.getMessage());
    }
    putLines(lines, file.toString());
  }

  /** Each line a key = value (or blank, or a comment); its source is source:line. */
  private void putLines(List<String> lines, String source) {
    for (int i = 0; i < lines.size(); i++) {
      String line = uncommented(lines.get(i));
      if (!line.isBlank()) put(line, source + ":" + (i + 1));
    }
  }

  private static String uncommented(String line) {
    int hash = line.indexOf('#');
    return hash >= 0 ? line.substring(0, hash) : line;
  }

  private void put(String assignment, String source) {
    int eq = assignment.indexOf('=');
    if (eq <= 0) throw new UserError(source + ": expected key = value, got '" + assignment.trim() + "'");
    String key = assignment.substring(0, eq).trim();
    if (!key.matches("[A-Za-z0-9_.\\-]+")) throw new UserError(source + ": bad setting name '" + key + "'");
    entries.put(key, new Entry(assignment.substring(eq + 1).trim(), source));
  }

  public boolean has(String key) {
    return entries.containsKey(key);
  }

  /** Where a key's value came from, for error messages. */
  public String where(String key) {
    Entry e = entries.get(key);
    return e == null ? "default " + key : e.source() + ": " + key;
  }

  public String string(String key, String dflt) {
    used.add(key);
    Entry e = entries.get(key);
    return e == null ? dflt : e.value();
  }

  public int integer(String key, int dflt, int min) {
    String v = string(key, null);
    if (v == null) return dflt;
    int x;
    try {
      x = Integer.parseInt(v);
    } catch (NumberFormatException e) {
      throw new UserError(where(key) + " = " + v + ": not an integer");
    }
    if (x < min) throw new UserError(where(key) + " = " + v + ": must be at least " + min);
    return x;
  }

  public long longValue(String key, long dflt) {
    String v = string(key, null);
    if (v == null) return dflt;
    try {
      return Long.parseLong(v);
    } catch (NumberFormatException e) {
      throw new UserError(where(key) + " = " + v + ": not an integer");
    }
  }

  /** A number that must satisfy valid, described by rule in the error ("a positive number"). */
  public double number(String key, double dflt, DoublePredicate valid, String rule) {
    String v = string(key, null);
    if (v == null) return dflt;
    double x;
    try {
      x = Double.parseDouble(v);
    } catch (NumberFormatException e) {
      throw new UserError(where(key) + " = " + v + ": not a number");
    }
    if (!valid.test(x)) throw new UserError(where(key) + " = " + v + ": must be " + rule);
    return x;
  }

  public boolean bool(String key, boolean dflt) {
    String v = string(key, null);
    if (v == null) return dflt;
    return switch (v.toLowerCase(java.util.Locale.ROOT)) {
      case "true", "yes", "on" -> true;
      case "false", "no", "off" -> false;
      default -> throw new UserError(where(key) + " = " + v + ": expected true or false");
    };
  }

  /** Every entry whose key starts with prefix (for pass-through settings such as spark.*), marked as used. */
  public Map<String, String> withPrefix(String prefix) {
    Map<String, String> out = new LinkedHashMap<>();
    entries.forEach((k, e) -> {
      if (k.startsWith(prefix)) {
        used.add(k);
        out.put(k, e.value());
      }
    });
    return out;
  }

  /**
   * Builds a record whose constructor validates with "key = value: rule" messages, and prefixes such a message
   * with where the key was set ("conf/x.conf:12: optimizer.beta1 = 1.0: must be in [0, 1)").
   */
  public <T> T withSources(java.util.function.Supplier<T> make) {
    try {
      return make.get();
    } catch (UserError e) {
      String msg = e.getMessage();
      int eq = msg.indexOf(" = ");
      if (eq < 0) throw e;
      String key = msg.substring(0, eq);
      if (!entries.containsKey(key)) throw e;
      throw new UserError(where(key) + msg.substring(eq));
    }
  }

  /** Fails on the first key that nothing consumed, with a suggestion when a known key is close. */
  public void checkAllUsed() {
    for (Map.Entry<String, Entry> e : entries.entrySet()) {
      if (used.contains(e.getKey())) continue;
      String hint = closest(e.getKey());
      throw new UserError(e.getValue().source() + ": unknown setting '" + e.getKey() + "'"
          + (hint == null ? "" : " (did you mean '" + hint + "'?)"));
    }
  }

  private String closest(String key) {
    String best = null;
    int bestD = 4;
    for (String k : used) {
      int d = editDistance(key, k);
      if (d < bestD) {
        bestD = d;
        best = k;
      }
    }
    return best;
  }

  static int editDistance(String a, String b) {
    int[] prev = new int[b.length() + 1], cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) prev[j] = j;
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
        cur[j] = Math.min(sub, Math.min(prev[j] + 1, cur[j - 1] + 1));
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }
}
