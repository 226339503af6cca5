// One named float32 tensor as stored in a tensor file: its name, its shape and its row-major values.
package dev.sparktrain.io;

import java.util.Arrays;

/**
 * A named float32 tensor: row-major {@code values} whose length is the product of {@code shape}.
 *
 * <p>The shape is copied; the values are not (models hold millions of floats), so the record shares the
 * caller's array. A shape of {@code []} is a scalar (one value); a zero dimension gives an empty tensor.
 * Records compare arrays by identity, so use {@link Arrays#equals} to compare contents.
 */
public record NamedTensor(String name, int[] shape, float[] values) {
  public NamedTensor {
    if (name == null || name.isEmpty()) throw new IllegalArgumentException("tensor name must be non-empty");
    if (shape == null || values == null) {
      throw new IllegalArgumentException("tensor '" + name + "': null shape or values");
    }
    shape = shape.clone();
    for (int d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException("tensor '" + name + "': negative dimension in " + Arrays.toString(shape));
      }
    }
    long count = elementCount(shape);
    if (count != values.length) {
      throw new IllegalArgumentException("tensor '" + name + "': shape " + Arrays.toString(shape) + " holds "
          + (count < 0 ? "more values than a Java array can" : count + " values") + ", array has " + values.length);
    }
  }

  /** The largest array length every JVM allows; tensors are Java arrays, so no tensor may hold more values. */
  static final int MAX_VALUES = Integer.MAX_VALUE - 8;

  /** The number of values a shape of non-negative dimensions holds, or -1 if that exceeds {@link #MAX_VALUES}. */
  static long elementCount(int[] shape) {
    for (int d : shape) if (d == 0) return 0;
    long count = 1;
    for (int d : shape) {
      count *= d; // both factors are below 2^31, so this cannot overflow a long
      if (count > MAX_VALUES) return -1;
    }
    return count;
  }

  /** A one-dimensional tensor over all of {@code values}. */
  public static NamedTensor vector(String name, float[] values) {
    return new NamedTensor(name, new int[] {values.length}, values);
  }

  /** A copy of the shape (the record's own copy is private to it). */
  @Override
  public int[] shape() {
    return shape.clone();
  }
}
