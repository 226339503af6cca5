package dev.sparktrain.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktrain.UserError;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Random search draws: reproducible, inside their ranges, log-uniform where they should be, layers rewritten. */
class SearchSpaceTest {
  private static final String CNN = "conv(32, 3), batchnorm, relu, maxpool(2), flatten, dense(128), relu, dropout(0.5), dense(10)";

  @Test
  void drawsAreReproducibleAndInsideTheirRanges() {
    SearchSpace s = new SearchSpace(new SearchRange(1e-4, 1e-1, true), new SearchRange(1e-6, 1e-3, true),
        new SearchRange(0.2, 0.6, false), List.of(0.5, 1.0, 2.0), CNN, 42);
    assertEquals(s.sample(3), s.sample(3));
    assertNotEquals(s.sample(3), s.sample(4));
    assertEquals(s.sample(3), new SearchSpace(new SearchRange(1e-4, 1e-1, true), new SearchRange(1e-6, 1e-3, true),
        new SearchRange(0.2, 0.6, false), List.of(0.5, 1.0, 2.0), CNN, 42).sample(3), "only (seed, run) matter");
    int below = 0;
    Set<String> layers = new HashSet<>();
    for (int i = 0; i < 400; i++) {
      Map<String, String> m = s.sample(i);
      double lr = Double.parseDouble(m.get("optimizer.learning_rate"));
      double wd = Double.parseDouble(m.get("optimizer.weight_decay"));
      assertTrue(lr >= 1e-4 * 0.9999 && lr <= 1e-1 * 1.0001, "lr " + lr);
      assertTrue(wd >= 1e-6 * 0.9999 && wd <= 1e-3 * 1.0001, "wd " + wd);
      if (lr < 1e-2) below++;  // log-uniform: two of the three decades
      layers.add(m.get("model.layers"));
      assertTrue(m.get("model.layers").endsWith("dense(10)"), "the output layer keeps the classes: " + m);
    }
    assertTrue(below > 230 && below < 300, "log-uniform learning rates: " + below + " of 400 below 1e-2");
    assertTrue(layers.size() > 50, "dropout and width vary: " + layers.size());
  }

  @Test
  void widthScalesEveryConvAndDenseButTheLast() {
    assertEquals("conv(64, 3), batchnorm, relu, maxpool(2), flatten, dense(256), relu, dropout(0.5), dense(10)",
        SearchSpace.widen(CNN, 2));
    assertEquals("dense(256), relu, dense(128), relu, dense(10)",
        SearchSpace.widen("dense(512), relu, dense(256), relu, dense(10)", 0.5));
  }

  @Test
  void aDropoutRangeNeedsADropoutAndSomethingMustBeSearched() {
    UserError e = assertThrows(UserError.class, () -> new SearchSpace(null, null, new SearchRange(0.1, 0.5, false),
        List.of(), "dense(16), relu, dense(4)", 1));
    assertTrue(e.getMessage().startsWith("search.dropout = 0.1:0.5"), e.getMessage());
    assertThrows(UserError.class, () -> new SearchSpace(null, null, null, List.of(), CNN, 1));
    UserError bad = assertThrows(UserError.class, () -> SearchRange.parse("0.1", true, 0, Double.POSITIVE_INFINITY,
        "search.learning_rate"));
    assertTrue(bad.getMessage().contains("search.learning_rate = 0.1: expected a range lo:hi"), bad.getMessage());
    List<String> errors = new ArrayList<>();
    for (String t : List.of("0:1", "1e-2:1e-3", "x:1")) {
      errors.add(assertThrows(UserError.class, () -> SearchRange.parse(t, true, 0, Double.POSITIVE_INFINITY, "k"))
          .getMessage());
    }
    assertTrue(errors.stream().allMatch(m -> m.startsWith("k = ")), errors.toString());
  }
}
