package dev.sparktrain.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparktrain.UserError;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.util.List;
import java.util.Map;

/**
 * Optimizer state in checkpoint files: a tree of immutable state records (chains of velocities, moments, step
 * counts) flattened into named float32 tensors plus exact scalars in the header, and rebuilt on the structure of a
 * freshly initialised state, so a resumed run continues bit for bit. Saved by component name, as PyTorch's
 * state_dict saves by index: a checkpoint restores only into the same optimizer.
 */
public final class OptimizerStateFile {
  private OptimizerStateFile() {}

  /** Adds state's arrays to tensors (named prefix.path) and its scalars to scalars (exact: longs stay longs). */
  public static void flatten(Object state, String prefix, List<NamedTensor> tensors, ObjectNode scalars) {
    if (state == null) return;
    if (!state.getClass().isRecord()) throw new IllegalArgumentException(prefix + ": not a record: " + state.getClass());
    for (RecordComponent c : state.getClass().getRecordComponents()) {
      Object v = read(c, state);
      String name = prefix + "." + c.getName();
      if (v instanceof float[] a) tensors.add(NamedTensor.vector(name, a));
      else if (v instanceof Long l) scalars.put(name, l);
      else if (v instanceof Integer i) scalars.put(name, i);
      else if (v instanceof Double d) scalars.put(name, d);
      else if (v instanceof Float f) scalars.put(name, f);
      else if (v instanceof Record) flatten(v, name, tensors, scalars);
      else throw new IllegalArgumentException(name + ": cannot save a " + (v == null ? "null" : v.getClass().getName()));
    }
  }

  /**
   * A state with template's structure and the saved values; every array must have the template's length and
   * every scalar must be present. Errors name the file (source) and the entry.
   */
  @SuppressWarnings("unchecked")
  public static <S> S restore(S template, String prefix, Map<String, NamedTensor> tensors, JsonNode scalars,
                              String source) {
    if (template == null) return null;
    Class<?> type = template.getClass();
    RecordComponent[] parts = type.getRecordComponents();
    Object[] values = new Object[parts.length];
    Class<?>[] types = new Class<?>[parts.length];
    for (int i = 0; i < parts.length; i++) {
      RecordComponent c = parts[i];
      types[i] = c.getType();
      String name = prefix + "." + c.getName();
      Object v = read(c, template);
      if (v instanceof float[] a) {
        NamedTensor t = tensors.get(name);
        if (t == null) throw new UserError(source + ": checkpoint has no optimizer state '" + name + "'");
        if (t.values().length != a.length) {
          throw new UserError(source + ": optimizer state '" + name + "' holds " + t.values().length
              + " values, the model needs " + a.length);
        }
        values[i] = t.values();
      } else if (v instanceof Record) {
        values[i] = restore(v, name, tensors, scalars, source);
      } else {
        JsonNode n = scalars == null ? null : scalars.get(name);
        if (n == null || !n.isNumber()) throw new UserError(source + ": checkpoint has no optimizer scalar '" + name + "'");
        values[i] = v instanceof Long ? (Object) n.asLong() : v instanceof Integer ? (Object) n.asInt()
            : v instanceof Float ? (Object) (float) n.asDouble() : (Object) n.asDouble();
      }
    }
    try {
      Constructor<?> make = type.getDeclaredConstructor(types);
      make.setAccessible(true);
      return (S) make.newInstance(values);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("cannot rebuild " + type.getName(), e);
    }
  }

  private static Object read(RecordComponent c, Object record) {
    try {
      var accessor = c.getAccessor();
      accessor.setAccessible(true);
      return accessor.invoke(record);
    } catch (IllegalAccessException | InvocationTargetException e) {
      throw new IllegalStateException("cannot read " + c.getName() + " of " + record.getClass().getName(), e);
    }
  }
}
