package dev.sparktrain.spark;

import dev.sparktrain.UserError;
import dev.sparktrain.io.ModelZoo;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

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
   * Publishes modelPath as name's next version, unless the latest version already holds the same bytes (a run that
   * died after publishing and was resumed): then that version.
   */
  static Published publishOnce(String zoo, String name, String modelPath, Map<String, Object> extra, Configuration conf) {
    ModelZoo z = new ModelZoo(zoo, conf);
    String sha = sha256(modelPath, conf);
    if (z.names().contains(name)) {
      try {
        ModelZoo.Version latest = z.resolve(name);
        if (latest.manifest().modelSha256().equals(sha)) return new Published(latest.ref(), true);
      } catch (UserError e) {
        // no valid latest yet: publish
      }
    }
    return new Published(z.publish(name, modelPath, extra).ref(), false);
  }

  private static String sha256(String path, Configuration conf) {
    Path p = new Path(path);
    try (InputStream in = p.getFileSystem(conf).open(p)) {
      MessageDigest d = MessageDigest.getInstance("SHA-256");
      byte[] buf = new byte[1 << 16];
      for (int n; (n = in.read(buf)) > 0; ) d.update(buf, 0, n);
      return HexFormat.of().formatHex(d.digest());
    } catch (IOException e) {
      throw new UserError(path + ": cannot read (" + e.getMessage() + ")", e);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
