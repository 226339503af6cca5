package dev.sparktrain.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktrain.UserError;
import org.junit.jupiter.api.Test;

/** The runner's plan: runs at once and tasks per run from the task slots, never more barrier tasks than slots. */
class ParallelRunsPlanTest {
  private static void fits(ParallelRuns.Plan p) {
    if (p.engine().equals("barrier")) {
      assertTrue((long) p.atOnce() * p.tasks() <= p.slots(), "barrier stages fit the slots: " + p.describe());
      assertEquals(p.partitions(), p.tasks(), "a barrier stage has a task per partition");
    }
  }

  @Test
  void manySlotsRunEveryMemberAtOnceUnderTheBarrierEngine() {
    ParallelRuns.Plan p = ParallelRuns.plan(64, "auto", 4, 8, 0);
    assertEquals(4, p.atOnce());
    assertEquals("barrier", p.engine());
    assertEquals(8, p.tasks());
    assertEquals(1, p.rounds());
    fits(p);
  }

  @Test
  void fewSlotsRunAsManyBarrierStagesAsFit() {
    ParallelRuns.Plan p = ParallelRuns.plan(16, "auto", 4, 8, 0);
    assertEquals(2, p.atOnce());
    assertEquals(2, p.rounds());
    fits(p);
    ParallelRuns.Plan laptop = ParallelRuns.plan(2, "auto", 4, 2, 0);
    assertEquals(1, laptop.atOnce());
    assertEquals("barrier", laptop.engine());
    fits(laptop);
  }

  @Test
  void moreRunsAtOnceThanBarrierStagesFitUseTheJobEngineThroughFewerTasks() {
    ParallelRuns.Plan p = ParallelRuns.plan(4, "auto", 4, 2, 4);
    assertEquals(4, p.atOnce());
    assertEquals("job", p.engine());
    assertEquals(1, p.tasks());
    ParallelRuns.Plan capped = ParallelRuns.plan(2, "auto", 4, 2, 4);
    assertEquals(2, capped.atOnce(), "never more job-engine runs at once than slots: the FAIR pools would starve");
    assertEquals(1, capped.tasks());
    assertTrue(capped.describe().contains("capped to the 2 slots"), capped.describe());
    ParallelRuns.Plan q = ParallelRuns.plan(8, "auto", 4, 8, 4);
    assertEquals("job", q.engine());
    assertEquals(2, q.tasks(), "4 runs × 2 tasks fill the 8 slots");
    ParallelRuns.Plan tooWide = ParallelRuns.plan(2, "auto", 3, 4, 0);
    assertEquals("job", tooWide.engine(), "one run's barrier stage of 4 tasks cannot fit 2 slots");
    assertEquals(2, tooWide.atOnce());
    assertEquals(1, tooWide.tasks());
  }

  @Test
  void anExplicitBarrierThatCannotFitIsAnErrorNamingTheSetting() {
    UserError e = assertThrows(UserError.class, () -> ParallelRuns.plan(4, "barrier", 4, 2, 4));
    assertTrue(e.getMessage().contains("ensemble.concurrency to at most 2"), e.getMessage());
    assertEquals("threads", ParallelRuns.plan(2, "threads", 4, 2, 0).engine());
    assertEquals(1, ParallelRuns.plan(2, "threads", 4, 2, 0).atOnce());
  }
}
