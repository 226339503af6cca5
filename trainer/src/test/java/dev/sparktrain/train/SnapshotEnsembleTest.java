package dev.sparktrain.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.sparktrain.nn.Init;
import dev.sparktrain.nn.ModelSpec;
import dev.sparktrain.nn.Network;
import dev.sparktrain.nn.Shape;
import dev.sparktrain.optim.Optimizers;
import dev.sparktrain.optim.Schedule;
import dev.sparktrain.optim.Schedules;
import dev.sparktrain.tensor.BlasGemm;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Snapshots at the ends of warm-restart cycles, on the loop without Spark: SGD on ½‖p‖² multiplies the parameters
 * by (1 − α_t) at each step, so each snapshot is the product of those factors up to its step.
 */
class SnapshotEnsembleTest {
  private static final int EPOCHS = 3, ITERATIONS = 5;
  private final Network network = new Network(ModelSpec.parse(Shape.flat(3), "dense(2)", 2, Init.HE, 1.0),
      BlasGemm.INSTANCE);
  private final Schedule lr = Schedules.cosineWarmRestarts(0.1, 4, 1, 0);  // restarts at steps 4, 8, 12

  /** The gradient of ½‖p‖² for one example. */
  private static final StepEngine QUADRATIC = (params, epoch, t) -> new GradientSum.Node(params.clone(), 0, 1, 0);

  private TrainingLoop loop(Callback... callbacks) {
    return new TrainingLoop(network, QUADRATIC, Optimizers::sgd, lr, EPOCHS, ITERATIONS, null, List.of(callbacks));
  }

  /** The parameters after the update of step s, from all ones, in float32 as SGD computes them. */
  private float[] after(long s) {
    float[] p = new float[network.paramCount()];
    java.util.Arrays.fill(p, 1f);
    for (long t = 0; t <= s; t++) {
      float a = (float) lr.at(t);
      for (int i = 0; i < p.length; i++) p[i] = p[i] - a * p[i];
    }
    return p;
  }

  @Test
  void theLastKeptCyclesEndsAreTheSnapshots() {
    SnapshotEnsemble snapshots = new SnapshotEnsemble(3, EPOCHS * ITERATIONS - 1, Progress.quiet());
    float[] start = new float[network.paramCount()];
    java.util.Arrays.fill(start, 1f);
    loop(snapshots).run(LoopState.start(start));
    // cycles end after steps 3, 7, 11 and the run's last step 14; the last three are kept
    List<SnapshotEnsemble.Snapshot> s = snapshots.snapshots();
    assertEquals(List.of(2, 3, 4), s.stream().map(SnapshotEnsemble.Snapshot::cycle).toList());
    assertEquals(List.of(7L, 11L, 14L), s.stream().map(SnapshotEnsemble.Snapshot::step).toList());
    for (SnapshotEnsemble.Snapshot x : s) assertArrayEquals(after(x.step()), x.params(), "after step " + x.step());
  }

  @Test
  void aRunResumedFromItsStateEndsWithTheSameSnapshots() {
    float[] start = new float[network.paramCount()];
    java.util.Arrays.fill(start, 1f);
    SnapshotEnsemble straight = new SnapshotEnsemble(2, EPOCHS * ITERATIONS - 1, Progress.quiet());
    loop(straight).run(LoopState.start(start));

    // stop after step 9 (cycle 2 was taken after step 7), keep the state a checkpoint would hold, resume from it
    SnapshotEnsemble first = new SnapshotEnsemble(2, EPOCHS * ITERATIONS - 1, Progress.quiet());
    LoopState[] saved = new LoopState[1];
    Callback stopAt9 = new Callback() {
      @Override public void onStepEnd(StepEnd e, LoopControl loop) {
        if (e.step() == 9) {
          saved[0] = e.state().get();
          loop.stop("test");
        }
      }
    };
    loop(first, stopAt9).run(LoopState.start(start));
    Map<String, float[]> vectors = saved[0].callbackVectors().get("snapshots");
    assertEquals(2, vectors.size(), "cycles 1 and 2 in the checkpoint");
    SnapshotEnsemble resumed = new SnapshotEnsemble(2, EPOCHS * ITERATIONS - 1, Progress.quiet());
    loop(resumed).run(saved[0]);
    assertEquals(straight.snapshots().size(), resumed.snapshots().size());
    for (int i = 0; i < straight.snapshots().size(); i++) {
      assertEquals(straight.snapshots().get(i).step(), resumed.snapshots().get(i).step());
      assertArrayEquals(straight.snapshots().get(i).params(), resumed.snapshots().get(i).params());
    }
  }
}
