package dev.sparktrain.bench;

import dev.ludovic.netlib.blas.BLAS;
import dev.ludovic.netlib.blas.NativeBLAS;
import dev.sparktrain.tensor.BlasGemm;
import dev.sparktrain.tensor.Gemm;
import dev.sparktrain.tensor.NaiveGemm;
import dev.sparktrain.tensor.VectorGemm;
import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.openblas.global.openblas_nolapack;

/**
 * The SGEMM implementations the benchmark compares, each loadable on its own, so that one that cannot load
 * (no native library, no Vector API module) fails alone.
 *
 * <p>netlib's {@code VectorBLAS} and {@code Java11BLAS} are package-private classes with a public
 * {@code getInstance()}; {@code JavaBLAS.getInstance()} would pick VectorBLAS whenever the Vector API is
 * present, so both are reached by reflection to pin the one being measured.
 */
public enum GemmCandidate {
  /** Debian's OpenBLAS ({@code libblas.so.3}) through netlib's JNI binding, the BLAS Spark MLlib uses. */
  OPENBLAS("openblas", true) {
    @Override
    Gemm gemm() {
      return new BlasGemm(NativeBLAS.getInstance()); // its name() gives the library netlib loaded
    }
  },
  /**
   * netlib's JDK Vector API kernels; needs {@code --add-modules jdk.incubator.vector}. In netlib 3.2.0 only a
   * GEMM with m·n·k ≥ 10⁶ reaches vector code (the blocked path through {@code sgepdotTN}); smaller ones run
   * the same scalar code as {@link #JAVA}.
   */
  VECTORBLAS("vectorblas", false) {
    @Override
    Gemm gemm() {
      return new BlasGemm(netlibJava("VectorBLAS"));
    }
  },
  /**
   * The project's own blocked SGEMM on the JDK Vector API, what the trainer runs where no native BLAS loads;
   * needs {@code --add-modules jdk.incubator.vector}.
   */
  SPARKTRAIN_VECTOR("sparktrain-vector", false) {
    @Override
    Gemm gemm() {
      return VectorGemm.INSTANCE;
    }
  },
  /** netlib's pure-Java kernels, without vectors. */
  JAVA("java", false) {
    @Override
    Gemm gemm() {
      return new BlasGemm(netlibJava("Java11BLAS"));
    }
  },
  /** org.bytedeco's bundled OpenBLAS on heap arrays, which JavaCPP copies on every call. */
  BYTEDECO("bytedeco", true) {
    @Override
    Gemm gemm() {
      return new BytedecoGemm();
    }

    @Override
    String where() {
      return bytedecoLibrary();
    }
  },
  /** org.bytedeco's bundled OpenBLAS on operands already off-heap: no copies. */
  BYTEDECO_PTR("bytedeco-ptr", true) {
    @Override
    Gemm gemm() {
      throw new UnsupportedOperationException("bytedeco-ptr works on FloatPointers, not heap arrays");
    }

    @Override
    public GemmCall bind(GemmOperands ops) {
      return new BytedecoPointerCall(ops);
    }

    @Override
    public String describe() {
      return "bytedeco:cblas_sgemm(FloatPointer) " + where();
    }

    @Override
    String where() {
      return bytedecoLibrary();
    }
  },
  /** The trainer's reference triple loop. Slow: the report runs it on the smaller batch only. */
  NAIVE("naive", false) {
    @Override
    Gemm gemm() {
      return NaiveGemm.INSTANCE;
    }
  };

  /** The name used in JMH parameters, tables and JSON. */
  public final String id;
  /** Native code: gets one large warm-up GEMM before timing, see {@code GemmBenchmark}. */
  public final boolean nativeCode;

  GemmCandidate(String id, boolean nativeCode) {
    this.id = id;
    this.nativeCode = nativeCode;
  }

  /** Loads the implementation; throws (any Throwable, including linkage errors) when it cannot. */
  abstract Gemm gemm();

  /** Where the native code came from, for the report; empty for Java implementations. */
  String where() {
    return "";
  }

  /** This implementation bound to the operands; loads it first, so it throws when it cannot load. */
  public GemmCall bind(GemmOperands ops) {
    return GemmCall.of(gemm(), ops);
  }

  /** What actually runs, e.g. "netlib:JNIBLAS /usr/lib/.../libblas.so.3"; loads the implementation. */
  public String describe() {
    String name = gemm().name();
    String where = where();
    return name + (where.isEmpty() ? "" : " " + where);
  }

  public static GemmCandidate byId(String id) {
    for (GemmCandidate c : values()) if (c.id.equals(id)) return c;
    throw new IllegalArgumentException("unknown implementation '" + id + "'; known: " + ids());
  }

  public static String ids() {
    return Arrays.stream(values()).map(c -> c.id).collect(Collectors.joining(","));
  }

  private static BLAS netlibJava(String simpleName) {
    try {
      Class<?> cls = Class.forName("dev.ludovic.netlib.blas." + simpleName);
      Method getInstance = cls.getMethod("getInstance");
      getInstance.setAccessible(true);
      BLAS blas = (BLAS) getInstance.invoke(null);
      if (!blas.getClass().getSimpleName().equals(simpleName)) {
        throw new IllegalStateException("asked netlib for " + simpleName + ", got " + blas.getClass().getName());
      }
      return blas;
    } catch (ReflectiveOperationException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      throw new IllegalStateException("netlib " + simpleName + " did not load: " + cause, cause);
    }
  }

  private static String bytedecoLibrary() {
    Loader.load(openblas_nolapack.class);
    return mappedFile("libopenblas");
  }

  /** The first file mapped into this process whose path contains the fragment (Linux), or "?". */
  private static String mappedFile(String fragment) {
    try (Stream<String> lines = Files.lines(Path.of("/proc/self/maps"))) {
      return lines.map(l -> l.substring(l.lastIndexOf(' ') + 1))
          .filter(p -> p.contains(fragment)).findFirst().orElse("?");
    } catch (IOException | RuntimeException e) {
      return "?";
    }
  }
}
