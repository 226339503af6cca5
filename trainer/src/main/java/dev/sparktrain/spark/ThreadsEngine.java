package dev.sparktrain.spark;

import dev.sparktrain.data.DataBlock;
import dev.sparktrain.train.GradientSum;
import dev.sparktrain.train.StepEngine;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * train.engine = threads: the floor the Spark engines are measured against. The cached partitions are collected
 * to the driver once, and each step runs every partition's {@link PartitionStep} on its own thread of one process,
 * with no Spark in the loop. It trains the same model as the Spark engines, bit for bit.
 */
final class ThreadsEngine implements StepEngine {
  private final PartitionStep step;
  private List<DataBlock> blocks;
  /** One thread per partition: a thread's step buffers must not serve two partitions of one step. */
  private final ExecutorService[] threads;

  /** Collects the partitions now, before any epoch's clock starts. */
  ThreadsEngine(JavaRDD<DataBlock> train, PartitionStep step, String label) {
    this.step = step;
    org.apache.spark.api.java.JavaSparkContext.fromSparkContext(train.context())
        .setJobDescription(label + "threads engine · collect the training partitions to the driver");
    blocks = train.collect();
    threads = new ExecutorService[blocks.size()];
    for (int p = 0; p < threads.length; p++) {
      String name = "sparktrain-threads-engine-" + p;
      threads[p] = Executors.newSingleThreadExecutor(r -> {
        Thread th = new Thread(r, name);
        th.setDaemon(true);
        return th;
      });
    }
  }

  @Override
  public int gradientOffset() {
    return step.gradientOffset();
  }

  @Override
  public GradientSum.Node gradient(float[] params, int epoch, int t) {
    @SuppressWarnings("unchecked")
    Future<GradientSum.Node>[] futures = new Future[blocks.size()];
    for (int p = 0; p < futures.length; p++) {
      int part = p;
      futures[p] = threads[p].submit(() -> step.compute(part, params, blocks.get(part), epoch, t));
    }
    GradientSum.Node[] nodes = new GradientSum.Node[futures.length];
    try {
      for (int p = 0; p < nodes.length; p++) nodes[p] = futures[p].get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException re) throw re;
      throw new IllegalStateException(e.getCause());
    }
    return PartitionStep.combine(nodes);
  }

  @Override
  public void close() {
    for (ExecutorService t : threads) t.shutdownNow();
    blocks = null;
  }
}
