package dev.sparktrain.examples;

import dev.sparktrain.cli.Main;
import java.util.stream.Stream;

/**
 * The standard `mlp` workload: trains conf/fashion-mlp.conf. Extra arguments are key=value overrides.
 * Run with spark-submit: {@code spark-submit --class dev.sparktrain.examples.FashionMlp examples.jar,trainer.jar}.
 */
public final class FashionMlp {
  private FashionMlp() {}

  public static void main(String[] args) {
    String[] all = Stream.concat(Stream.of("train", "conf/fashion-mlp.conf"), Stream.of(args)).toArray(String[]::new);
    System.exit(Main.run(all, System.out, System.err));
  }
}
