package dev.sparktrain.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktrain.UserError;
import dev.sparktrain.config.Settings;
import dev.sparktrain.config.TrainConfig;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** How ensemble.vary turns one config into members: by seed, by listed overrides, by random search. */
class EnsembleMembersTest {
  private static TrainConfig cfg(Map<String, String> s) {
    Map<String, String> all = new java.util.HashMap<>(s);
    all.put("data.dataset", "fashion-mnist");  // named, not read
    return TrainConfig.from(Settings.of(all));
  }

  @Test
  void seedMembersShiftBothSeedsAndKeepTheSplit() {
    var m = EnsembleJob.members(cfg(Map.of("train.seed", "7", "train.order_seed", "100", "ensemble.members", "3")));
    assertEquals(List.of("member-0", "member-1", "member-2"), m.stream().map(EnsembleJob.MemberSpec::name).toList());
    assertEquals(Map.of("train.init_seed", "9", "train.order_seed", "102"), m.get(2).overrides());
  }

  @Test
  void overrideMembersAreSplitBySemicolonsAndBars() {
    var m = EnsembleJob.members(cfg(Map.of("ensemble.vary", "overrides", "ensemble.overrides",
        "optimizer.learning_rate=0.05 | model.layers=dense(8), relu, dense(10); optimizer.learning_rate=0.02")));
    assertEquals(2, m.size());
    assertEquals(Map.of("optimizer.learning_rate", "0.05", "model.layers", "dense(8), relu, dense(10)"),
        m.get(0).overrides());
    assertEquals(Map.of("optimizer.learning_rate", "0.02"), m.get(1).overrides());
    UserError e = assertThrows(UserError.class, () -> EnsembleJob.members(cfg(Map.of("ensemble.vary", "overrides",
        "ensemble.overrides", "optimizer.learning_rate=0.05; train.epochs"))));
    assertTrue(e.getMessage().contains("ensemble.overrides: member 1: expected key=value, got 'train.epochs'"),
        e.getMessage());
    assertThrows(UserError.class, () -> EnsembleJob.members(cfg(Map.of("ensemble.vary", "overrides"))));
  }

  @Test
  void searchMembersAreTheSearchSpacesDraws() {
    var c = cfg(Map.of("ensemble.vary", "search", "ensemble.members", "4", "search.learning_rate", "1e-4:1e-2"));
    var m = EnsembleJob.members(c);
    assertEquals(4, m.size());
    for (int i = 0; i < 4; i++) {
      assertEquals(dev.sparktrain.config.SearchSpace.of(c).sample(i), m.get(i).overrides());
      double lr = Double.parseDouble(m.get(i).overrides().get("optimizer.learning_rate"));
      assertTrue(lr >= 1e-4 * 0.9999 && lr <= 1e-2 * 1.0001, "lr " + lr);
    }
    UserError bad = assertThrows(UserError.class, () -> cfg(Map.of("ensemble.vary", "bagging")));
    assertTrue(bad.getMessage().contains("ensemble.vary = bagging: expected one of seed, overrides, search"),
        bad.getMessage());
  }
}
