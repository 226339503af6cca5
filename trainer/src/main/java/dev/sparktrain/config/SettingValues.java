package dev.sparktrain.config;

import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Predicate;

/**
 * The typed values of one reading of a {@link SettingsTable}: one per setting, plus the pass-through entries
 * (such as {@code spark.*}) as given.
 */
public final class SettingValues {
  private final SettingsTable table;
  private Settings settings;
  // a HashMap because a value may be null (no data.shape)
  private final Map<String, Object> values = new HashMap<>();
  private Map<String, String> passThrough = Map.of();

  private SettingValues(SettingsTable table) {
    this.table = table;
  }

  /**
   * Reads the settings of table that which accepts, in table order so that a derived default sees the values
   * declared before it, then (if withPassThrough) the entries under the table's pass-through prefix.
   */
  static SettingValues read(SettingsTable table, Settings settings, Predicate<Setting<?>> which,
                            boolean withPassThrough) {
    SettingValues v = new SettingValues(table);
    v.settings = settings;
    for (Setting<?> setting : table.settings()) {
      if (which.test(setting)) v.values.put(setting.key(), setting.read(settings, v));
    }
    // last, as TrainConfig.from always read them: the order of used keys breaks ties in checkAllUsed's suggestion
    if (withPassThrough) v.passThrough = Collections.unmodifiableMap(settings.withPrefix(table.passThroughPrefix()));
    return v;
  }

  /** The value of a setting of this table; while reading, only those declared before the one being read. */
  @SuppressWarnings("unchecked")  // read() stored setting's own T under its key, and get checks it is that setting
  public <T> T get(Setting<T> setting) {
    if (table.setting(setting.key()) != setting) {
      throw new IllegalArgumentException("setting " + setting.key() + " is not in this table");
    }
    if (!values.containsKey(setting.key())) {
      throw new IllegalStateException(setting.key() + " was not read (a default may use only the settings declared "
          + "before its own; readGroup reads one group)");
    }
    return (T) values.get(setting.key());
  }

  /** The entries under the table's pass-through prefix, in the order given. */
  public Map<String, String> passThrough() {
    return passThrough;
  }

  /** The raw settings these values were read from. */
  public Settings settings() {
    return settings;
  }

  public SettingsTable table() {
    return table;
  }
}
