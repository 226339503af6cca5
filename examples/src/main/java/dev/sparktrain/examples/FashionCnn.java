package dev.sparktrain.examples;

import dev.sparktrain.cli.Main;
import java.util.stream.Stream;

/**
 * The standard `cnn` workload: trains conf/fashion-cnn.conf. Extra arguments are key=value overrides.
 * Run with spark-submit: {@code spark-submit --class dev.sparktrain.examples.FashionCnn examples.jar,trainer.jar}.
 */
public final class FashionCnn {
  private FashionCnn() {}

  public static void main(String[] args) {
    String[] all = Stream.concat(Stream.of("train", "conf/fashion-cnn.conf"), Stream.of(args)).toArray(String[]::new);
    System.exit(Main.run(all, System.out, System.err));
  }
}
