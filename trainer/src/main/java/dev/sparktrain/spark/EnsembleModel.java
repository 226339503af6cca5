package dev.sparktrain.spark;

import dev.sparktrain.UserError;
import dev.sparktrain.augment.TestTimeAugmentation;
import dev.sparktrain.data.DataBlock;
import dev.sparktrain.data.FeatureStats;
import dev.sparktrain.io.EnsembleManifest;
import dev.sparktrain.nn.ModelSpec;
import dev.sparktrain.train.GradientTask;
import dev.sparktrain.train.Metrics;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

/**
 * An ensemble of trained models that predicts the weighted mean of its members' class probabilities, and
 * evaluates the ensemble and every member in one pass over the data on the executors. Members must agree on the
 * classes and the input size; each applies its own standardizer to the raw examples.
 */
public final class EnsembleModel {
  /** A member, its name and its weight in the average (weights are normalized to sum to 1). */
  public record Member(String name, TrainedModel model, double weight) {}

  /** The ensemble's accuracy and loss, and every member's, over the same examples. */
  public record Evaluation(Metrics ensemble, List<Metrics> members) {}

  private final List<Member> members;
  private final int classes;
  private final int inputSize;

  public EnsembleModel(List<Member> members) {
    if (members.isEmpty()) throw new IllegalArgumentException("an ensemble needs at least one member");
    this.members = List.copyOf(members);
    this.classes = members.get(0).model().spec().numClasses();
    this.inputSize = members.get(0).model().spec().inputSize();
    double sum = 0;
    for (Member m : members) {
      if (m.model().spec().numClasses() != classes || m.model().spec().inputSize() != inputSize) {
        throw new IllegalArgumentException("member " + m.name() + " has " + m.model().spec().numClasses()
            + " classes and " + m.model().spec().inputSize() + " inputs; " + members.get(0).name() + " has " + classes
            + " and " + inputSize);
      }
      if (!(m.weight() > 0) || !Double.isFinite(m.weight())) {
        throw new IllegalArgumentException("member " + m.name() + ": weight " + m.weight() + " is not positive");
      }
      sum += m.weight();
    }
    if (!(sum > 0)) throw new IllegalArgumentException("ensemble weights sum to " + sum);
  }

  /** Equal weights. */
  public static EnsembleModel uniform(List<String> names, List<TrainedModel> models) {
    List<Member> m = new ArrayList<>();
    for (int i = 0; i < models.size(); i++) m.add(new Member(names.get(i), models.get(i), 1));
    return new EnsembleModel(m);
  }

  /**
   * An ensemble model as saved (the ensemble command, snapshot ensembles): the manifest and every member file,
   * each validated (see {@link EnsembleManifest#loadMembers}), weighted as the manifest says.
   */
  public static EnsembleModel load(String manifestUri, org.apache.hadoop.conf.Configuration conf) {
    EnsembleManifest m = EnsembleManifest.read(manifestUri, conf);
    List<dev.sparktrain.io.SavedModel> saved = m.loadMembers(manifestUri, conf);
    List<Member> out = new ArrayList<>();
    for (int i = 0; i < saved.size(); i++) {
      EnsembleManifest.Member entry = m.members().get(i);
      double w = 1;
      if (m.weighting().equals("validation_accuracy")) {
        w = entry.validationAccuracy();
        if (!(w > 0)) {
          throw new UserError(manifestUri + ": member " + entry.name()
              + " has no validation accuracy to weight it by (weighting = validation_accuracy)");
        }
      }
      out.add(new Member(entry.name(), TrainedModel.of(saved.get(i)), w));
    }
    return new EnsembleModel(out);
  }

  /** A member to save: its model, its validation and test accuracy (NaN: none), and how its config differs. */
  public record Saved(String name, TrainedModel model, double validationAccuracy, double testAccuracy,
                      java.util.Map<String, String> config) {}

  /**
   * Saves an ensemble model under dir: every member as dir/NAME.stm, then the manifest dir/ensemble.json naming
   * each file with its SHA-256 (written last and atomically, so a manifest never names a missing or partial
   * member). source: "ensemble" or "snapshot". Returns the manifest's path.
   */
  public static String save(String dir, String source, String weighting, List<Saved> saved,
                            List<EnsembleManifest.Failure> failed, org.apache.hadoop.conf.Configuration conf) {
    String manifest = dir + "/ensemble.json";
    List<EnsembleManifest.Member> entries = new ArrayList<>();
    for (Saved s : saved) {
      String path = dir + "/" + s.name() + ".stm";
      java.util.Map<String, Double> metrics = new java.util.LinkedHashMap<>();
      metrics.put("validation_accuracy", s.validationAccuracy());
      metrics.put("test_accuracy", s.testAccuracy());
      s.model().save(path, conf, metrics);
      entries.add(EnsembleManifest.member(s.name(), manifest, path, s.validationAccuracy(), s.testAccuracy(),
          s.config(), conf));
    }
    var spec = saved.get(0).model().spec();
    new EnsembleManifest(spec.numClasses(), spec.inputShape().toString(), spec.inputSize(), weighting, source, entries,
        failed, java.time.Instant.now().toString()).write(manifest, conf);
    return manifest;
  }

  public List<Member> members() { return members; }

  public int numClasses() { return classes; }

  /** The members' static parts, shipped to the executors once per job. */
  private record Parts(ModelSpec[] specs, float[][] params, FeatureStats.Standardizer[] std, float[] weights)
      implements Serializable {}

