package dev.sparktrain.spark;

import dev.sparktrain.UserError;
import dev.sparktrain.train.Callback;
import dev.sparktrain.train.LoopControl;
import dev.sparktrain.train.Progress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.DoubleAdder;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerTaskEnd;

/**
 * K training runs over one cached {@link TrainingData}, as concurrent Spark jobs: each run in its own driver thread
 * and its own FAIR scheduler pool, under a {@link Plan} of how many run at once and through how many tasks each,
 * made from the cluster's task slots. The ensemble, search and compare commands stand on it.
 *
 * <p>The plan never makes a run wait for slots that another run holds: a barrier stage holds a slot for each of
 * its partitions for as long as it lasts, so barrier runs are only started as many at once as their partitions
 * fit into the slots; more runs at once use the job engine, whose tasks queue and interleave, and read the cached
 * partitions through fewer tasks each (a narrow coalesce: nothing is cached again). Neither changes the bits a
 * run trains: every engine and every task count give the same model.
 */
public final class ParallelRuns {
  private ParallelRuns() {}

  /** One run: its name (job descriptions, pool, result) and how to fit it. */
  public record Run(String name, FitOptions options) {}

  /**
   * How runs share the cluster: {@code atOnce} of the {@code runs} at a time, each reading its {@code partitions}
   * cached partitions through {@code tasks} tasks per step under {@code engine}, on {@code slots} task slots.
   */
  public record Plan(int runs, int atOnce, int partitions, int tasks, int slots, String engine, String why) {
    public Plan {
      if (runs < 1 || atOnce < 1 || atOnce > runs || tasks < 1 || tasks > partitions) {
        throw new IllegalArgumentException("bad plan: " + runs + " runs, " + atOnce + " at once, " + tasks
            + " tasks of " + partitions + " partitions");
      }
    }

    /** One line for the log and the result. */
    public String describe() {
      return String.format("%d runs, %d at a time (%d round%s), each reading %d partitions through %d task%s under "
          + "the %s engine, on %d task slots: %s", runs, atOnce, rounds(), rounds() == 1 ? "" : "s", partitions, tasks,
          tasks == 1 ? "" : "s", engine, slots, why);
    }

    public int rounds() {
      return (runs + atOnce - 1) / atOnce;
    }

