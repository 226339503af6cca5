package dev.sparktrain.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.sparktrain.UserError;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One declaration per setting is enough for it to be read, resolved and checked on resume. */
class SettingsTableTest {
  @TempDir Path dir;

  private String conf(String name, String text) throws Exception {
    return Files.writeString(dir.resolve(name), text).toString();
  }

  private static TrainConfig standard(Map<String, String> settings) {
    Map<String, String> all = new LinkedHashMap<>(Map.of("data.dataset", "fashion-mnist"));
    all.putAll(settings);
    return TrainConfig.from(Settings.of(all));
  }

  private static TrainConfig shipped(String name) {
    return TrainConfig.from(Settings.load("../conf/" + name + ".conf", List.of()));
  }

  private static Map<String, String> with(Map<String, String> m, String key, String value) {
    Map<String, String> out = new LinkedHashMap<>(m);
    out.put(key, value);
    return out;
  }

  @Test
  void settingAddedOnlyToTheTableIsParsedResolvedAndCheckedOnResume() throws Exception {
    Setting<Integer> knob = Setting.integer("train.extra_knob", 3, 0);
    Setting<String> note = Setting.string("train.extra_note", "").mayDifferOnResume();
    SettingsTable table = SettingsTable.STANDARD.with(knob, note);
    String path = conf("job.conf", "data.dataset = fashion-mnist\ntrain.extra_knob = 7\ntrain.extra_note = first run\n");

    TrainConfig cfg = TrainConfig.from(Settings.load(path, List.of()), table);
    assertEquals(7, cfg.get(knob));
    assertEquals("first run", cfg.get(note));
    assertEquals("7", cfg.resolved().get("train.extra_knob"));
    assertEquals(table, cfg.table());
    assertEquals(3, TrainConfig.from(Settings.of(Map.of("data.dataset", "fashion-mnist")), table).get(knob));

    Map<String, String> now = cfg.resolved();
    assertEquals(Optional.empty(), table.resumeDifference(now, now));
    assertEquals(Optional.of("train.extra_knob"), table.resumeDifference(with(now, "train.extra_knob", "5"), now));
    assertEquals(Optional.empty(), table.resumeDifference(with(now, "train.extra_note", "second run"), now));

    String bad = conf("bad.conf", "data.dataset = fashion-mnist\ntrain.extra_knob = -1\n");
    assertEquals(bad + ":2: train.extra_knob = -1: must be at least 0", assertThrows(UserError.class,
        () -> TrainConfig.from(Settings.load(bad, List.of()), table)).getMessage());
    assertEquals(path + ":2: unknown setting 'train.extra_knob'", assertThrows(UserError.class,
        () -> TrainConfig.from(Settings.load(path, List.of()))).getMessage());
    TrainConfig withoutKnob = TrainConfig.from(Settings.of(Map.of("data.dataset", "fashion-mnist")),
        SettingsTable.STANDARD.with(note));
    assertThrows(IllegalArgumentException.class, () -> withoutKnob.get(knob));
  }

  @Test
  void anAddedSettingMayDeriveItsDefaultFromAnEarlierOne() {
    Setting<Integer> twice = Setting.integer("train.extra_batch", 0, 0)
        .defaultFrom(v -> 2 * v.get(SettingsTable.TRAIN_BATCH_SIZE));
    SettingsTable table = SettingsTable.STANDARD.with(twice);
    assertEquals(256, TrainConfig.from(Settings.of(Map.of("data.dataset", "fashion-mnist")), table).get(twice));
    assertEquals(100, TrainConfig.from(Settings.of(Map.of("data.dataset", "fashion-mnist", "train.batch_size", "50")),
        table).get(twice));
    assertEquals(5, TrainConfig.from(Settings.of(Map.of("data.dataset", "fashion-mnist", "train.extra_batch", "5")),
        table).get(twice));
  }

  @Test
  void aTableRejectsATwiceDeclaredKeyAndOneUnderThePassThroughPrefix() {
    assertThrows(IllegalArgumentException.class, () -> SettingsTable.STANDARD.with(Setting.integer("train.epochs", 1, 1)));
    assertThrows(IllegalArgumentException.class, () -> SettingsTable.STANDARD.with(Setting.string("spark.master", "")));
    assertThrows(IllegalArgumentException.class, () -> Setting.integer("train epochs", 1, 1));
  }

