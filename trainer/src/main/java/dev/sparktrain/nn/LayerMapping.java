package dev.sparktrain.nn;

import dev.sparktrain.UserError;
import java.util.Map;
import java.util.TreeMap;

/**
 * Which layers of a new network take their parameters from a saved one (fine-tuning): target layer index →
 * source layer index. Mapped layers must have the same kind and parameter count; every other layer keeps its
 * fresh initialisation. BatchNorm running averages live in the flat vector, so they travel with their layer.
 */
public record LayerMapping(Map<Integer, Integer> targetToSource, boolean allMatching) {
  public LayerMapping {
    targetToSource = Map.copyOf(new TreeMap<>(targetToSource));
  }

  /** Every layer at the same position, which must exist and match in both networks (the same architecture). */
  public static LayerMapping all() {
    return new LayerMapping(Map.of(), true);
  }

  /** The first n layers at the same positions (e.g. a new classifier head after them). */
  public static LayerMapping firstLayers(int n) {
    Map<Integer, Integer> m = new TreeMap<>();
    for (int i = 0; i < n; i++) m.put(i, i);
    return new LayerMapping(m, false);
  }

  /** Explicit pairs, target index → source index. */
  public static LayerMapping of(Map<Integer, Integer> targetToSource) {
    return new LayerMapping(targetToSource, false);
  }

  /** target's initial parameters with the mapped slices copied from the source's; {@code from} names the source. */
  public float[] apply(Network source, float[] sourceParams, Network target, float[] targetParams, String from) {
    Map<Integer, Integer> pairs = targetToSource;
    if (allMatching) {
      if (source.layers().size() != target.layers().size()) {
        throw new UserError(from + ": has " + source.layers().size() + " layers, the new network "
            + target.layers().size() + "; map the layers to take explicitly");
      }
      pairs = firstLayers(target.layers().size()).targetToSource();
    }
    float[] out = targetParams.clone();
    for (var e : pairs.entrySet()) {
      int t = e.getKey(), s = e.getValue();
      if (t < 0 || t >= target.layers().size() || s < 0 || s >= source.layers().size()) {
        throw new UserError(from + ": layer mapping " + t + " ← " + s + " is out of range (the new network has "
            + target.layers().size() + " layers, the saved one " + source.layers().size() + ")");
      }
      LayerSpec ts = target.spec().layers().get(t), ss = source.spec().layers().get(s);
      int n = target.layers().get(t).paramCount(), m = source.layers().get(s).paramCount();
      if (ts.getClass() != ss.getClass() || n != m) {
        throw new UserError(from + ": layer " + s + " (" + ss + ", " + m + " parameters) cannot initialise layer " + t
            + " (" + ts + ", " + n + " parameters)");
      }
      System.arraycopy(sourceParams, source.offset(s), out, target.offset(t), n);
    }
    return out;
  }
}
