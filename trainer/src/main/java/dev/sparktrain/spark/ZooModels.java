package dev.sparktrain.spark;

import dev.sparktrain.UserError;
import dev.sparktrain.io.ModelZoo;
import dev.sparktrain.io.SavedModel;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;

/** What the jobs need of a {@link ModelZoo}: resolve a reference for fine-tuning, publish a pretrained model once. */
final class ZooModels {
  private ZooModels() {}

  /** A version a publish made, or found already made of the same bytes. */
  record Published(String ref, boolean already) {}

  /** Refuses a bad model name, naming the setting it came from. */
  static void checkName(String name, String setting) {
    try {
      ModelZoo.checkName(name);
    } catch (UserError e) {
      throw new UserError(setting + ": " + e.getMessage());
    }
  }

  /** The verified model file ref names in the zoo (NAME, NAME@vN, NAME@latest). */
  static FineTuneJob.Source resolve(String zoo, String ref, Configuration conf) {
    ModelZoo.Version v = new ModelZoo(zoo, conf).resolve(ref);
    return new FineTuneJob.Source(v.modelPath(), v.ref());
  }

  /**
   * Publishes modelPath (whose parameters are params) as name's next version, unless the latest version already
   * holds the same parameters (a run that died after publishing, or one started again after it finished): then
   * that version.
   */
  static Published publishOnce(String zoo, String name, String modelPath, float[] params, Map<String, Object> extra,
                               Configuration conf) {
    ModelZoo z = new ModelZoo(zoo, conf);
    if (z.names().contains(name)) {
      try {
        ModelZoo.Version latest = z.resolve(name);
        if (java.util.Arrays.equals(params, SavedModel.load(latest.modelPath(), conf).params())) {
          return new Published(latest.ref(), true);
        }
      } catch (UserError e) {
        // no valid latest yet: publish
      }
    }
    return new Published(z.publish(name, modelPath, extra).ref(), false);
  }
}
