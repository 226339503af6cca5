package dev.sparktrain.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktrain.UserError;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The metrics file reader: every record of the contract, nulls, extra fields, resumed runs and each kind of bad line. */
class MetricsFileReaderTest {
  private static final String START = "{\"type\":\"start\",\"time\":\"2026-12-06T20:00:00Z\",\"command\":\"train\","
      + "\"run\":\"r1\",\"config\":{\"optimizer.name\":\"adam\",\"train.epochs\":\"2\",\"model.layers\":\"dense(10)\"},"
      + "\"provenance\":{\"project_version\":\"0.1.0\",\"java\":\"17\",\"spark\":\"4.2.0\",\"host\":\"h\","
      + "\"master\":\"local[2]\",\"seed\":42},\"future_field\":[1,2]}";
  private static final String STEP1 = "{\"type\":\"step\",\"step\":1,\"epoch\":1,\"loss\":2.3,\"lr\":0.001,"
      + "\"grad_norm\":null,\"examples_per_second\":1000.5,\"seconds\":0.2,\"extra\":\"x\"}";
  private static final String STEP2 = "{\"type\":\"step\",\"step\":2,\"epoch\":1,\"loss\":1.9,\"lr\":0.001,"
      + "\"grad_norm\":3.5,\"examples_per_second\":1200,\"seconds\":0.4}";
  private static final String EPOCH1 = "{\"type\":\"epoch\",\"epoch\":1,\"train_loss\":2.1,\"train_accuracy\":null,"
      + "\"validation_loss\":1.8,\"validation_accuracy\":0.41,\"lr\":0.001,\"seconds\":0.4}";
  private static final String END = "{\"type\":\"end\",\"seconds\":1.5,\"result\":{\"test_accuracy\":0.5,\"model\":\"m.stm\"},"
      + "\"test\":{\"accuracy\":0.5,\"loss\":1.7,\"classes\":[0,1],\"confusion\":[[3,1],[2,2]]}}";

  private final List<String> warnings = new ArrayList<>();

  private RecordedRun parse(String... lines) {
    return MetricsFileReader.parse("runs/r1.jsonl", List.of(lines), warnings::add);
  }

  @Test
  void readsEveryRecordIgnoringUnknownFieldsAndTypes() {
    RecordedRun r = parse(START, STEP1, "{\"type\":\"histogram\",\"step\":1}", STEP2, EPOCH1, "", END);
    assertEquals("r1", r.name());
    assertEquals("2026-12-06T20:00:00Z", r.time());
    assertEquals(List.of("optimizer.name", "train.epochs", "model.layers"), List.copyOf(r.config().keySet()), "file order");
    assertEquals("42", r.provenance().get("seed"));
    assertEquals(2, r.steps().size());
    assertEquals(2.3, r.steps().get(0).loss());
    assertTrue(Double.isNaN(r.steps().get(0).gradNorm()), "null is NaN");
    assertEquals(3.5, r.steps().get(1).gradNorm());
    assertEquals(1200, r.steps().get(1).examplesPerSecond());
    assertEquals(1, r.epochs().size());
    assertTrue(Double.isNaN(r.epochs().get(0).trainAccuracy()));
    assertEquals(0.41, r.epochs().get(0).validationAccuracy());
    assertEquals(1.5, r.end().seconds());
    assertEquals("m.stm", r.end().result().get("model"));
    assertEquals(List.of("0", "1"), r.test().classes());
    assertArrayEquals(new long[] {2, 2}, r.test().confusion()[1]);
    assertArrayEquals(new double[] {0.75, 0.5}, r.test().perClassAccuracy(), 1e-12);
    assertEquals(List.of(), warnings);
  }

  @Test
  void aRunWithoutEndOrTestIsReportedAsItIs() {
    RecordedRun r = parse(START, STEP1);
    assertNull(r.end());
    assertNull(r.test());
    RecordedRun noTest = parse(START, STEP1, "{\"type\":\"end\",\"seconds\":1,\"result\":{},\"test\":null}");
    assertEquals(1.0, noTest.end().seconds());
    assertNull(noTest.test());
  }

  @Test
  void aResumedRunKeepsOneRecordPerStepAndTheFirstStart() {
    String resumed = START.replace("\"run\":\"r1\"", "\"run\":\"other\"");
    String step2Again = STEP2.replace("\"loss\":1.9", "\"loss\":1.7");
    RecordedRun r = parse(START, STEP1, STEP2, resumed, step2Again, EPOCH1, END);
    assertEquals("r1", r.name());
    assertEquals(2, r.steps().size());
    assertEquals(1.7, r.steps().get(1).loss(), "the record written after the resume");
  }

