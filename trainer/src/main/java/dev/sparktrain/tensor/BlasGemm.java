package dev.sparktrain.tensor;

import dev.ludovic.netlib.blas.BLAS;
import dev.ludovic.netlib.blas.NativeBLAS;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * GEMM through netlib's BLAS, the one Spark MLlib uses: native {@code libblas.so.3} (Debian's OpenBLAS, or
 * whichever BLAS the system's alternatives point to) when it loads, else netlib's Java kernels. Row-major calls
 * map onto column-major BLAS by computing Cᵀ = op(B)ᵀ·op(A)ᵀ, which needs no copy. {@link Gemm#best()} decides
 * when this class runs and when {@link VectorGemm} does.
 */
public final class BlasGemm implements Gemm {
  /** netlib's own choice (native when it loads, else its Java kernels), for tests that want netlib's GEMM. */
  public static final BlasGemm INSTANCE = new BlasGemm(BLAS.getInstance());

  private final BLAS blas;
  private volatile String name;

  public BlasGemm(BLAS blas) {
    this.blas = blas;
  }

  /** Whether this runs native code, i.e. netlib loaded a shared BLAS library. */
  public boolean isNative() {
    return blas instanceof NativeBLAS;
  }

  @Override
  public void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                    float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                    float beta, float[] c, int cOff, int ldc) {
    if (m == 0 || n == 0) return;
    if (k == 0) {
      for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) c[cOff + i * ldc + j] *= beta;
      return;
    }
    blas.sgemm(transB ? "T" : "N", transA ? "T" : "N", n, m, k, alpha,
        b, bOff, ldb, a, aOff, lda, beta, c, cOff, ldc);
  }

  /**
   * What runs, one line: e.g. "netlib:JNIBLAS → /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3
   * (OpenBLAS, OPENBLAS_CORETYPE=Haswell)", "netlib:JNIBLAS → /usr/lib/x86_64-linux-gnu/blas/libblas.so.3
   * (reference BLAS)" or "netlib:VectorBLAS". The library, not just the binding, decides both speed and bits.
   */
  @Override
  public String name() {
    String n = name;
    if (n == null) name = n = describe();
    return n;
  }

  private String describe() {
    String binding = "netlib:" + blas.getClass().getSimpleName();
    if (!isNative()) return binding;
    Optional<String> lib = loadedBlasLibrary();
    if (lib.isEmpty()) return binding + " (library not found in /proc/self/maps)";
    String label = libraryLabel(lib.get());
    String core = System.getenv("OPENBLAS_CORETYPE");
    if (label.equals("OpenBLAS") && core != null) label += ", OPENBLAS_CORETYPE=" + core;
    return binding + " → " + lib.get() + " (" + label + ")";
  }

  /**
   * The kind of BLAS a shared library's resolved path names, for {@link #name()}: "OpenBLAS"
   * (…/openblas-pthread/libblas.so.3, libopenblas.so.0), "reference BLAS" (Debian's libblas3,
   * …/blas/libblas.so.3), "BLIS", "ATLAS", "MKL", or "unknown BLAS".
   */
  static String libraryLabel(String path) {
    String p = path.toLowerCase(java.util.Locale.ROOT);
    if (p.contains("openblas")) return "OpenBLAS";
    if (p.contains("blis")) return "BLIS";
    if (p.contains("atlas")) return "ATLAS";
    if (p.contains("mkl")) return "MKL";
    if (p.contains("/blas/") || p.contains("refblas") || p.contains("netlib-blas")) return "reference BLAS";
    return "unknown BLAS";
  }

  /** Whether a mapped file is a BLAS library (libblas*, libopenblas*, …), not netlib's own JNI glue. */
  static boolean isBlasLibrary(String path) {
    String file = path.substring(path.lastIndexOf('/') + 1);
    return file.matches("lib(open|cblas|blas|blis|satlas|tatlas|mkl_rt).*\\.so.*") && !file.contains("jni");
  }

  /**
   * The BLAS library mapped into this process, symlinks resolved (Linux); empty elsewhere. netlib opens
   * libblas.so.3 by name, so a libblas.so* file comes first; OpenBLAS's may pull in its libopenblas*.so too.
   */
  private static Optional<String> loadedBlasLibrary() {
    try (Stream<String> lines = Files.lines(Path.of("/proc/self/maps"))) {
      List<String> libs = lines.map(l -> l.substring(l.lastIndexOf(' ') + 1)).filter(p -> p.startsWith("/"))
          .filter(BlasGemm::isBlasLibrary).distinct().toList();
      return libs.stream().filter(p -> p.substring(p.lastIndexOf('/') + 1).startsWith("libblas.so"))
          .findFirst().or(() -> libs.stream().findFirst()).map(BlasGemm::realPath);
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  private static String realPath(String path) {
    try {
      return Path.of(path).toRealPath().toString();
    } catch (IOException e) {
      return path;
    }
  }
}
