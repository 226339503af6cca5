package dev.sparktrain.bench.kernels;

import dev.sparktrain.tensor.MaxPool2d;
import dev.sparktrain.tensor.Pool2dShape;
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
 * {@code MaxPool2d} 2×2 stride 2 on the 64 examples of a task, forward and backward. The input is what follows
 * a ReLU: seeded uniform values in [-1, 1) clamped at 0, so about half are tied zeros. Setup runs one forward,
 * which records the argmax that every timed backward routes the gradient through.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = "--add-modules=jdk.incubator.vector")
@Warmup(iterations = 4, time = 500, timeUnit = TimeUnit.MILLISECONDS)
@Measurement(iterations = 3, time = 500, timeUnit = TimeUnit.MILLISECONDS)
public class PoolBenchmark {
  @Param({"pool1", "pool2"})
  public String layer;

  private MaxPool2d pool;
  private float[] x, y, dy, dx;

  @Setup(Level.Trial)
  public void setUp() {
    Pool2dShape s = Workload.pool(layer);
    int n = Workload.N;
    pool = new MaxPool2d(s);
    x = Workload.random(n * s.inSize(), -1, 1, 1);
    for (int i = 0; i < x.length; i++) x[i] = Math.max(0f, x[i]);
    dy = Workload.random(n * s.outSize(), -1, 1, 2);
    y = new float[n * s.outSize()];
    dx = new float[n * s.inSize()];
    pool.forward(x, 0, y, 0, n);
  }

  @Benchmark
  public void forward() {
    pool.forward(x, 0, y, 0, Workload.N);
  }

  @Benchmark
  public void backward() {
    pool.backward(dy, 0, dx, 0, Workload.N);
  }
}
