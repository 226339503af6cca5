package dev.sparktrain.bench.kernels;

import dev.sparktrain.bench.GemmCall;
import dev.sparktrain.bench.GemmCandidate;
import dev.sparktrain.bench.GemmOperands;
import dev.sparktrain.bench.GemmShape;
import dev.sparktrain.tensor.Gemm;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One single-threaded SGEMM per operation on a {@link Workload} shape, through either
 * <ul>
 *   <li>{@code ours}: the trainer's GEMM, {@code Gemm.best()} on {@code float[]}: {@code BlasGemm} through
 *       netlib's JNI binding to the system OpenBLAS, or {@code VectorGemm} where no native BLAS loads (or with
 *       {@code -Dsparktrain.blas=java}): what training runs; or</li>
 *   <li>{@code openblas}: the reference, org.bytedeco's OpenBLAS {@code cblas_sgemm} on operands already
 *       off-heap ({@code bytedeco-ptr} of the GEMM benchmark): no JNI array pinning, no copies.</li>
 * </ul>
 * Operands are seeded uniform values in [-1, 1), allocated in setup.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = "--add-modules=jdk.incubator.vector")
@Warmup(iterations = 2, time = 500, timeUnit = TimeUnit.MILLISECONDS)
@Measurement(iterations = 3, time = 500, timeUnit = TimeUnit.MILLISECONDS)
public class KernelGemmBenchmark {
  static final String OURS = "ours", OPENBLAS = "openblas";
  /**
   * A 1024³ GEMM run once before timing: in a fresh process OpenBLAS ran small shapes about 3× slower until a
   * large GEMM had touched its scratch buffer (bench/README.md). A training process is long past that point.
   */
  private static final GemmShape WARM_UP = new GemmShape("warm-up", false, false, 1024, 1024, 1024, 0f);

  @Param({OURS, OPENBLAS})
  public String impl;

  @Param({"cnn.conv1.fwd", "cnn.conv1.dW", "cnn.conv2.fwd", "cnn.conv2.dW", "cnn.conv2.dcol",
          "cnn.fc1.fwd", "cnn.fc1.dW", "cnn.fc1.dX", "cnn.fc2.fwd", "cnn.fc2.dW", "cnn.fc2.dX",
          "mlp.fc1.fwd", "mlp.fc1.dW", "mlp.fc2.fwd", "mlp.fc2.dW", "mlp.fc2.dX",
          "mlp.fc3.fwd", "mlp.fc3.dW", "mlp.fc3.dX",
          "conv1.fwd.n64", "conv1.dW.n64", "conv2.fwd.n64", "conv2.dW.n64", "conv2.dcol.n64"})
  public String shape;

  private GemmCall call;

  @Setup(Level.Trial)
  public void bind() {
    warmUp(impl);
    call = bind(impl, Workload.gemm(shape));
  }

  @Benchmark
  public void sgemm() {
    call.run();
  }

  @TearDown(Level.Trial)
  public void release() {
    if (call != null) call.close();
  }

  static GemmCall bind(String impl, GemmShape shape) {
    GemmOperands ops = new GemmOperands(shape, 0, Workload.SEED);
    return switch (impl) {
      case OURS -> GemmCall.of(Gemm.best(), ops);
      case OPENBLAS -> GemmCandidate.BYTEDECO_PTR.bind(ops);
      default -> throw new IllegalArgumentException("impl must be " + OURS + " or " + OPENBLAS + ": " + impl);
    };
  }

  /** Runs the large warm-up GEMM once through the implementation. */
  static void warmUp(String impl) {
    try (GemmCall warmUp = bind(impl, WARM_UP)) {
      warmUp.run();
    }
  }
}
