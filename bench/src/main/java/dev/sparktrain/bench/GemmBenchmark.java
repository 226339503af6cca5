package dev.sparktrain.bench;

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
 * The JMH benchmark: one single-threaded SGEMM call per operation, for each (implementation, shape) pair.
 *
 * <p>The score is calls per second; {@link GemmReport} turns it into GFLOP/s. Each pair gets its own fork,
 * which starts with {@code --add-modules=jdk.incubator.vector} (for {@code vectorblas}) and inherits the
 * environment, where {@code OPENBLAS_NUM_THREADS=1} keeps native OpenBLAS on one thread. An implementation
 * that cannot load fails its own fork only. The annotation defaults are for running this class directly;
 * the report passes shorter ones.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = "--add-modules=jdk.incubator.vector")
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class GemmBenchmark {
  /**
   * One large GEMM run before timing by native implementations. In a fresh process OpenBLAS ran some trainer
   * shapes about 3× slower until a large GEMM had touched its scratch buffer (see bench/README.md).
   */
  static final GemmShape WARM_UP = new GemmShape("warm-up", false, false, 1024, 1024, 1024, 0f);
  static final long SEED = 2024;

  @Param({"openblas", "vectorblas", "java", "bytedeco", "bytedeco-ptr", "naive"})
  public String impl;

  @Param({"fc1.fwd.b64", "fc1.dW.b64", "fc2.dX.b64", "fc3.fwd.b64",
          "fc1.fwd.b128", "fc1.dW.b128", "fc2.dX.b128", "fc3.fwd.b128"})
  public String shape;

  private GemmCall call;

  @Setup(Level.Trial)
  public void bind() {
    GemmCandidate candidate = GemmCandidate.byId(impl);
    if (candidate.nativeCode) {
      try (GemmCall warmUp = candidate.bind(new GemmOperands(WARM_UP, 0, SEED))) {
        warmUp.run();
      }
    }
    call = candidate.bind(new GemmOperands(GemmShape.named(shape), 0, SEED));
  }

  @Benchmark
  public void sgemm() {
    call.run();
  }

  @TearDown(Level.Trial)
  public void release() {
    if (call != null) call.close();
  }
}
