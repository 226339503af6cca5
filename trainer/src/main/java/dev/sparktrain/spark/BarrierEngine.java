package dev.sparktrain.spark;

import dev.sparktrain.UserError;
import dev.sparktrain.data.DataBlock;
import dev.sparktrain.train.GradientSum;
import dev.sparktrain.train.StepEngine;
import dev.sparktrain.transport.Frames;
import dev.sparktrain.transport.StepClient;
import dev.sparktrain.transport.StepServer;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.security.SecureRandom;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.TaskKilledException;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import scala.Function1;
import scala.collection.Iterator;

/**
 * train.engine = barrier, the low-latency engine. Each epoch is one Spark barrier stage whose tasks (one per
 * partition, all running at once) stay alive for every step of the epoch: a task receives the step's parameters
 * from the driver's {@link StepServer}, computes its partition's gradient sum from its cached block, and sends
 * the sum back. The driver combines the sums along the job engine's fixed tree and applies the optimizer, exactly
 * as the job engine does; only the per-step Spark job (scheduling, broadcast, result fetch) is gone.
 *
 * <p>Faults: if a task fails, Spark fails the barrier stage and relaunches all of its tasks (up to
 * spark.stage.maxConsecutiveAttempts; only a shuffle-map stage is relaunched, so the stage feeds a tiny shuffle). The driver has not moved past the step in flight, so the relaunched tasks
 * are sent that step and the run continues as if nothing had happened: the gradients are pure functions of
 * (parameters, step, partition), and the model equals the fault-free one bit for bit.
 */
final class BarrierEngine implements StepEngine {
  private final JavaSparkContext sc;
  private final JavaRDD<DataBlock> train;
  private final PartitionStep step;
  private final String label;
  private final StepServer server;
  private final String host;
  private final long token = new SecureRandom().nextLong();
  private final String group = "sparktrain-barrier-" + Long.toHexString(System.nanoTime());
  private Thread job;
  private volatile Throwable jobError;
  private volatile boolean jobDone;

  private final boolean tcpOnly;

  /** tcpOnly: tasks in the driver's JVM use TCP too (train.transport = tcp), to measure the transport. */
  BarrierEngine(JavaSparkContext sc, JavaRDD<DataBlock> train, PartitionStep step, int gradientLength, int statsCount, String label,
                boolean tcpOnly) {
    this.sc = sc;
    this.tcpOnly = tcpOnly;
    this.train = train;
    this.step = step;
    this.label = label;
    int partitions = train.getNumPartitions();
    var conf = sc.getConf();
    this.host = conf.get("spark.driver.host", "127.0.0.1");
    try {
      this.server = new StepServer(conf.get("spark.driver.bindAddress", host), token, partitions, gradientLength, statsCount);
    } catch (IOException e) {
      throw new UserError("train.engine = barrier: cannot open the step endpoint on " + host + ": " + e.getMessage());
    }
  }

  /**
   * Launches the barrier stage unless one is still running: the training loop ends a stage only where it needs
   * other Spark jobs (validation, the end of training), so without validation one stage serves every epoch.
   */
  @Override
  public void beginEpoch(int epoch, int first) {
    if (job != null && !jobDone) return;
    if (jobError != null) throw failure();
    int port = server.port(), paramCount = Math.toIntExact(step.spec().paramCount()), iterations = step.plan().iterationsPerEpoch();
    String host = this.host;
    long token = this.token;
    PartitionStep s = step;
    boolean tcp = tcpOnly;
    Function1<Iterator<DataBlock>, Iterator<Object>> task =
        (Function1<Iterator<DataBlock>, Iterator<Object>> & Serializable) it -> runTask(it, host, port, token, s, paramCount, tcp);
    jobDone = false;
    jobError = null;
    String description = String.format("%sbarrier stage from epoch %d iteration %d of %d", label, epoch + 1,
        first + 1, iterations);
    job = new Thread(() -> {
      try {
        sc.setJobGroup(group, description, true);
        // Spark relaunches a failed barrier stage only when it is a shuffle-map stage (a failed barrier result
        // stage aborts the job), so the tasks' empty output goes through a one-partition shuffle.
        org.apache.spark.rdd.RDD<Object> stage = train.rdd().barrier()
            .mapPartitions(task, false, scala.reflect.ClassTag$.MODULE$.apply(Object.class));
        JavaRDD.fromRDD(stage, scala.reflect.ClassTag$.MODULE$.apply(Object.class))
            .mapToPair(x -> new scala.Tuple2<>(0, 1)).reduceByKey(Integer::sum, 1).count();
      } catch (Throwable e) {
        jobError = e;
      } finally {
        jobDone = true;
      }
    }, "sparktrain-barrier-job");
    job.setDaemon(true);
    job.start();
  }

  /** Bytes of gradient frames the driver has received over TCP from this engine's tasks. */
  @Override
  public long gradientBytesReceived() {
    return server.gradientBytesReceived();
  }

  @Override
  public int gradientOffset() {
    return step.gradientOffset();
  }

  @Override
  public GradientSum.Node gradient(float[] params, int epoch, int t) {
    long global = (long) epoch * step.plan().iterationsPerEpoch() + t;
    return PartitionStep.combine(server.exchange(global, epoch, t, params, this::failure));
  }

  /** Why the barrier job can no longer deliver the step in flight, or null while it can. */
  private RuntimeException failure() {
    if (!jobDone) return null;
    Throwable e = jobError;
    if (e instanceof RuntimeException re) return re;
    if (e != null) return new IllegalStateException(e);
    return new IllegalStateException("the barrier stage ended before step " + server.stepInFlight() + " was done");
  }

  @Override
  public void endEpoch() {
    server.stop();
    server.drain(() -> jobDone);
    join();
    if (jobError != null) {
      RuntimeException f = failure();
      throw f;
    }
  }

  private void join() {
    try {
      job.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    if (job != null && !jobDone) {
      server.stop();
      sc.cancelJobGroup(group);
      server.drain(() -> jobDone);
      join();
    }
    server.close();
  }

  /** One barrier task: connect, then compute the steps the driver sends until it says STOP. */
  private static Iterator<Object> runTask(Iterator<DataBlock> it, String host, int port, long token, PartitionStep s,
                                          int paramCount, boolean tcpOnly) {
    BarrierTaskContext ctx = BarrierTaskContext.get();
    int p = ctx.partitionId();
    DataBlock block = it.next();
    Frames.Hello hello = new Frames.Hello(token, p, ctx.stageAttemptNumber(), ctx.attemptNumber());
    StepServer.Link link = tcpOnly ? null : StepServer.inProcess(hello);  // local mode: the driver's JVM
    try {
      if (link == null) link = new StepClient(host, port, hello, paramCount);
      while (true) {
        StepServer.Message m = link.next(() -> {
          if (ctx.isInterrupted()) throw new TaskKilledException(ctx.getKillReason().getOrElse(() -> "killed"));
        });
        if (m.isStop()) break;
        link.sendGrad(m.step(), p, s.compute(p, m.params(), block, m.epoch(), m.iteration()));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("partition " + p + ": " + e.getMessage(), e);
    } finally {
      if (link != null) link.close();
    }
    return scala.collection.Iterator$.MODULE$.empty();
  }
}
