package dev.sparktrain.data;

import dev.sparktrain.UserError;

/**
 * One parsed LIBSVM line, {@code label index:value index:value ...} with 1-based ascending indices. Errors name
 * the file and the row.
 */
public record LibsvmLine(int label, int[] indices, float[] values) {
  public static boolean isBlank(String line) {
    String t = line.strip();
    return t.isEmpty() || t.startsWith("#");
  }

  public static LibsvmLine parse(String line, String file, long row, int numClasses) {
    String[] parts = line.strip().split("\\s+");
    double label;
    try {
      label = Double.parseDouble(parts[0]);
    } catch (NumberFormatException e) {
      throw new UserError(file + ": row " + row + ": bad label '" + parts[0] + "'");
    }
    int[] idx = new int[parts.length - 1];
    float[] val = new float[parts.length - 1];
    for (int i = 1; i < parts.length; i++) {
      int colon = parts[i].indexOf(':');
      try {
        if (colon <= 0) throw new NumberFormatException();
        idx[i - 1] = Integer.parseInt(parts[i].substring(0, colon));
        val[i - 1] = Float.parseFloat(parts[i].substring(colon + 1));
      } catch (NumberFormatException e) {
        throw new UserError(file + ": row " + row + ": bad feature '" + parts[i] + "' (expected index:value)");
      }
      if (idx[i - 1] < 1) throw new UserError(file + ": row " + row + ": feature index " + idx[i - 1] + " < 1");
      if (i > 1 && idx[i - 1] <= idx[i - 2]) {
        throw new UserError(file + ": row " + row + ": feature indices not ascending at '" + parts[i] + "'");
      }
    }
    return new LibsvmLine(classLabel(label, file, row, numClasses), idx, val);
  }

  /** A class label: an integer in [0, numClasses); the error names the file and row. */
  public static int classLabel(double label, String file, long row, int numClasses) {
    if (Double.isNaN(label)) throw new UserError(file + ": row " + row + ": missing label");
    if (label != Math.rint(label) || label < 0 || label >= numClasses) {
      throw new UserError(file + ": row " + row + ": label " + label + " out of range [0, " + numClasses
          + ") (data.num_classes = " + numClasses + ")");
    }
    return (int) label;
  }
}
