package dev.sparktrain.bench.kernels;

import dev.sparktrain.tensor.BatchNorm;
import dev.sparktrain.tensor.Conv2dShape;
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
 * Spatial {@code BatchNorm} in training mode on the output of the conv layer with the same index, 64 examples:
 * {@code forwardTrain} (batch statistics, x̂ and y), and {@code backward} with dx, as for every BN layer of the
 * cnn. Setup runs one forwardTrain, whose x̂ and statistics every timed backward uses. eps is the trainer's 1e-5.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = "--add-modules=jdk.incubator.vector")
@Warmup(iterations = 4, time = 500, timeUnit = TimeUnit.MILLISECONDS)
@Measurement(iterations = 3, time = 500, timeUnit = TimeUnit.MILLISECONDS)
public class BatchNormBenchmark {
  @Param({"bn1", "bn2"})
  public String layer;

  private BatchNorm bn;
  private float[] x, gamma, beta, y, dy, dgamma, dbeta, dx;

  @Setup(Level.Trial)
  public void setUp() {
    Conv2dShape conv = Workload.convBefore(layer);
    int c = conv.k(), size = Workload.N * conv.outSize();
    bn = new BatchNorm(c, conv.p() * conv.q(), 1e-5f);
    x = Workload.random(size, -1, 1, 1);
    dy = Workload.random(size, -1, 1, 2);
    gamma = Workload.random(c, 0.5f, 1.5f, 3);
    beta = Workload.random(c, -0.5f, 0.5f, 4);
    y = new float[size];
    dx = new float[size];
    dgamma = new float[c];
    dbeta = new float[c];
    forward();
  }

  @Benchmark
  public void forward() {
    bn.forwardTrain(x, 0, Workload.N, gamma, 0, beta, 0, y, 0);
  }

  @Benchmark
  public void backward() {
    bn.backward(dy, 0, Workload.N, gamma, 0, dgamma, 0, dbeta, 0, dx, 0);
  }
}
