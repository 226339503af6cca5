package dev.sparktrain.tensor;

import dev.ludovic.netlib.blas.BLAS;
import dev.ludovic.netlib.blas.JavaBLAS;

/**
 * Chooses the process-wide GEMM, {@link Gemm#best()}, from the system property {@code sparktrain.blas}:
 * <ul>
 *   <li>{@code auto} (default): native BLAS through netlib when netlib loads a shared library (Debian's
 *       OpenBLAS), else {@link VectorGemm}, else netlib's Java kernels;</li>
 *   <li>{@code java}: skip native code (to compare, or where a broken libblas is installed): VectorGemm, else
 *       netlib's Java kernels;</li>
 *   <li>{@code vector}: VectorGemm, failing when the Vector API module is missing;</li>
 *   <li>{@code netlib-java}: netlib's Java kernels (VectorBLAS or Java11BLAS), the fallback before VectorGemm.</li>
 * </ul>
 * VectorGemm needs the JVM flag {@code --add-modules=jdk.incubator.vector} (conf/jvm.options); without it
 * {@code auto} and {@code java} fall back to netlib's Java kernels instead of failing.
 */
final class GemmChoice {
  static final Gemm BEST = choose(System.getProperty("sparktrain.blas", "auto"));

  private GemmChoice() {}

  static Gemm choose(String setting) {
    switch (setting) {
      case "auto": {
        BlasGemm netlib = new BlasGemm(BLAS.getInstance());
        if (netlib.isNative()) return netlib;
        return vectorOr(netlib);
      }
      case "java":
        return vectorOr(new BlasGemm(JavaBLAS.getInstance()));
      case "vector":
        if (!vectorApiPresent()) {
          throw new IllegalStateException("sparktrain.blas=vector needs the JVM flag --add-modules=jdk.incubator.vector");
        }
        return VectorGemm.INSTANCE;
      case "netlib-java":
        return new BlasGemm(JavaBLAS.getInstance());
      default:
        throw new IllegalArgumentException(
            "sparktrain.blas must be auto, java, vector or netlib-java, not '" + setting + "'");
    }
  }

  private static Gemm vectorOr(Gemm fallback) {
    Gemm vector = vectorOrNull(() -> VectorGemm.INSTANCE);
    return vector != null ? vector : fallback;
  }

  /**
   * A kernel on the Vector API, or null when the module is missing or the kernel's class would not initialise.
   * The supplier is not called without the module, so no Vector API class is touched then.
   */
  static <T> T vectorOrNull(java.util.function.Supplier<T> kernel) {
    if (!vectorApiPresent()) return null;
    try {
      return kernel.get();
    } catch (LinkageError e) { // the module resolved but the class would not initialise
      return null;
    }
  }

  static boolean vectorApiPresent() {
    return ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
  }
}
