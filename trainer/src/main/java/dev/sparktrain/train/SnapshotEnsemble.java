package dev.sparktrain.train;

import dev.sparktrain.UserError;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Keeps the weights at the end of each warm-restart cycle for a snapshot ensemble (Huang et al. 2017, "Snapshot
 * ensembles: train 1, get M for free"): after the update of step s where the schedule says that s + 1 begins a new
 * cycle ({@code Schedule.isRestart}), and after the run's last step, the whole parameter vector (BatchNorm
 * running statistics included) is copied; the last {@code keep} copies are the ensemble's members. They are kept
 * in checkpoints, so a resumed run ends with the same snapshots. Memory: keep × one float per parameter.
 */
public final class SnapshotEnsemble implements Callback {
  /** A snapshot: the step after whose update it was taken (0-based), its cycle (1-based) and the weights. */
  public record Snapshot(long step, int cycle, float[] params) {}

  private final int keep;
  private final long lastStep;
  private final Progress progress;
  private final List<Snapshot> snapshots = new ArrayList<>();
  private int cycles;

  /** keep: the number of last cycles kept; lastStep: the run's last step (0-based), whose update ends the last cycle. */
  public SnapshotEnsemble(int keep, long lastStep, Progress progress) {
    if (keep < 1) throw new IllegalArgumentException("snapshot.keep must be at least 1: " + keep);
    this.keep = keep;
    this.lastStep = lastStep;
    this.progress = progress;
  }

  @Override
  public void onTrainStart(TrainStart e, LoopControl loop) {
    snapshots.clear();
    cycles = 0;
    Map<String, Double> state = e.start().callbackState().get(callbackName());
    Map<String, float[]> vectors = e.start().callbackVectors().get(callbackName());
    if (state == null) return;
    Double n = state.get("cycles");
    if (n == null) throw new UserError("--resume: the checkpoint's snapshot state has no 'cycles'");
    cycles = n.intValue();
    for (int c = Math.max(1, cycles - keep + 1); c <= cycles; c++) {
      float[] p = vectors == null ? null : vectors.get("cycle" + c);
      Double step = state.get("step" + c);
      if (p == null || step == null) {
        throw new UserError("--resume: the checkpoint's snapshot state lacks cycle " + c + " of " + cycles);
      }
      snapshots.add(new Snapshot(step.longValue(), c, p.clone()));
    }
  }

  @Override
  public void onStepEnd(StepEnd e, LoopControl loop) {
    if (!loop.schedule().isRestart(e.step() + 1) && e.step() != lastStep) return;
    cycles++;
    float[] p = new float[e.params().limit()];
    e.params().get(0, p);
    snapshots.add(new Snapshot(e.step(), cycles, p));
    if (snapshots.size() > keep) snapshots.remove(0);
    progress.info(String.format("snapshot of cycle %d after step %d (keeping the last %d)", cycles, e.step() + 1,
        Math.min(keep, cycles)));
  }

  /** The kept snapshots, oldest first (copies). */
  public List<Snapshot> snapshots() {
    List<Snapshot> out = new ArrayList<>();
    for (Snapshot s : snapshots) out.add(new Snapshot(s.step(), s.cycle(), s.params().clone()));
    return out;
  }

  @Override
  public Map<String, Double> checkpointState() {
    Map<String, Double> m = new LinkedHashMap<>();
    m.put("cycles", (double) cycles);
    for (Snapshot s : snapshots) m.put("step" + s.cycle(), (double) s.step());
    return m;
  }

  @Override
  public Map<String, float[]> checkpointVectors() {
    if (snapshots.isEmpty()) return null;
    Map<String, float[]> m = new LinkedHashMap<>();
    for (Snapshot s : snapshots) m.put("cycle" + s.cycle(), s.params());
    return m;
  }

  @Override
  public String callbackName() {
    return "snapshots";
  }
}
