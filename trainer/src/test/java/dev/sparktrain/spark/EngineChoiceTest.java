package dev.sparktrain.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktrain.UserError;
import dev.sparktrain.testing.SparkFixture;
import dev.sparktrain.train.Progress;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;

/** train.engine resolved as a value, for the runs that will share the cluster (local[2]: 2 task slots). */
class EngineChoiceTest {
  @Test
  void autoIsBarrierOnlyWhenEveryConcurrentRunHasItsSlots() {
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(SparkFixture.local2().sparkContext());
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    Progress progress = new Progress(new PrintStream(log, true, StandardCharsets.UTF_8), false);
    assertEquals(Engine.BARRIER, Engine.choose(sc, "auto", 2, 1, progress));
    assertEquals(Engine.BARRIER, Engine.choose(sc, "auto", 1, 2, progress), "two runs of one partition fit");
    assertEquals(Engine.JOB, Engine.choose(sc, "auto", 2, 2, progress), "two runs of two partitions need 4 slots");
    assertTrue(log.toString(StandardCharsets.UTF_8).contains("2 task slots for 2 concurrent runs of 2 partitions (4 slots)"),
        log.toString(StandardCharsets.UTF_8));
    assertEquals(Engine.JOB, Engine.choose(sc, "job", 1, 1, progress));
    assertEquals(Engine.THREADS, Engine.choose(sc, "threads", 4, 3, progress));
    String message = assertThrows(UserError.class, () -> Engine.choose(sc, "barrier", 2, 2, progress)).getMessage();
    assertEquals("train.engine = barrier runs a task for every partition at once, but the cluster has 2 task slots "
        + "for 2 concurrent runs of 2 partitions (4 slots); lower data.partitions, add executors, run fewer at once, or set "
        + "train.engine = job", message);
    assertEquals("barrier", Engine.BARRIER.id());
  }
}
