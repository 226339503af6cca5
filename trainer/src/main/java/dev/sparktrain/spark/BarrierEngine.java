package dev.sparktrain.spark;

import dev.sparktrain.UserError;
import dev.sparktrain.data.DataBlock;
import dev.sparktrain.train.GradientSum;
import dev.sparktrain.train.StepEngine;
import dev.sparktrain.config.SettingsTable;
import dev.sparktrain.transport.ChannelSecurity;
import dev.sparktrain.transport.Frames;
import dev.sparktrain.transport.StepClient;
import dev.sparktrain.transport.StepServer;
import dev.sparktrain.transport.TreeReduce;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;
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
  private final int advertisedPort;
  private final ChannelSecurity.Run run;
  private final Channel channel;
  /** What the tasks need to sum along the tree (train.reduce); null when every task sends its own gradient. */
  private final Tree tree;
  private final String group = "sparktrain-barrier-" + Long.toHexString(System.nanoTime());
  private Thread job;
  private volatile Throwable jobError;
  private volatile boolean jobDone;

  /**
   * The step channel's settings: tcpOnly (train.transport = tcp: tasks in the driver's JVM use TCP too, to measure
   * it), encryption (train.step_encryption: auto follows Spark's, on always), the step timeout in seconds (0:
   * derived), the port the endpoint binds (0: any) and the host:port tasks are told to connect to (empty: the
   * driver's host and the bound port; for NAT, proxies and relays).
   */
  record Channel(boolean tcpOnly, String encryption, double timeoutSeconds, int port, String advertise, String reduce) {
    static Channel of(dev.sparktrain.config.TrainConfig cfg) {
      return new Channel(cfg.training().transport().equals("tcp"), cfg.get(SettingsTable.TRAIN_STEP_ENCRYPTION),
          cfg.get(SettingsTable.TRAIN_STEP_TIMEOUT), cfg.get(SettingsTable.TRAIN_STEP_PORT),
          cfg.get(SettingsTable.TRAIN_STEP_ADVERTISE), cfg.get(SettingsTable.TRAIN_REDUCE));
    }

    /**
     * Whether the tasks add their gradients along the tree, which keeps the driver's inbound bytes at one
     * gradient per step whatever the number of executors: train.reduce = tree, or auto on a cluster master. In
     * local[*] auto is flat: the tasks run in the driver's JVM and hand their gradients over in memory.
     */
    boolean tree(boolean localMaster, int partitions) {
      return partitions > 1 && (reduce.equals("tree") || reduce.equals("auto") && !localMaster);
    }

    /**
     * Whether frames are encrypted: with train.step_encryption = on, or when Spark encrypts its own traffic
     * (spark.network.crypto.enabled, spark.ssl.enabled or spark.ssl.rpc.enabled), so that the channel is never
     * weaker than the Spark it runs in.
     */
    boolean encrypt(SparkConf conf) {
      return encryption.equals("on") || conf.getBoolean("spark.network.crypto.enabled", false)
          || conf.getBoolean("spark.ssl.enabled", false) || conf.getBoolean("spark.ssl.rpc.enabled", false);
    }
  }

  BarrierEngine(JavaSparkContext sc, JavaRDD<DataBlock> train, PartitionStep step, int gradientLength, int statsCount, String label,
                Channel channel, java.util.function.Consumer<String> log) {
    this.sc = sc;
    this.channel = channel;
    this.train = train;
    this.step = step;
    this.label = label;
    int partitions = train.getNumPartitions();
    this.tree = channel.tree(sc.isLocal(), partitions) ? new Tree(partitions, gradientLength, statsCount) : null;
    var conf = sc.getConf();
    String driverHost = conf.get("spark.driver.host", "127.0.0.1");
    boolean encrypt = channel.encrypt(conf);
    try {
      this.run = ChannelSecurity.Run.random(encrypt);
    } catch (IllegalStateException e) {
      throw new UserError("train.engine = barrier: " + e.getMessage());
    }
    StepServer.Config c = new StepServer.Config(conf.get("spark.driver.bindAddress", driverHost), channel.port(), run,
        partitions, gradientLength, statsCount, channel.timeoutSeconds(), this::unanswered, log);
    try {
      this.server = new StepServer(c);
    } catch (IOException e) {
      throw new UserError("train.engine = barrier: cannot open the step endpoint on " + c.bindAddress() + ":"
          + channel.port() + " (train.step_port): " + e.getMessage());
    }
    if (tree != null) server.sumsAlongTree();
    if (channel.advertise().isEmpty()) {
      this.host = driverHost;
      this.advertisedPort = server.port();
    } else {
      int colon = channel.advertise().lastIndexOf(':');
      this.host = channel.advertise().substring(0, colon);
      this.advertisedPort = Integer.parseInt(channel.advertise().substring(colon + 1));
    }
    log.accept(String.format("step channel: %s, %s; endpoint %s:%d%s; %s", encrypt ? "AES-GCM encrypted" : "plain frames",
        "HMAC-authenticated", c.bindAddress(), server.port(),
        channel.advertise().isEmpty() ? "" : " (tasks connect to " + channel.advertise() + ")",
        tree != null ? "gradients summed along the tree of " + partitions + " tasks, partition 0 sends the total (train.reduce)"
            : "every task sends its gradient"));
  }

  /**
   * The watchdog: a task that has not answered the step in flight within the step timeout is killed, so that
   * Spark fails the barrier stage and relaunches it; if it does not end (its executor is frozen, e.g. SIGSTOP or a
   * partition), its executor is killed and replaced, which fails the stage just the same.
   */
  private void unanswered(Frames.Hello task, long stepInFlight, long waitedMillis, boolean escalate) {
    String reason = "sparktrain: " + task.describe() + " did not answer step " + stepInFlight + " within the step timeout";
    if (!escalate) {
      sc.sc().killTaskAttempt(task.taskId(), true, reason);
    } else if (!task.executor().equals("driver")) {
      sc.sc().killAndReplaceExecutor(task.executor());
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
    int port = advertisedPort, paramCount = Math.toIntExact(step.spec().paramCount()), iterations = step.plan().iterationsPerEpoch();
    String host = this.host;
    ChannelSecurity.Run r = run;
    PartitionStep s = step;
    boolean tcp = channel.tcpOnly();
    long silence = StepServer.taskSilenceMillis(channel.timeoutSeconds());
    Tree t = tree;
    Function1<Iterator<DataBlock>, Iterator<Object>> task =
        (Function1<Iterator<DataBlock>, Iterator<Object>> & Serializable) it -> runTask(it, host, port, r, s, paramCount, tcp, silence, t);
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
  public String reduce() {
    return tree != null ? "tree" : "flat";
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

  /** What a task needs for the tree (train.reduce = tree); null in the closure when every task sends its own. */
  record Tree(int partitions, int gradientLength, int statsCount) implements Serializable {}

  /** A partition's answer when partition 0 sends the total: no gradient, loss or examples, only "done". */
  private static final GradientSum.Node NOTHING = new GradientSum.Node(null, 0, 0, 0);

  /**
   * One barrier task: connect, then compute the steps the driver sends until it says STOP. With the tree, a task adds
   * its children's sums to its own and sends the result to its parent; then every partition but 0 tells the
   * driver it is done with the step (a GRAD of no gradient, 60 bytes), and partition 0 sends the total. A task
   * that hangs is then the silent one whose children all answered, which is the one the driver's watchdog names.
   */
  private static Iterator<Object> runTask(Iterator<DataBlock> it, String host, int port, ChannelSecurity.Run run,
                                          PartitionStep s, int paramCount, boolean tcpOnly, long silenceMillis, Tree tree) {
    BarrierTaskContext ctx = BarrierTaskContext.get();
    int p = ctx.partitionId();
    DataBlock block = it.next();
    Frames.Hello hello = new Frames.Hello(run.id(), ChannelSecurity.nonce(), p, ctx.stageAttemptNumber(),
        ctx.attemptNumber(), ctx.taskAttemptId(), run.encrypt() ? Frames.ENCRYPTED : 0, SparkEnv.get().executorId());
    StepServer.Link link = null;
    TreeReduce peers = null;
    Runnable whileWaiting = () -> {
      if (ctx.isInterrupted()) throw new TaskKilledException(ctx.getKillReason().getOrElse(() -> "killed"));
    };
    try {
      Frames.Hello toDriver = hello;
      if (tree != null) {  // listen for the children first: the HELLO tells the driver where
        String self = SparkEnv.get().blockManager().blockManagerId().host();
        peers = TreeReduce.open(run, hello, tree.partitions(), tree.gradientLength(), tree.statsCount(), self,
            silenceMillis, line -> System.err.println("sparktrain: " + line));
        toDriver = hello.withListen(peers.address());
      }
      if (!tcpOnly) link = StepServer.inProcess(toDriver);  // local mode: the driver's JVM
      if (link == null) link = new StepClient(host, port, run, toDriver, paramCount, silenceMillis);
      while (true) {
        StepServer.Message m = link.next(whileWaiting);
        if (m.isStop()) break;
        GradientSum.Node node = s.compute(p, m.params(), block, m.epoch(), m.iteration());
        if (peers == null) {
          link.sendGrad(m.step(), p, node);
        } else {
          GradientSum.Node total = peers.reduce(m.step(), node, whileWaiting, link);
          link.sendGrad(m.step(), p, p == 0 ? total : NOTHING);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("partition " + p + ": " + e.getMessage(), e);
    } finally {
      if (peers != null) peers.close();
      if (link != null) link.close();
    }
    return scala.collection.Iterator$.MODULE$.empty();
  }
}
