package dev.sparktrain.bench.kernels;

import dev.sparktrain.tensor.Conv2d;
import dev.sparktrain.tensor.Conv2dShape;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * The trainer's im2col convolution, {@code Conv2d} with {@code Gemm.best()}, forward and backward on the 64
 * examples of one task's batch, through its public API only. conv1 is the first layer, so its backward passes
 * dx = null (dW and db only), as training does; conv2's computes dx too.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = "--add-modules=jdk.incubator.vector")
@Warmup(iterations = 4, time = 500, timeUnit = TimeUnit.MILLISECONDS)
@Measurement(iterations = 3, time = 500, timeUnit = TimeUnit.MILLISECONDS)
public class ConvBenchmark {
  @Param({"conv1", "conv2"})
  public String layer;

  private Conv2d conv;
  private float[] x, w, b, y, dy, dw, db, dx;

  @Setup(Level.Trial)
  public void setUp() {
    KernelGemmBenchmark.warmUp(KernelGemmBenchmark.OURS);
    Conv2dShape s = Workload.conv(layer);
    int n = Workload.N;
    conv = new Conv2d(s, Gemm.best());
    x = Workload.random(n * s.inSize(), -1, 1, 1);
    w = Workload.random(s.weightSize(), -1, 1, 2);
    b = Workload.random(s.k(), -1, 1, 3);
    dy = Workload.random(n * s.outSize(), -1, 1, 4);
    y = new float[n * s.outSize()];
    dw = new float[s.weightSize()];
    db = new float[s.k()];
    dx = Workload.needsDx(layer) ? new float[n * s.inSize()] : null;
  }

  @Benchmark
  public void forward() {
    conv.forward(x, 0, w, 0, b, 0, y, 0, Workload.N);
  }

  @Benchmark
  public void backward() {
    conv.backward(x, 0, w, 0, dy, 0, dw, 0, db, 0, dx, 0, Workload.N);
  }
}