  @Test
  void seedsDefaultToTrainSeedAndCanBeSetApart() {
    TrainConfig same = standard(Map.of("train.seed", "7", "train.init_seed", "", "data.split_seed", " "));
    assertEquals(7, same.training().seed());
    assertEquals(7, same.training().initSeed());
    assertEquals(7, same.training().orderSeed());
    assertEquals(7, same.data().splitSeed());
    for (String key : List.of("train.seed", "train.init_seed", "train.order_seed", "data.split_seed")) {
      assertEquals("7", same.resolved().get(key), key);
    }

    TrainConfig apart = standard(Map.of("train.seed", "7", "train.init_seed", "1", "train.order_seed", "2",
        "data.split_seed", "-3"));
    assertEquals(7, apart.training().seed());
    assertEquals(1, apart.training().initSeed());
    assertEquals(2, apart.training().orderSeed());
    assertEquals(-3, apart.data().splitSeed());
    assertEquals(1L, apart.get(SettingsTable.TRAIN_INIT_SEED));
    assertEquals("-3", apart.resolved().get("data.split_seed"));

    // every seed must match on resume
    SettingsTable table = SettingsTable.STANDARD;
    for (String key : List.of("train.seed", "train.init_seed", "train.order_seed", "data.split_seed")) {
      assertEquals(Optional.of(key), table.resumeDifference(with(apart.resolved(), key, "99"), apart.resolved()));
    }
    assertEquals("settings: train.order_seed = two: not an integer",
        assertThrows(UserError.class, () -> standard(Map.of("train.order_seed", "two"))).getMessage());
  }

