package dev.sparktrain.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparktrain.io.SavedModel;
import dev.sparktrain.testing.CliRun;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cycle at the command line: pretrain on two of the four classes and publish to a zoo, fine-tune the zoo's
 * latest version on the other two with a frozen body and a second phase; the JSON line's counts and bytes; bad
 * zoo references and settings are one-line errors.
 */
class FineTuneCommandTest {
  @TempDir Path dir;

  @Test
  void pretrainPublishThenFineTuneFromTheZoo() throws Exception {
    String zoo = dir.resolve("zoo").toString();
    Path pre = SmallJobConf.inDir(dir, "pre", Map.of("data.classes", "0, 1", "model.layers", "dense(16), relu, dense(2)",
        "checkpoint.dir", dir.resolve("ck").toString(), "pretrain.zoo", zoo, "pretrain.name", "tiny", "train.epochs", "2"));
    Path preMetrics = dir.resolve("pre.jsonl");
    CliRun.Result p = CliRun.inProcess("pretrain", pre.toString(), "metrics.path=" + preMetrics);
    assertEquals(0, p.exitCode(), p.toString());
    var preLines = MetricsFileTest.lines(preMetrics);
    assertEquals("pretrain", preLines.get(0).path("command").asText());
    assertEquals(p.json(), preLines.get(preLines.size() - 1).path("result"), "pretrain's end line holds its result");
    assertEquals("tiny@v1", p.json().path("zoo_version").asText());
    float[] pretrained = SavedModel.load(dir.resolve("pre.stm").toString(), new Configuration()).params();

    Path ft = SmallJobConf.inDir(dir, "ft", Map.of("data.classes", "2, 3", "finetune.zoo", zoo, "finetune.from", "tiny",
        "data.per_class", "20", "data.validation_fraction", "0", "train.epochs", "3", "train.transport", "tcp"));
    CliRun.Result r = CliRun.inProcess("finetune", ft.toString(), "train.engine=barrier");
    assertEquals(0, r.exitCode(), r.toString());
    JsonNode j = r.json();
    assertEquals("tiny@v1", j.path("zoo_version").asText());
    // dense(16) on 64 inputs is frozen (1,040 parameters); relu; the new dense(2) head trains (34)
    assertEquals(1040, j.path("frozen_parameters").asLong());
    assertEquals(34, j.path("trainable_parameters").asLong());
    assertEquals(2 * (12 + 8 + 4 + 8 + 8 + 8 + 4 + 34 * 4 + 4 + 4), j.path("bytes_per_step").asLong(),
        "two partitions' GRAD frames: header, step, partition, loss, count, correct, n, 34 floats, m, CRC");
    assertEquals(j.path("bytes_per_step").asLong(), j.path("bytes_per_step_measured").asLong(), r.toString());
    assertTrue(j.path("bytes_per_step_unfrozen").asLong() > 20 * j.path("bytes_per_step").asLong());
    assertEquals(40, j.path("train_examples").asLong());
    assertTrue(j.path("test_accuracy").asDouble() > 0.5, r.toString());
    float[] tuned = SavedModel.load(dir.resolve("ft.stm").toString(), new Configuration()).params();
    assertArrayEquals(Arrays.copyOf(pretrained, 1040), Arrays.copyOf(tuned, 1040), "the frozen layer is unchanged");

    // a second phase that unfreezes everything moves the first layer too
    Path ftMetrics = dir.resolve("ft.jsonl");
    CliRun.Result two = CliRun.inProcess("finetune", ft.toString(), "finetune.phase2_epochs=2",
        "finetune.phase2_freeze_until=0", "metrics.path=" + ftMetrics);
    assertEquals(0, two.exitCode(), two.toString());
    // one file for both phases: phase 2's steps and epochs follow phase 1's
    var ftLines = MetricsFileTest.lines(ftMetrics);
    assertEquals("finetune", ftLines.get(0).path("command").asText());
    assertEquals(java.util.List.of(1, 2, 3, 4, 5), ftLines.stream().filter(n -> n.path("type").asText().equals("epoch"))
        .map(n -> n.path("epoch").asInt()).toList());
    var ftSteps = ftLines.stream().filter(n -> n.path("type").asText().equals("step")).map(n -> n.path("step").asLong())
        .toList();
    assertEquals(java.util.stream.LongStream.rangeClosed(1, ftSteps.size()).boxed().toList(), ftSteps);
    assertEquals(0, ftSteps.size() % 5, ftSteps.toString());
    assertEquals(two.json(), ftLines.get(ftLines.size() - 1).path("result"));
    assertEquals(1074, two.json().path("phase2_trainable_parameters").asLong());
    assertEquals(5, two.json().path("epochs").asInt());
    float[] both = SavedModel.load(dir.resolve("ft.stm").toString(), new Configuration()).params();
    assertTrue(!Arrays.equals(Arrays.copyOf(pretrained, 1040), Arrays.copyOf(both, 1040)));

    CliRun.inProcess("finetune", ft.toString(), "finetune.from=tiny@v2")
        .assertUserError("zoo", "tiny");
    CliRun.inProcess("finetune", ft.toString(), "finetune.from=../x").assertUserError("'../x'");
    CliRun.inProcess("finetune", ft.toString(), "finetune.freeze_until=3")
        .assertUserError("finetune.freeze_until = 3: the network has 3 layers");
    CliRun.inProcess("finetune", ft.toString(), "finetune.from=").assertUserError("finetune.from");
  }
}
