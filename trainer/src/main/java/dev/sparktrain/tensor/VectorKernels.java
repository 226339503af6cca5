package dev.sparktrain.tensor;

/**
 * The kernels on the JDK Vector API that the layers use when they can, each null where it cannot run: the
 * {@code jdk.incubator.vector} module is missing (a JVM started without {@code --add-modules}), the class would not
 * initialise, or its own probe against the scalar twin failed. Every caller then takes the scalar loop, with the
 * same bits. Nothing here touches a Vector API class unless the module is present.
 */
final class VectorKernels {
  /** {@link BatchNorm}'s and {@link Conv2d}'s plane reductions, four planes at a time. */
  static final PlaneSums PLANE_SUMS = GemmChoice.vectorOrNull(() -> PlaneSums.INSTANCE);
  /** {@link MaxPool2d}'s 2×2 pairs. */
  static final PairMax PAIR_MAX = GemmChoice.vectorOrNull(() -> PairMax.INSTANCE);

  private VectorKernels() {}
}
