package dev.sparktrain.bench.kernels;

import java.util.List;
import java.util.Map;

/**
 * One line of JSON from maps, lists, strings, numbers, booleans and nulls; non-finite numbers become null.
 * (The GEMM report's writer is package-private to {@code dev.sparktrain.bench}.)
 */
final class Json {
  private Json() {}

  static String of(Object value) {
    StringBuilder out = new StringBuilder();
    write(value, out);
    return out.toString();
  }

  private static void write(Object value, StringBuilder out) {
    if (value == null || value instanceof Double d && !Double.isFinite(d)) {
      out.append("null");
    } else if (value instanceof Number || value instanceof Boolean) {
      out.append(value);
    } else if (value instanceof String s) {
      out.append('"');
      for (char ch : s.toCharArray()) {
        if (ch == '"' || ch == '\\') out.append('\\').append(ch);
        else if (ch < 0x20) out.append(String.format("\\u%04x", (int) ch));
        else out.append(ch);
      }
      out.append('"');
    } else if (value instanceof Map<?, ?> map) {
      out.append('{');
      String sep = "";
      for (Map.Entry<?, ?> e : map.entrySet()) {
        out.append(sep);
        write(String.valueOf(e.getKey()), out);
        out.append(':');
        write(e.getValue(), out);
        sep = ",";
      }
      out.append('}');
    } else if (value instanceof List<?> list) {
      out.append('[');
      for (int i = 0; i < list.size(); i++) {
        if (i > 0) out.append(',');
        write(list.get(i), out);
      }
      out.append(']');
    } else {
      throw new IllegalArgumentException("no JSON form for " + value.getClass().getName());
    }
  }
}
