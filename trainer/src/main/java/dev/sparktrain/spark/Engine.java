package dev.sparktrain.spark;

import dev.sparktrain.UserError;
import dev.sparktrain.train.GradientTask;
import dev.sparktrain.train.Progress;
import dev.sparktrain.train.StepEngine;
import java.util.Locale;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * The engines (train.engine) and the choice between them. {@code auto} is the barrier engine when the cluster
 * has a task slot for every partition of every run that shares it, else the job engine; an explicit barrier that
 * cannot fit is an error rather than a stage that waits for slots forever.
 */
public enum Engine {
  /** One Spark job per step: broadcast, treeAggregate, destroy the broadcast. */
  JOB,
  /** One barrier stage for many steps, exchanging each step with the driver's step endpoint. */
  BARRIER,
  /** The one-process floor: partitions collected to the driver, stepped on threads. */
  THREADS;

  /** The engine's name as written in train.engine and reported in results. */
  public String id() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * Resolves train.engine for runs of {@code partitions} partitions each, {@code runs} of them at once on this
   * cluster (a barrier stage holds a slot per partition for as long as it lasts). It waits up to 30 s for
   * executors to register when there are too few slots.
   */
  public static Engine choose(JavaSparkContext sc, String configured, int partitions, int runs, Progress progress) {
    if (configured.equals("job")) return JOB;
    if (configured.equals("threads")) return THREADS;
    long wanted = (long) partitions * runs;
    int slots = taskSlots(sc, wanted);
    if (slots >= wanted) return BARRIER;
    String need = runs == 1 ? "data.partitions = " + partitions
        : runs + " concurrent runs of " + partitions + " partitions (" + wanted + " slots)";
    if (configured.equals("barrier")) {
      throw new UserError("train.engine = barrier runs a task for every partition at once, but the cluster has "
          + slots + " task slots for " + need + "; lower data.partitions, add executors, "
          + (runs > 1 ? "run fewer at once, " : "") + "or set train.engine = job");
    }
    progress.info(String.format("engine: job (one Spark job per step): %d task slots for %s; the barrier engine "
        + "needs one slot per partition", slots, runs == 1 ? partitions + " partitions" : need));
    return JOB;
  }

  /** Task slots of the cluster's default resource profile; waits up to 30 s for executors while there are too few. */
  private static int taskSlots(JavaSparkContext sc, long wanted) {
    var ctx = sc.sc();
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (true) {
      int slots = ctx.maxNumConcurrentTasks(ctx.resourceProfileManager().defaultResourceProfile());
      if (slots >= wanted || System.nanoTime() > deadline || ctx.isLocal()) return slots;
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return slots;
      }
    }
  }

  /**
   * This engine over the training split; label prefixes job descriptions; channel sets up the barrier engine's
   * step channel, and log receives its lines;
   * tasks: how many tasks the job engine reads the partitions through (0: one per partition).
   */
  StepEngine open(JavaSparkContext sc, TrainingData data, PartitionStep step, int treeDepth, String label,
                  BarrierEngine.Channel channel, java.util.function.Consumer<String> log, int tasks) {
    return switch (this) {
      case JOB -> new JobEngine(sc, data.trainParts(tasks == 0 ? data.partitions() : tasks), data.partitions(), step,
          treeDepth, label);
      case THREADS -> new ThreadsEngine(data.train(), step, label);
      case BARRIER -> new BarrierEngine(sc, data.train(), step, step.gradientLength(),
          GradientTask.network(step.spec()).statsCount(), label, channel, log);
    };
  }
}
