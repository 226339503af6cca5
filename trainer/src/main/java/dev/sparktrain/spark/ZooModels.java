package dev.sparktrain.spark;

/** Placeholder until the zoo lands. */
final class ZooModels {
  private ZooModels() {}

  static FineTuneJob.Source resolve(String zoo, String ref, org.apache.hadoop.conf.Configuration conf) {
    throw new dev.sparktrain.UserError("finetune.zoo: not yet");
  }
}