  /**
   * One block's sums: the ensemble's loss and correct count, each member's, and the examples; confusion[0] is the
   * ensemble's K×K counts (row = label), confusion[1 + j] member j's.
   */
  private record Sums(double loss, long correct, double[] memberLoss, long[] memberCorrect, long count,
                      long[][][] confusion) implements Serializable {}

  private Parts parts() {
    int k = members.size();
    ModelSpec[] specs = new ModelSpec[k];
    float[][] params = new float[k][];
    FeatureStats.Standardizer[] std = new FeatureStats.Standardizer[k];
    float[] w = new float[k];
    double sum = members.stream().mapToDouble(Member::weight).sum();
    for (int i = 0; i < k; i++) {
      TrainedModel m = members.get(i).model();
      specs[i] = m.spec();
      params[i] = m.params();
      std[i] = m.standardizer();
      w[i] = (float) (members.get(i).weight() / sum);
    }
    return new Parts(specs, params, std, w);
  }

  /** Every member's probabilities for the raw block (n×K each), in member order. */
  private static float[][] memberProbabilities(Parts p, DataBlock raw, TestTimeAugmentation tta, int pad) {
    float[][] out = new float[p.specs().length][];
    for (int j = 0; j < out.length; j++) {
      out[j] = GradientTask.probabilities(p.specs()[j], p.params()[j], raw.standardized(p.std()[j]), tta, pad);
    }
    return out;
  }

  /** The weighted mean of the members' probabilities. */
  private static float[] mean(Parts p, float[][] probs) {
    float[] avg = new float[probs[0].length];
    for (int j = 0; j < probs.length; j++) {
      float w = p.weights()[j];
      float[] q = probs[j];
      for (int i = 0; i < avg.length; i++) avg[i] += w * q[i];
    }
    return avg;
  }

  private static int argmax(float[] probs, int row, int k) {
    int best = 0;
    for (int j = 1; j < k; j++) if (probs[row * k + j] > probs[row * k + best]) best = j;
    return best;
  }

  /** Accuracy and loss of the ensemble and of each member on test, with an optional test-time augmentation. */
  public Evaluation evaluate(Examples test, TestTimeAugmentation tta, int pad, String description) {
    check(test);
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(test.blocks().context());
    sc.setJobDescription(description);
    Broadcast<Parts> bc = sc.broadcast(parts());
    int k = classes, n = members.size();
    try {
      List<Sums> sums = test.blocks().map(b -> {
        float[][] probs = memberProbabilities(bc.value(), b, tta, pad);
        float[] avg = mean(bc.value(), probs);
        double loss = 0;
        long correct = 0;
        double[] ml = new double[n];
        long[] mc = new long[n];
        long[][][] confusion = new long[n + 1][k][k];
        for (int i = 0; i < b.n(); i++) {
          int y = b.y()[i], predicted = argmax(avg, i, k);
          loss -= Math.log(Math.max(avg[i * k + y], Float.MIN_NORMAL));
          if (predicted == y) correct++;
          confusion[0][y][predicted]++;
          for (int j = 0; j < n; j++) {
            ml[j] -= Math.log(Math.max(probs[j][i * k + y], Float.MIN_NORMAL));
            int pj = argmax(probs[j], i, k);
            if (pj == y) mc[j]++;
            confusion[1 + j][y][pj]++;
          }
        }
        return new Sums(loss, correct, ml, mc, b.n(), confusion);
      }).collect();
      double loss = 0;
      long correct = 0, count = 0;
      double[] ml = new double[n];
      long[] mc = new long[n];
      long[][][] confusion = new long[n + 1][k][k];
      for (Sums s : sums) {  // in partition order
        loss += s.loss();
        correct += s.correct();
        count += s.count();
        for (int j = 0; j < n; j++) {
          ml[j] += s.memberLoss()[j];
          mc[j] += s.memberCorrect()[j];
        }
        for (int m = 0; m <= n; m++) Metrics.addCounts(confusion[m], s.confusion()[m]);
      }
      List<Metrics> each = new ArrayList<>();
      for (int j = 0; j < n; j++) each.add(Metrics.of(ml[j], mc[j], count, confusion[1 + j]));
      return new Evaluation(Metrics.of(loss, correct, count, confusion[0]), each);
    } finally {
      bc.destroy();
    }
  }

  /** Every example's prediction from the averaged probabilities, in source order within each partition. */
  public JavaRDD<TrainedModel.Prediction> predict(Examples in, TestTimeAugmentation tta, int pad) {
    check(in);
    Broadcast<Parts> bc = JavaSparkContext.fromSparkContext(in.blocks().context()).broadcast(parts());
    int k = classes;
    return in.blocks().flatMap(b -> {
      float[] avg = mean(bc.value(), memberProbabilities(bc.value(), b, tta, pad));
      List<TrainedModel.Prediction> out = new ArrayList<>(b.n());
      for (int i = 0; i < b.n(); i++) {
        out.add(new TrainedModel.Prediction(b.rows()[i], b.y()[i], argmax(avg, i, k),
            java.util.Arrays.copyOfRange(avg, i * k, (i + 1) * k)));
      }
      return out.iterator();
    });
  }

  private void check(Examples e) {
    if (e.dim() != inputSize) {
      throw new UserError(e.source() + ": " + e.dim() + " features per example, but the ensemble's members expect "
          + inputSize);
    }
  }
}