    public Map<String, Object> toJson() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("runs", runs);
      m.put("at_once", atOnce);
      m.put("partitions", partitions);
      m.put("tasks_per_run", tasks);
      m.put("slots", slots);
      m.put("engine", engine);
      m.put("text", describe());
      return m;
    }
  }

  /** A run's end: its model, or why it failed (model null); its wall-clock and its tasks' busy seconds. */
  public record Outcome(String name, FitOptions options, TrainedModel model, String failure, double seconds,
                        double taskSeconds) {
    public boolean ok() {
      return model != null;
    }
  }

  /**
   * The plan for runs of partitions partitions each. concurrency: how many at once (0: as many as the slots
   * allow). configured: train.engine.
   */
  public static Plan plan(JavaSparkContext sc, String configured, int runs, int partitions, int concurrency) {
    int slots = sc.sc().maxNumConcurrentTasks(sc.sc().resourceProfileManager().defaultResourceProfile());
    return plan(slots, configured, runs, partitions, concurrency);
  }

  /** The plan on a cluster of this many task slots (see {@link #plan(JavaSparkContext, String, int, int, int)}). */
  static Plan plan(int slots, String configured, int runs, int partitions, int concurrency) {
    int s = Math.max(1, slots);
    if (configured.equals("threads")) {
      int at = concurrency == 0 ? 1 : Math.min(runs, concurrency);
      return new Plan(runs, at, partitions, partitions, slots, "threads",
          "the threads engine steps every partition on a driver thread");
    }
    int barrierAtOnce = s / partitions;  // runs whose barrier stages fit into the slots together
    if (!configured.equals("job")) {
      // by default as many barrier runs as fit; when not even one fits, job-engine runs, one per slot
      int wanted = concurrency != 0 ? Math.min(runs, concurrency)
          : Math.min(runs, barrierAtOnce > 0 ? barrierAtOnce : s);
      if (wanted <= barrierAtOnce) {
        return new Plan(runs, wanted, partitions, partitions, slots, "barrier", wanted == runs
            ? "every run's barrier stage has its slots" : "more barrier stages at once would wait for slots");
      }
      if (configured.equals("barrier")) {
        throw new UserError("train.engine = barrier: " + wanted + " runs at once of " + partitions + " partitions need "
            + (long) wanted * partitions + " task slots, the cluster has " + slots + "; set ensemble.concurrency to at most "
            + Math.max(1, barrierAtOnce) + ", lower data.partitions, or set train.engine = auto or job");
      }
      return jobPlan(runs, wanted, partitions, slots, barrierAtOnce == 0
          ? "one run's barrier stage does not fit into the slots"
          : wanted + " barrier stages of " + partitions + " tasks would not fit");
    }
    return jobPlan(runs, concurrency == 0 ? Math.min(runs, s) : Math.min(runs, concurrency), partitions, slots,
        "train.engine = job");
  }

  /**
   * Job-engine runs: at most one per slot at once, each through as many tasks as its share of the slots. More
   * would starve some: Spark's FAIR scheduler breaks ties between equally busy pools by name, so when every
   * pool always has a task waiting, the last names would wait for free slots that never come.
   */
  private static Plan jobPlan(int runs, int wanted, int partitions, int slots, String why) {
    int s = Math.max(1, slots);
    int atOnce = Math.min(wanted, s);
    int tasks = Math.max(1, Math.min(partitions, s / atOnce));
    String capped = atOnce < wanted ? "; " + wanted + " at once capped to the " + s + " slots (more would starve "
        + "the last FAIR pools)" : "";
    return new Plan(runs, atOnce, partitions, tasks, slots, "job", why + "; job-engine tasks share the slots" + capped);
  }

  /**
   * Fits every run under the plan, in its own thread and FAIR pool ("sparktrain-NAME"). isolate: a failed run is
   * an outcome with its reason and the others go on; otherwise the first failure stops the others at their next
   * step and is rethrown once all have ended.
   */
  public static List<Outcome> fit(Trainer trainer, TrainingData data, List<Run> runs, Plan plan, boolean isolate,
                                  Progress progress) {
    JavaSparkContext sc = trainer.sparkContext();
    AtomicReference<RuntimeException> failure = new AtomicReference<>();
    Callback abort = new Callback() {
      @Override public void onStepEnd(StepEnd e, LoopControl loop) {
        if (failure.get() != null) loop.stop("another run failed");
      }

      @Override public String callbackName() { return "abort on failure"; }
    };
    TaskTime taskTime = new TaskTime();
    sc.sc().addSparkListener(taskTime);
    ExecutorService pool = Executors.newFixedThreadPool(plan.atOnce());
    try {
      List<Future<Outcome>> done = new ArrayList<>();
      for (Run r : runs) {
        done.add(pool.submit(() -> fitOne(trainer, sc, data, r, plan, isolate ? null : abort, failure, progress)));
      }
      List<Outcome> ended = new ArrayList<>();
      for (Future<Outcome> f : done) ended.add(f.get());
      if (!isolate && failure.get() != null) throw failure.get();
      try {
        sc.sc().listenerBus().waitUntilEmpty(10_000);  // every task's end has reached the listener
      } catch (java.util.concurrent.TimeoutException e) {
        progress.info("task times: the listener bus is still busy; the sequential estimate may be low");
      }
      List<Outcome> out = new ArrayList<>();
      for (Outcome o : ended) {
        out.add(new Outcome(o.name(), o.options(), o.model(), o.failure(), o.seconds(), taskTime.seconds(pool(o.name()))));
      }
      return out;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    } catch (ExecutionException e) {
      throw new IllegalStateException(e.getCause());
    } finally {
      pool.shutdown();
      sc.sc().removeSparkListener(taskTime);
    }
  }

  /**
   * What the runs would take one after another, each alone on the cluster: every run's task seconds spread over
   * as many slots as it has partitions. An estimate (driver time and stage start-up are left out).
   */
  public static double sequentialSecondsEstimate(List<Outcome> outcomes, Plan plan) {
    double total = 0;
    for (Outcome o : outcomes) total += o.taskSeconds() / Math.min(plan.partitions(), Math.max(1, plan.slots()));
    return total;
  }

  private static String pool(String run) {
    return "sparktrain-" + run.replaceAll("[^A-Za-z0-9_.-]", "_");
  }

  private static Outcome fitOne(Trainer trainer, JavaSparkContext sc, TrainingData data, Run r, Plan plan,
                                Callback abort, AtomicReference<RuntimeException> failure, Progress progress) {
    FitOptions o = r.options().withName(r.name()).withConcurrentRuns(plan.atOnce()).withTasks(plan.tasks());
    if (!plan.engine().equals("threads")) o = o.withConfig(o.config().with(Map.of("train.engine", plan.engine())));
    if (abort != null) {
      if (failure.get() != null) return new Outcome(r.name(), o, null, "not started: another run failed", 0, 0);
      o = o.withCallbacks(abort);
    }
    String poolName = pool(r.name());
    sc.setLocalProperty("spark.scheduler.pool", poolName);
    long begin = System.nanoTime();
    try {
      TrainedModel m = trainer.fit(data, o);
      return new Outcome(r.name(), o, m, null, (System.nanoTime() - begin) / 1e9, 0);
    } catch (RuntimeException e) {
      if (abort != null) failure.compareAndSet(null, e);
      String why = UserError.find(e) != null ? UserError.find(e).getMessage()
          : e.getMessage() == null ? e.toString() : e.getMessage();
      progress.info(r.name() + ": failed: " + why);
      return new Outcome(r.name(), o, null, why, (System.nanoTime() - begin) / 1e9, 0);
    } finally {
      sc.setLocalProperty("spark.scheduler.pool", null);
    }
  }

  /** The busy seconds of every run's tasks, by scheduler pool: the estimate of what the runs cost one by one. */
  static final class TaskTime extends SparkListener {
    private final Map<Integer, String> stagePool = new ConcurrentHashMap<>();
    private final Map<String, DoubleAdder> seconds = new ConcurrentHashMap<>();

    @Override
    public void onJobStart(SparkListenerJobStart start) {
      String pool = start.properties() == null ? null : start.properties().getProperty("spark.scheduler.pool");
      if (pool == null) return;
      var ids = start.stageIds().iterator();
      while (ids.hasNext()) stagePool.put((Integer) ids.next(), pool);
    }

    @Override
    public void onTaskEnd(SparkListenerTaskEnd end) {
      String pool = stagePool.get(end.stageId());
      if (pool != null && end.taskInfo() != null) {
        seconds.computeIfAbsent(pool, k -> new DoubleAdder()).add(end.taskInfo().duration() / 1e3);
      }
    }

    double seconds(String pool) {
      DoubleAdder a = seconds.get(pool);
      return a == null ? 0 : a.sum();
    }
  }
}