  @Test
  void oldSavedConfigWithoutTheNewSeedsAndWithFaultsStillResumes() {
    Map<String, String> now = shipped("fashion-mlp").resolved();
    Map<String, String> old = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : now.entrySet()) {
      if (e.getKey().equals("train.heap_log_every")) {  // where an older version wrote them
        old.put("faults.task_failure_fraction", "0.0");
        old.put("faults.nan_at_step", "-1");
      }
      if (!List.of("train.init_seed", "train.order_seed", "data.split_seed").contains(e.getKey())) {
        old.put(e.getKey(), e.getValue());
      }
    }
    SettingsTable table = SettingsTable.STANDARD;
    assertEquals(Optional.empty(), table.resumeDifference(old, now));
    // the missing seeds resolve to the saved train.seed, so a run with other seeds may not resume it
    assertEquals(Optional.of("train.init_seed"), table.resumeDifference(old, with(now, "train.init_seed", "5")));
    assertEquals(Optional.of("data.split_seed"), table.resumeDifference(old, with(now, "data.split_seed", "5")));
    assertEquals(Optional.of("train.seed"), table.resumeDifference(with(old, "train.seed", "41"), now));
  }

  @Test
  void resumeComparesNormalizedValuesAndIgnoresWhatMayDiffer() {
    TrainConfig cfg = shipped("fashion-cnn");
    Map<String, String> now = cfg.resolved();
    SettingsTable table = cfg.table();
    Map<String, String> saved = with(with(with(now, "data.standardize", "Channel"), "optimizer.learning_rate",
        "0.0500"), "optimizer.name", " SGD ");
    assertEquals(Optional.of("optimizer.name"), table.resumeDifference(saved, now));
    assertEquals(Optional.empty(), table.resumeDifference(with(saved, "optimizer.name", "Nesterov"), now));

    Map<String, String> elsewhere = new LinkedHashMap<>(now);
    for (String key : List.of("checkpoint.dir", "model.path", "predict.output", "compare.output", "train.engine")) {
      elsewhere.put(key, key.equals("train.engine") ? "threads" : "/somewhere/else");
    }
    elsewhere.put("spark.master", "local[2]");
    elsewhere.put("spark.executor.memory", "2g");
    assertEquals(Optional.empty(), table.resumeDifference(elsewhere, now));
    assertEquals(Optional.of("optimizer.momentum"), table.resumeDifference(with(now, "optimizer.momentum", "0.5"), now));
  }

  @Test
  void onlyWhereThingsGoAndHowTheyAreComputedMayDifferOnResume() {
    Set<String> mayDiffer = new TreeSet<>();
    for (Setting<?> s : SettingsTable.STANDARD.settings()) {
      if (s.onResume() == Setting.OnResume.MAY_DIFFER) mayDiffer.add(s.key());
    }
    assertEquals(new TreeSet<>(List.of("model.path", "train.heap_log_every", "train.engine", "train.transport", "train.reduce", "train.step_encryption",
        "train.step_timeout", "train.step_port", "train.step_advertise",
        "checkpoint.dir", "checkpoint.every", "checkpoint.every_minutes", "checkpoint.keep", "checkpoint.resume",
        "data.storage_level", "data.pixel_type", "finetune.zoo", "pretrain.zoo", "pretrain.name",
        "pretrain.lease_timeout", "pretrain.heartbeat",
        "predict.output", "predict.tta", "predict.tta_pad",
        "compare.runs", "compare.learning_rates", "compare.output", "compare.concurrency", "snapshot.output",
        "ensemble.members", "ensemble.vary", "ensemble.overrides", "ensemble.weighting", "ensemble.min_members",
        "ensemble.concurrency", "ensemble.output", "search.runs", "search.learning_rate", "search.weight_decay",
        "search.dropout", "search.width", "search.output", "lr_range.min_lr", "lr_range.max_lr", "lr_range.steps",
        "lr_range.output", "metrics.path", "progress.every_seconds")), mayDiffer);
    assertEquals("spark.", SettingsTable.STANDARD.passThroughPrefix());
  }

  @Test
  void shippedMlpConfigResolvesAsWritten() {
    Map<String, String> r = shipped("fashion-mlp").resolved();
    Map<String, String> expected = new LinkedHashMap<>();
    expected.put("data.format", "idx");
    expected.put("data.shape", "");
    expected.put("data.augment", "none");
    expected.put("data.split_seed", "42");
    expected.put("model.init", "he");
    expected.put("model.stochastic_depth", "1.0");
    expected.put("train.seed", "42");
    expected.put("train.init_seed", "42");
    expected.put("train.order_seed", "42");
    expected.put("optimizer.name", "adam");
    expected.put("optimizer.eps", "1.0E-8");
    expected.put("optimizer.weight_decay", "0.0");
    expected.put("schedule.milestones", "");
    expected.put("schedule.decay", "1.0");
    expected.put("plateau.threshold", "1.0E-4");
    expected.put("predict.tta", "none");
    expected.put("compare.runs", "sgd, momentum, nesterov, adagrad, rmsprop, adam");
    expected.put("compare.learning_rates", "0.05, 0.01, 0.01, 0.01, 0.001, 0.001");
    expected.put("spark.master", "local[*]");
    Map<String, String> actual = new LinkedHashMap<>();
    for (String key : expected.keySet()) actual.put(key, r.get(key));
    assertEquals(expected, actual);

    List<String> keys = new ArrayList<>(r.keySet());
    assertEquals("data.format", keys.get(0));
    assertEquals(List.of("train.seed", "train.init_seed", "train.order_seed", "data.split_seed"),
        keys.subList(keys.indexOf("train.seed"), keys.indexOf("train.seed") + 4));
    assertEquals("pretrain.heartbeat", keys.get(keys.indexOf("spark.master") - 1));
    assertFalse(keys.stream().anyMatch(k -> k.startsWith("faults.")), keys.toString());
    assertEquals("0.01", standard(Map.of("optimizer.name", "adamw")).resolved().get("optimizer.weight_decay"));
  }

  @Test
  void normalizingAResolvedConfigChangesNothing() {
    for (String name : List.of("fashion-mlp", "fashion-cnn", "fashion-resnet", "fashion-fmp")) {
      Map<String, String> r = shipped(name).resolved();
      assertEquals(r, SettingsTable.STANDARD.normalize(r), name);
    }
    Map<String, String> r = standard(Map.of("data.shape", "1 x 28 x 28", "data.augment", "Crop(2), jitter(0.1, 0.2)",
        "schedule.name", "MultiStep", "schedule.milestones", "2, 5", "predict.tta", "CROP10")).resolved();
    assertEquals("1x28x28", r.get("data.shape"));
    assertEquals("multistep", r.get("schedule.name"));
    assertEquals("2,5", r.get("schedule.milestones"));
    assertEquals(r, SettingsTable.STANDARD.normalize(r));
  }
}
