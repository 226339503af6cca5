package dev.sparktrain.config;

import java.util.Objects;
import java.util.function.DoublePredicate;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * One setting, declared once: its key, its default, how it is read and validated, how its value is written in a
 * resolved config, and whether a resumed run may change it.
 *
 * <p>The readers are those of {@link Settings}, so an error names the key, the bad value and where it was set. A
 * default may depend on settings declared before this one in the {@link SettingsTable}.
 *
 * @param key the name in conf files, e.g. {@code train.epochs}
 * @param dflt the default, from the values read before this one
 * @param reader parses and validates the value, given the default
 * @param format the value as written in the resolved config of a saved model or checkpoint
 * @param onResume whether the value must match between a checkpoint's run and the resumed run
 */
public record Setting<T>(String key, Function<SettingValues, ? extends T> dflt, Reader<T> reader,
                         Function<? super T, String> format, OnResume onResume) {

  /** Reads a setting's value from the raw settings, or returns the default when it is absent. */
  @FunctionalInterface
  public interface Reader<T> {
    T read(Settings settings, String key, T dflt);
  }

  /** Whether a resumed run must use the checkpoint's value, or may use another. */
  public enum OnResume { MUST_MATCH, MAY_DIFFER }

  public Setting {
    if (key == null || !key.matches("[A-Za-z0-9_.\\-]+")) {
      throw new IllegalArgumentException("bad setting key '" + key + "'");
    }
    Objects.requireNonNull(dflt, key + ": no default");
    Objects.requireNonNull(reader, key + ": no reader");
    Objects.requireNonNull(format, key + ": no format");
    Objects.requireNonNull(onResume, key + ": no resume policy");
  }

  /** A setting read by reader and written by format, with a fixed default (null allowed, e.g. no shape). */
  public static <T> Setting<T> of(String key, T dflt, Reader<T> reader, Function<? super T, String> format) {
    return new Setting<>(key, earlier -> dflt, reader, format, OnResume.MUST_MATCH);
  }

  /** An integer of at least min. */
  public static Setting<Integer> integer(String key, int dflt, int min) {
    return of(key, dflt, (s, k, d) -> s.integer(k, d, min), Object::toString);
  }

  public static Setting<Long> longValue(String key, long dflt) {
    return of(key, dflt, Settings::longValue, Object::toString);
  }

  /** A number that must satisfy valid, described by rule in the error ("a positive number"). */
  public static Setting<Double> number(String key, double dflt, DoublePredicate valid, String rule) {
    return of(key, dflt, (s, k, d) -> s.number(k, d, valid, rule), Object::toString);
  }

  /** Any number; a record's constructor checks its range, if it has one. */
  public static Setting<Double> number(String key, double dflt) {
    return number(key, dflt, x -> true, "");
  }

  public static Setting<Boolean> bool(String key, boolean dflt) {
    return of(key, dflt, Settings::bool, Object::toString);
  }

  public static Setting<String> string(String key, String dflt) {
    return of(key, dflt, Settings::string, v -> v);
  }

  /** This setting with a default computed from settings declared before it in the table. */
  public Setting<T> defaultFrom(Function<SettingValues, ? extends T> dflt) {
    return new Setting<>(key, dflt, reader, format, onResume);
  }

  /** This setting with its value passed through normalize once read (e.g. lower case), default included. */
  public Setting<T> normalized(UnaryOperator<T> normalize) {
    Reader<T> r = reader;
    return new Setting<>(key, dflt, (s, k, d) -> normalize.apply(r.read(s, k, d)), format, onResume);
  }

  /** This setting with an empty value ({@code key =}) meaning the default, as an absent key does. */
  public Setting<T> blankMeansDefault() {
    Reader<T> r = reader;
    return new Setting<>(key, dflt, (s, k, d) -> {
      String v = s.string(k, null);
      return v == null || v.isBlank() ? d : r.read(s, k, d);
    }, format, onResume);
  }

  /** This setting, which a resumed run may change (where things go, how they are computed, not what). */
  public Setting<T> mayDifferOnResume() {
    return new Setting<>(key, dflt, reader, format, OnResume.MAY_DIFFER);
  }

  /** Reads the value from settings; earlier holds the settings declared before this one, for the default. */
  T read(Settings settings, SettingValues earlier) {
    return reader.read(settings, key, dflt.apply(earlier));
  }

  /** This setting's value in values, formatted for the resolved config. */
  String formatted(SettingValues values) {
    return format.apply(values.get(this));
  }
}
