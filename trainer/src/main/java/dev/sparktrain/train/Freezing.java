package dev.sparktrain.train;

import dev.sparktrain.UserError;
import dev.sparktrain.nn.Network;
import java.util.Arrays;

/**
 * Which layers of a fit are frozen and how fast the others learn (fine-tuning): the first {@code frozenLayers}
 * layers compute no gradient and send none, get no update and no weight decay; {@code layerMultipliers} (one per
 * layer) scales each layer's step. A fit with {@link #active()} false trains every layer at the schedule's rate and
 * builds no masks.
 *
 * <p>lrMult is written {@code FROM[-TO]:M, ...} over layer indices (0-based, TO inclusive), e.g.
 * {@code 0-5:0.1, 6-7:0.3}; layers not named keep 1.
 */
public record Freezing(int frozenLayers, float[] layerMultipliers, boolean active) {

  /** The settings' freezing: freezeUntil = −1 means every layer but the last (the head). */
  public static Freezing of(int freezeUntil, String lrMult, boolean fineTuning, int layers) {
    int frozen = freezeUntil == -1 ? (fineTuning ? layers - 1 : 0) : freezeUntil;
    if (frozen < 0 || frozen >= layers) {
      throw new UserError("finetune.freeze_until = " + freezeUntil + ": the network has " + layers
          + " layers (0–" + (layers - 1) + "), and at least the last must train");
    }
    return new Freezing(frozen, multipliers(lrMult, layers), fineTuning || frozen > 0 || !lrMult.isBlank());
  }

  /** Each parameter's learning-rate multiplier, from its layer's. */
  public float[] multipliers(Network network) {
    int layers = layerMultipliers.length;
    float[] m = new float[network.paramCount()];
    for (int l = 0; l < layers; l++) {
      int to = l + 1 < layers ? network.offset(l + 1) : network.paramCount();
      Arrays.fill(m, network.offset(l), to, layerMultipliers[l]);
    }
    return m;
  }

  static float[] multipliers(String text, int layers) {
    float[] m = new float[layers];
    Arrays.fill(m, 1f);
    if (text == null || text.isBlank()) return m;
    for (String part : text.split(",")) {
      String p = part.trim();
      if (p.isEmpty()) continue;
      String[] kv = p.split(":");
      try {
        if (kv.length != 2) throw new NumberFormatException();
        String[] range = kv[0].trim().split("-");
        int from = Integer.parseInt(range[0].trim()), to = range.length == 2 ? Integer.parseInt(range[1].trim()) : from;
        float v = Float.parseFloat(kv[1].trim());
        if (range.length > 2 || from < 0 || to < from || to >= layers) {
          throw new UserError("finetune.lr_mult = " + text + ": layers " + kv[0].trim() + " are not within 0–" + (layers - 1));
        }
        if (!(v >= 0) || !Float.isFinite(v)) {
          throw new UserError("finetune.lr_mult = " + text + ": multiplier " + kv[1].trim() + " is not a number ≥ 0");
        }
        Arrays.fill(m, from, to + 1, v);
      } catch (NumberFormatException e) {
        throw new UserError("finetune.lr_mult = " + text + ": '" + p + "' is not FROM[-TO]:MULTIPLIER");
      }
    }
    return m;
  }
}
