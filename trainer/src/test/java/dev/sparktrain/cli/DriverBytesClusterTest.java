package dev.sparktrain.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparktrain.io.SavedModel;
import dev.sparktrain.testing.CliRun;
import dev.sparktrain.testing.SparkFixture;
import dev.sparktrain.testing.SyntheticImages;
import dev.sparktrain.transport.Frames;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * On a cluster of four executor JVMs (local-cluster[4,1,1024]: Spark's standalone master and workers, one core
 * each), the bytes into the driver per step, counted by the engine and reported in the result JSON, do not grow
 * with the number of executors when the tasks sum their gradients along the tree (train.reduce = tree, and auto,
 * the default, on a cluster master):
 * one gradient frame, and a 60-byte "done" from every other partition. Flat, the control, they are one gradient
 * frame per task (on the cluster, and in local[4] over TCP). Both train local[4]'s bits in four executor JVMs:
 * this also covers what LocalClusterDeterminismTest (separate executor JVMs, the same bits) checked before.
 */
class DriverBytesClusterTest {
  @TempDir Path dir;

  private JsonNode train(Path data, String name, String master, int partitions, String reduce) throws Exception {
    Map<String, String> s = SmallJobConf.settings(data, dir.resolve(name + ".stm"), dir.resolve("p-" + name));
    s.put("model.layers", "dense(32), relu, dense(4)");
    s.put("data.partitions", Integer.toString(partitions));
    s.put("data.validation_fraction", "0");
    s.put("train.epochs", "1");
    s.put("train.engine", "barrier");
    s.put("train.transport", "tcp");
    s.put("train.reduce", reduce);
    SmallJobConf.onMaster(s, master);
    CliRun.Result r = CliRun.inProcess("train", SmallJobConf.write(dir.resolve(name + ".conf"), s).toString());
    assertEquals(0, r.exitCode(), name + "\n" + r);
    return r.json();
  }

  private float[] params(String name) {
    return SavedModel.load(dir.resolve(name + ".stm").toString(), new Configuration()).params();
  }

  @Test
  void bytesIntoTheDriverDoNotGrowWithTheExecutors() throws Exception {
    Path data = Files.createDirectories(dir.resolve("data"));
    SyntheticImages.writeDataset(data, 400, 50, 8, 4);
    SparkFixture.stopAll();
    JsonNode local = train(data, "local4", "local[4]", 4, "flat");
    SparkFixture.stopAll();
    String cluster = "local-cluster[4,1,1024]";
    // one session for both cluster runs (the command uses the session it finds), so the executors start once
    Map<String, String> conf = SmallJobConf.settings(data, dir.resolve("x.stm"), dir.resolve("x"));
    SmallJobConf.onMaster(conf, cluster);
    var builder = org.apache.spark.sql.SparkSession.builder();
    conf.forEach((k, v) -> {
      if (k.startsWith("spark.")) builder.config(k, v);
    });
    builder.getOrCreate();
    JsonNode two = train(data, "tree2", cluster, 2, "tree");
    JsonNode four = train(data, "tree4", cluster, 4, "auto");  // the default: the tree on a cluster master
    JsonNode flat = train(data, "flat4", cluster, 4, "flat");
    SparkFixture.stopAll();

    int params = four.path("parameters").asInt();
    long frame = Frames.gradFrame(params, 0), done = Frames.gradFrame(0, 0);
    assertEquals("tree", two.path("reduce").asText(), two.toString());
    assertEquals("tree", four.path("reduce").asText(), four.toString());
    long b2 = two.path("driver_bytes_in_per_step").asLong(), b4 = four.path("driver_bytes_in_per_step").asLong();
    long bFlat = local.path("driver_bytes_in_per_step").asLong();
    System.err.printf("driver bytes in per step: tree 2 executors %,d, tree 4 executors %,d, flat, local[4] over TCP, %,d;"
        + " one gradient frame %,d bytes (%,d parameters)%n", b2, b4, bFlat, frame, params);
    // tree: one gradient frame and a "done" from every other partition, whatever the number of executors
    assertEquals(frame + done, b2);
    assertEquals(frame + 3 * done, b4);
    assertTrue(b4 <= 2L * 4 * params, "tree, 4 executors: " + b4 + " bytes > 2 × the model");
    // the control: flat, every task sends its gradient
    assertEquals(4 * frame, bFlat);
    // same bits everywhere
    assertEquals("flat", flat.path("reduce").asText(), flat.toString());
    assertEquals(4 * frame, flat.path("driver_bytes_in_per_step").asLong(), "flat on 4 executors");
    // separate executor JVMs, either way, train local[4]'s bits
    assertArrayEquals(params("local4"), params("tree4"), "tree on 4 executors vs local[4]");
    assertArrayEquals(params("local4"), params("flat4"), "flat on 4 executors vs local[4]");
    assertEquals(local.path("test_accuracy").asDouble(), two.path("test_accuracy").asDouble(), 0.05);
  }
}
