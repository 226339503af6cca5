package dev.sparktrain.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The GEMM's name says which library ran: the path-to-label rule, and the choice the property makes. */
class GemmNameTest {
  @Test
  void labelsDebiansAlternatives() {
    assertEquals("OpenBLAS", BlasGemm.libraryLabel("/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3"));
    assertEquals("OpenBLAS", BlasGemm.libraryLabel("/usr/lib/x86_64-linux-gnu/openblas-serial/libblas.so.3"));
    assertEquals("OpenBLAS", BlasGemm.libraryLabel("/opt/lib/libopenblas.so.0"));
    assertEquals("reference BLAS", BlasGemm.libraryLabel("/usr/lib/x86_64-linux-gnu/blas/libblas.so.3"));
    assertEquals("BLIS", BlasGemm.libraryLabel("/usr/lib/x86_64-linux-gnu/blis-openmp/libblas.so.3"));
    assertEquals("ATLAS", BlasGemm.libraryLabel("/usr/lib/x86_64-linux-gnu/atlas/libblas.so.3"));
    assertEquals("MKL", BlasGemm.libraryLabel("/opt/intel/mkl/lib/intel64/libmkl_rt.so"));
    assertEquals("unknown BLAS", BlasGemm.libraryLabel("/usr/lib/libblas.so.3"));
  }

  @Test
  void findsTheBlasLibraryNotNetlibsGlue() {
    assertTrue(BlasGemm.isBlasLibrary("/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3"));
    assertTrue(BlasGemm.isBlasLibrary("/usr/lib/x86_64-linux-gnu/libopenblas.so.0"));
    assertFalse(BlasGemm.isBlasLibrary("/tmp/jniloader123/libnetlibblasjni.so"));
    assertFalse(BlasGemm.isBlasLibrary("/usr/lib/x86_64-linux-gnu/liblapack.so.3"));
  }

  @Test
  void javaSkipsNativeForVectorGemm() {
    // the tests run with --add-modules=jdk.incubator.vector (conf/jvm.options)
    assertTrue(GemmChoice.vectorApiPresent());
    assertEquals(VectorGemm.INSTANCE, GemmChoice.choose("java"));
    assertEquals(VectorGemm.INSTANCE, GemmChoice.choose("vector"));
    assertTrue(VectorGemm.INSTANCE.name().matches("sparktrain:VectorGemm \\(Vector API, \\d+-bit\\)"));
    Gemm netlibJava = GemmChoice.choose("netlib-java");
    assertTrue(netlibJava.name().startsWith("netlib:") && !((BlasGemm) netlibJava).isNative(), netlibJava.name());
    assertThrows(IllegalArgumentException.class, () -> GemmChoice.choose("openblas"));
  }

  @Test
  void autoIsNativeWhenNetlibLoadsIt() {
    Gemm auto = GemmChoice.choose("auto");
    boolean nativeLoaded = BlasGemm.INSTANCE.isNative();
    assertEquals(nativeLoaded ? BlasGemm.class : VectorGemm.class, auto.getClass());
    if (nativeLoaded) assertTrue(auto.name().contains(" → /"), auto.name());
  }
}