  @Test
  void aCutShortLastLineIsAWarningNamingFileAndLineAndTheRestIsKept() {
    RecordedRun r = parse(START, STEP1, STEP2, EPOCH1, END.substring(0, 40));
    assertEquals(1, warnings.size());
    String w = warnings.get(0);
    assertTrue(w.startsWith("warning: runs/r1.jsonl: line 5 "), w);
    assertEquals(2, r.steps().size());
    assertEquals(1, r.epochs().size());
    assertNull(r.end());
  }

  @Test
  void aBadLineBeforeTheLastIsAnErrorNamingFileAndLine() {
    UserError e = assertThrows(UserError.class, () -> parse(START, STEP1, "{\"type\":\"step\",\"ste", STEP2, END));
    assertTrue(e.getMessage().startsWith("runs/r1.jsonl: line 3: not JSON"), e.getMessage());
    UserError text = assertThrows(UserError.class,
        () -> parse(START, STEP1.replace("\"loss\":2.3", "\"loss\":\"high\""), END));
    assertEquals("runs/r1.jsonl: line 2: \"loss\" is not a number", text.getMessage());
    UserError type = assertThrows(UserError.class, () -> parse(START, "{\"step\":1}", END));
    assertEquals("runs/r1.jsonl: line 2: no \"type\"", type.getMessage());
    UserError shape = assertThrows(UserError.class,
        () -> parse(START, END.replace("[[3,1],[2,2]]", "[[3,1]]"), STEP1));
    assertTrue(shape.getMessage().contains("line 2: test.confusion must have one row per class (2)"), shape.getMessage());
  }

  @Test
  void aFileMustStartWithTheStartRecord() {
    UserError e = assertThrows(UserError.class, () -> parse(STEP1, STEP2));
    assertEquals("runs/r1.jsonl: line 1: the first record must be the start record, found \"step\"", e.getMessage());
    assertEquals("runs/r1.jsonl: empty (no start record)", assertThrows(UserError.class, () -> parse("", " ")).getMessage());
    UserError cut = assertThrows(UserError.class, () -> parse(START.substring(0, 30)));
    assertEquals("runs/r1.jsonl: no complete start record", cut.getMessage());
    assertEquals(1, warnings.size());
  }

  @Test
  void theRunIsNamedByTheFileWhenTheStartRecordHasNoName() {
    RecordedRun r = parse(START.replace("\"run\":\"r1\",", ""), STEP1);
    assertEquals("r1", r.name());
  }

  @Test
  void aTestWithoutConfusionMatrixKeepsItsAccuracyAndNonFiniteTextIsRead() {
    String end = "{\"type\":\"end\",\"seconds\":2,\"result\":{},\"test\":{\"accuracy\":0.8,\"loss\":0.5,"
        + "\"examples\":100,\"classes\":null,\"confusion\":null}}";
    RecordedRun r = parse(START, STEP1.replace("\"loss\":2.3", "\"loss\":\"NaN\""), STEP2, end);
    assertEquals(List.of(), warnings);
    assertTrue(Double.isNaN(r.steps().get(0).loss()));
    assertEquals(0.8, r.test().accuracy());
    assertEquals(100, r.test().examples());
    assertFalse(r.test().hasConfusion());
    assertEquals(0, r.test().perClassAccuracy().length);
    assertEquals(List.of("loss-step", "lr-step", "grad-norm-step", "throughput-step"),
        ReportCharts.all(List.of(r)).stream().map(ReportCharts.Chart::id).toList(), "no confusion chart, no per-class chart");
  }

  /** docs/metrics-sample holds two files written by the real metrics callback; the reader takes them as they are. */
  @Test
  void readsTheRecordedSamplesInDocs() {
    for (String name : List.of("adam", "nesterov-cosine")) {
      String file = dev.sparktrain.testing.CliRun.repoRoot().resolve("docs/metrics-sample/" + name + ".jsonl").toString();
      RecordedRun r = MetricsFileReader.read(file, new org.apache.hadoop.conf.Configuration(), warnings::add);
      assertEquals(List.of(), warnings);
      assertEquals(name.equals("adam") ? "adam" : "nesterov", r.config().get("optimizer.name"));
      assertEquals(3, r.epochs().size());
      assertEquals(1266, r.steps().size(), "422 steps of 128 over 53,919 examples, 3 epochs");
      assertEquals(1266, r.steps().get(r.steps().size() - 1).step());
      RecordedRun.Test t = r.test();
      assertEquals(10, t.classes().size());
      long total = 0, diagonal = 0;
      for (int i = 0; i < 10; i++) {
        diagonal += t.confusion()[i][i];
        for (long c : t.confusion()[i]) total += c;
      }
      assertEquals(10_000, total);
      assertEquals(t.accuracy(), diagonal / 10_000.0, 1e-12, "the test accuracy is the matrix's diagonal");
    }
  }
}
