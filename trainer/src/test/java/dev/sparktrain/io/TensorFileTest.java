// Tests of the tensor file: exact round trips, the documented byte layout, atomic writes and rejection of bad files.
package dev.sparktrain.io;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparktrain.UserError;
import dev.sparktrain.tensor.Rng;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.util.Progressable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TensorFileTest {
  private static final String MODEL = TensorFile.MODEL_FORMAT;
  private static final String FUZZ_NAME = "fuzz/x.stm";
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;
  private final Configuration conf = new Configuration();

  // ---------------------------------------------------------------- round trips and layout

  @Test
  void roundTripIsBitExactAndKeepsMeta() {
    float[] special = {0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL, 0x1.fffffcp-127f, Float.MAX_VALUE,
        -Float.MAX_VALUE, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, 1f / 3, -2.5e-30f, 7f, 1e30f};
    List<NamedTensor> tensors = List.of(
        new NamedTensor("w", new int[] {3, 5}, special),
        NamedTensor.vector("b", new float[] {1, 2, 3}),
        new NamedTensor("scale", new int[] {}, new float[] {0.5f}),
        new NamedTensor("empty", new int[] {0, 4}, new float[0]));
    ObjectNode meta = sampleMeta();

    TensorFile.Contents back = TensorFile.fromBytes("m.stm", TensorFile.toBytes(MODEL, meta, tensors), MODEL);

    assertEquals(MODEL, back.format());
    assertEquals(meta, back.meta());
    assertEquals(List.of("w", "b", "scale", "empty"), List.copyOf(back.tensors().keySet()));
    for (NamedTensor t : tensors) {
      NamedTensor r = back.tensor(t.name());
      assertArrayEquals(t.shape(), r.shape(), t.name());
      assertArrayEquals(bits(t.values()), bits(r.values()), t.name());
    }
    assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(back.values("w")[1]), "negative zero kept");
  }

  @Test
  void millionValuesRoundTripThroughPlainPathsAndFileUris() {
    float[] params = new float[1_000_003];
    Rng rng = new Rng(7);
    for (int i = 0; i < params.length; i++) params[i] = Float.intBitsToFloat((int) rng.nextLong());
    List<NamedTensor> tensors = List.of(NamedTensor.vector("params", params));

    for (String uri : List.of(dir.resolve("plain.stm").toString(), dir.resolve("uri.stm").toUri().toString())) {
      TensorFile.write(uri, conf, MODEL, sampleMeta(), tensors);
      TensorFile.Contents back = TensorFile.read(uri, conf, MODEL);
      assertArrayEquals(bits(params), bits(back.values("params")), uri);
      assertEquals(sampleMeta(), back.meta());
      assertEquals(uri, back.source());
    }
    assertEquals(List.of("plain.stm", "uri.stm"), listDir(), "no temp files and no Hadoop .crc side files");
  }

  @Test
  void layoutMatchesTheSpec() throws Exception {
    float[] w = {1.5f, -2f, 0f, 3.25f, 1e-40f, -0f};
    byte[] file = TensorFile.toBytes("sparktrain-checkpoint", JSON.createObjectNode().put("k", "v"),
        List.of(new NamedTensor("w", new int[] {2, 3}, w), NamedTensor.vector("b", new float[] {9f})));
    ByteBuffer buf = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);

    assertEquals("SPKTRN01", new String(file, 0, 8, UTF_8));
    int headerLength = buf.getInt(8);
    String header = new String(file, 12, headerLength, UTF_8);
    assertEquals("{\"format\":\"sparktrain-checkpoint\",\"format_version\":1,\"tensors\":["
        + "{\"name\":\"w\",\"dtype\":\"float32\",\"shape\":[2,3]},"
        + "{\"name\":\"b\",\"dtype\":\"float32\",\"shape\":[1]}],"
        + "\"meta\":{\"k\":\"v\"}}", header.stripTrailing());
    assertTrue(header.substring(header.stripTrailing().length()).chars().allMatch(c -> c == ' '), "padding is spaces");
    int data = 12 + headerLength;
    assertEquals(0, data % 8, "tensor data starts 8-byte aligned");
    assertEquals(16 + headerLength + 4 * 7, file.length, "length = 16 + header + 4 x values");
    for (int i = 0; i < w.length; i++) assertEquals(Float.floatToRawIntBits(w[i]), buf.getInt(data + 4 * i));
    assertEquals(9f, buf.getFloat(data + 24));
    CRC32C crc = new CRC32C();
    crc.update(file, 0, file.length - 4);
    assertEquals((int) crc.getValue(), buf.getInt(file.length - 4), "trailer is CRC32C of all preceding bytes");
  }

  @Test
  void handWrittenFileWithoutMetaOrPaddingIsAccepted() {
    // Proves the crafting helper below builds valid files, so that the rejections it drives are real.
    byte[] file = craft("{\"format\":\"sparktrain-model\",\"format_version\":1,"
        + "\"tensors\":[{\"name\":\"a\",\"dtype\":\"float32\",\"shape\":[2]}]}", floatBytes(4f, -1f));
    TensorFile.Contents back = TensorFile.fromBytes(FUZZ_NAME, file, MODEL);
    assertEquals(0, back.meta().size());
    assertArrayEquals(new float[] {4f, -1f}, back.values("a"));
  }

  @Test
  void missingTensorIsAUserErrorNamingTheFile() {
    TensorFile.Contents back = TensorFile.fromBytes("models/m.stm", smallFile(), MODEL);
    UserError e = assertThrows(UserError.class, () -> back.tensor("nope"));
    assertTrue(e.getMessage().startsWith("models/m.stm: has no tensor 'nope'"), e.getMessage());
  }

  // ---------------------------------------------------------------- atomic writes

  @Test
  void overwriteReplacesTheOldFile() {
    String uri = dir.resolve("m.stm").toString();
    TensorFile.write(uri, conf, MODEL, null, List.of(NamedTensor.vector("p", new float[] {1})));
    TensorFile.write(uri, conf, MODEL, null, List.of(NamedTensor.vector("p", new float[] {2, 3})));
    assertArrayEquals(new float[] {2, 3}, TensorFile.read(uri, conf, MODEL).values("p"));
    assertEquals(List.of("m.stm"), listDir());
  }

  /** Fails the write after this many bytes: at once, in the prefix, header, data, and just before the checksum. */
  @ParameterizedTest
  @ValueSource(longs = {0, 5, 100, 300_000, 4_000_020, -1})
  void failedWriteKeepsTheOldFileAndLeavesNoTempFile(long failAfter) throws IOException {
    float[] old = {42f, 43f};
    Path target = dir.resolve("m.stm");
    TensorFile.write(target.toString(), conf, MODEL, sampleMeta(), List.of(NamedTensor.vector("p", old)));
    byte[] before = Files.readAllBytes(target);

    List<NamedTensor> big = List.of(NamedTensor.vector("p", new float[1_000_000]));
    long size = TensorFile.toBytes(MODEL, sampleMeta(), big).length;
    conf.set("fs.failing.impl", FailingFileSystem.class.getName());
    conf.setBoolean("fs.failing.impl.disable.cache", true);
    conf.setLong(FailingFileSystem.BUDGET, failAfter >= 0 ? failAfter : size - 1);
    String uri = "failing://" + target.toUri().getPath();

    UserError e = assertThrows(UserError.class, () -> TensorFile.write(uri, conf, MODEL, sampleMeta(), big));
    assertTrue(e.getMessage().startsWith(uri + ": cannot write (simulated disk failure"), e.getMessage());
    assertArrayEquals(before, Files.readAllBytes(target), "old file untouched");
    assertEquals(List.of("m.stm"), listDir(), "temp file removed");
  }

  @Test
  void writeUnderAFileFailsAndLeavesNothing() throws IOException {
    Files.writeString(dir.resolve("notes.txt"), "hello");
    String uri = dir.resolve("notes.txt").resolve("m.stm").toString();
    UserError e = assertThrows(UserError.class,
        () -> TensorFile.write(uri, conf, MODEL, null, List.of(NamedTensor.vector("p", new float[] {1}))));
    assertTrue(e.getMessage().startsWith(uri + ": cannot write"), e.getMessage());
    assertEquals("hello", Files.readString(dir.resolve("notes.txt")));
    assertEquals(List.of("notes.txt"), listDir());
  }

  @Test
  void writeOntoADirectoryIsRefused() throws IOException {
    Files.createDirectory(dir.resolve("models"));
    String uri = dir.resolve("models").toString();
    UserError e = assertThrows(UserError.class,
        () -> TensorFile.write(uri, conf, MODEL, null, List.of(NamedTensor.vector("p", new float[] {1}))));
    assertEquals(uri + ": is a directory; give a file name", e.getMessage());
    try (Stream<Path> inside = Files.list(dir.resolve("models"))) {
      assertEquals(0, inside.count());
    }
  }

  @Test
  void invalidArgumentsFailBeforeAnyFileIsTouched() {
    String uri = dir.resolve("m.stm").toString();
    List<NamedTensor> twice = List.of(NamedTensor.vector("p", new float[1]), NamedTensor.vector("p", new float[2]));
    assertThrows(IllegalArgumentException.class, () -> TensorFile.write(uri, conf, MODEL, null, twice));
    assertThrows(IllegalArgumentException.class, () -> TensorFile.write(uri, conf, " ", null, List.of()));
    assertThrows(IllegalArgumentException.class, () -> new NamedTensor("w", new int[] {2, 3}, new float[5]));
    assertThrows(IllegalArgumentException.class, () -> new NamedTensor("w", new int[] {-1}, new float[0]));
    assertThrows(IllegalArgumentException.class, () -> new NamedTensor("", new int[] {0}, new float[0]));
    assertEquals(List.of(), listDir());
  }

  // ---------------------------------------------------------------- files that must be rejected

  @Test
  void missingFileAndDirectoryAreRejectedNamingThem() throws IOException {
    String missing = dir.resolve("nope.stm").toString();
    assertEquals(missing + ": no such file",
        assertThrows(UserError.class, () -> TensorFile.read(missing, conf, MODEL)).getMessage());
    Files.createDirectory(dir.resolve("d.stm"));
    String directory = dir.resolve("d.stm").toString();
    assertEquals(directory + ": is a directory, not a tensor file",
        assertThrows(UserError.class, () -> TensorFile.read(directory, conf, MODEL)).getMessage());
  }

  @Test
  void everyTruncationIsRejected() {
    byte[] file = smallFile();
    for (int n = 0; n < file.length; n++) assertRejected(Arrays.copyOf(file, n), "");
  }

  @Test
  void truncatedOrExtendedFilesOnDiskAreRejectedNamingTheFile() throws IOException {
    String uri = dir.resolve("m.stm").toString();
    TensorFile.write(uri, conf, MODEL, sampleMeta(), List.of(NamedTensor.vector("p", new float[1000])));
    byte[] good = Files.readAllBytes(Path.of(uri));

    Files.write(Path.of(uri), Arrays.copyOf(good, good.length - 1));
    assertRead(uri, "truncated: the header describes " + good.length + " bytes, the file has " + (good.length - 1));
    Files.write(Path.of(uri), Arrays.copyOf(good, good.length + 3));
    assertRead(uri, "3 unexpected bytes after the data");
    Files.write(Path.of(uri), flipBit(good, 8 * (good.length - 100)));
    assertRead(uri, "checksum mismatch (file corrupted?)");
  }

  @Test
  void everySingleBitFlipIsRejected() {
    byte[] file = smallFile();
    for (int bit = 0; bit < 8 * file.length; bit++) assertRejected(flipBit(file, bit), "");
    // A flip in the tensor data passes every structural check; only the checksum can catch it.
    assertRejected(flipBit(file, 8 * (file.length - 6)), "checksum mismatch (file corrupted?)");
  }

  @Test
  void wrongMagicIsRejected() {
    byte[] png = Arrays.copyOf(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, 64);
    assertRejected(png, "not a sparktrain tensor file (wrong magic bytes)");
    byte[] future = smallFile();
    future[7] = '2';
    assertRejected(future, "tensor file layout 02 is not supported by this sparktrain (it reads 01)");
    assertRejected(new byte[0], "too short (0 bytes) to be a sparktrain tensor file");
  }

  @Test
  void oversizedHeaderLengthIsRejected() {
    byte[] header = "{}".getBytes(UTF_8);
    assertRejected(craftRaw(header, TensorFile.MAX_HEADER_BYTES + 1L, new byte[0]), "exceeds the 16 MiB limit");
    assertRejected(craftRaw(header, 0xFFFF_FFFFL, new byte[0]), "header length 4294967295 exceeds the 16 MiB limit");
    assertRejected(craftRaw(header, 3, new byte[0]), "header length 3 does not fit in the file's 18 bytes");
  }

  @Test
  void headerClaimingHugeTensorsIsRejectedFastWithoutAllocating() {
    long maxMemory = Runtime.getRuntime().maxMemory();
    String oneHuge = tensorsHeader("{\"name\":\"p\",\"dtype\":\"float32\",\"shape\":[2147483639]}");
    assertTrue(4L * 2147483639 > maxMemory, "the claim must exceed the heap for this test to mean anything");
    String manyHuge = tensorsHeader(hugeEntries(20));

    long start = System.nanoTime();
    assertRejected(craft(oneHuge, new byte[8]), "truncated: the header describes ");
    assertHeaderRejected(manyHuge, "truncated: the header describes ");
    assertHeaderRejected(tensorsHeader("{\"name\":\"p\",\"dtype\":\"float32\",\"shape\":[100000,1000000]}"),
        "tensor 'p' has shape [100000, 1000000], more than 2147483639 values");
    assertHeaderRejected(tensorsHeader("{\"name\":\"p\",\"dtype\":\"float32\",\"shape\":[65536,65536,65536,65536]}"),
        "more than 2147483639 values");
    long millis = (System.nanoTime() - start) / 1_000_000;
    assertTrue(millis < 1000, "rejection took " + millis + " ms; it must not touch the claimed sizes");
  }

  @Test
  void malformedJsonIsRejected() {
    assertHeaderRejected("not json", "header is not valid JSON");
    assertHeaderRejected("", "header is not a JSON object");
    assertHeaderRejected("[1,2]", "header is not a JSON object");
    assertHeaderRejected(validHeader() + " {}", "header is not valid JSON");
    assertRejected(craft(validHeader().replace("{\"format\"", "{\"format\":\"x\",\"format\""), new byte[0]),
        "header is not valid JSON (Duplicate field 'format')");
    byte[] badUtf8 = tensorsHeader("{\"name\":\"a?\",\"dtype\":\"float32\",\"shape\":[0]}").getBytes(UTF_8);
    badUtf8[indexOf(badUtf8, (byte) '?')] = (byte) 0xC3;
    assertRejected(craftRaw(badUtf8, badUtf8.length, new byte[0]), "header is not valid JSON");
    String deep = "[".repeat(2000) + "]".repeat(2000);
    assertHeaderRejected(validHeader().replace("}", ",\"meta\":{\"a\":" + deep + "}}"), "header is not valid JSON");
  }

  @Test
  void unknownFormatOrVersionIsRejected() {
    String ok = validHeader();
    assertRejected(craft(ok.replace("sparktrain-model", "sparktrain-checkpoint"), new byte[0]),
        "holds format 'sparktrain-checkpoint', expected 'sparktrain-model'");
    assertHeaderRejected(ok.replace("\"format\":\"sparktrain-model\",", ""), "header has no \"format\" string");
    assertRejected(craft(ok.replace("\"format_version\":1", "\"format_version\":2"), new byte[0]),
        "format_version 2 is newer than this sparktrain reads (1); upgrade sparktrain");
    assertHeaderRejected(ok.replace("\"format_version\":1", "\"format_version\":0"), "unsupported format_version 0");
    assertRejected(craft(ok.replace("\"format_version\":1", "\"format_version\":\"1\""), new byte[0]),
        "header has no integer \"format_version\"");
    assertRejected(craft(ok.replace("\"format_version\":1", "\"format_version\":1.0"), new byte[0]),
        "header has no integer \"format_version\"");
  }

  @Test
  void malformedTensorListIsRejected() {
    String entry = "{\"name\":\"a\",\"dtype\":\"float32\",\"shape\":[0]}";
    assertHeaderRejected(tensorsHeader(entry.replace("[0]", "[-1]")), "tensor 'a' has dimension -1");
    assertHeaderRejected(tensorsHeader(entry.replace("[0]", "[1.5]")), "tensor 'a' has dimension 1.5");
    assertHeaderRejected(tensorsHeader(entry.replace("[0]", "[\"2\"]")), "tensor 'a' has dimension \"2\"");
    assertHeaderRejected(tensorsHeader(entry.replace("[0]", "[4294967296]")), "has dimension 4294967296");
    assertHeaderRejected(tensorsHeader(entry.replace("[0]", "0")), "tensor 'a' has no \"shape\" list");
    assertHeaderRejected(tensorsHeader(entry + "," + entry), "header lists tensor 'a' twice");
    assertRejected(craft(tensorsHeader(entry.replace("float32", "float64")), new byte[0]),
        "tensor 'a' has dtype 'float64', expected \"float32\"");
    assertHeaderRejected(tensorsHeader(entry.replace("\"dtype\":\"float32\",", "")), "has dtype (missing)");
    assertHeaderRejected(tensorsHeader(entry.replace("\"a\"", "\"\"")), "tensor #0 has no name");
    assertHeaderRejected(tensorsHeader(entry.replace("{", "{\"offset\":0,")), "tensor #0 has unknown field 'offset'");
    assertHeaderRejected(tensorsHeader("7"), "tensor #0 in the header is not a JSON object");
    assertRejected(craft(validHeader().replace("\"tensors\":[", "\"extra\":1,\"tensors\":["), new byte[0]),
        "header has unknown field 'extra'");
    assertHeaderRejected(validHeader().replace("\"tensors\":[]", "\"tensors\":{}"), "header has no \"tensors\" list");
    assertHeaderRejected(validHeader().replace("}", ",\"meta\":[]}"), "header field \"meta\" is not a JSON object");
    String hostile = entry.replace("\"a\"", "\"evil\\nname\\u0007" + "x".repeat(500) + "\"");
    assertHeaderRejected(tensorsHeader(hostile + "," + hostile), "header lists tensor 'evil name xxx");
    UserError e = assertThrows(UserError.class,
        () -> TensorFile.fromBytes(FUZZ_NAME, craft(tensorsHeader(hostile + "," + hostile), new byte[0]), MODEL));
    assertFalse(e.getMessage().contains("\u0007"), "control characters stripped");
    assertTrue(e.getMessage().length() < 250, "file text is cut short in messages: " + e.getMessage());
  }

  // ---------------------------------------------------------------- helpers

  /** Decoding must fail with a one-line UserError that names the file and contains {@code fragment}. */
  private static void assertRejected(byte[] file, String fragment) {
    UserError e;
    try {
      TensorFile.fromBytes(FUZZ_NAME, file, MODEL);
      fail("accepted a bad file of " + file.length + " bytes; expected: " + fragment);
      return;
    } catch (UserError u) {
      e = u;
    } catch (RuntimeException | Error other) {
      throw new AssertionError("expected a UserError containing '" + fragment + "', got " + other, other);
    }
    String message = e.getMessage();
    assertTrue(message.startsWith(FUZZ_NAME + ": "), message);
    assertTrue(message.contains(fragment), "expected '" + fragment + "' in: " + message);
    assertFalse(message.contains("\n"), "one line: " + message);
  }

  /** A file with this header, no data and a correct checksum must be rejected as {@link #assertRejected} says. */
  private static void assertHeaderRejected(String header, String fragment) {
    assertRejected(craft(header, new byte[0]), fragment);
  }

  private void assertRead(String uri, String fragment) {
    UserError e = assertThrows(UserError.class, () -> TensorFile.read(uri, conf, MODEL));
    assertTrue(e.getMessage().startsWith(uri + ": ") && e.getMessage().contains(fragment), e.getMessage());
  }

  /** A small valid model file: meta, two tensors; small enough to flip every bit. */
  private static byte[] smallFile() {
    return TensorFile.toBytes(MODEL, sampleMeta(), List.of(
        new NamedTensor("w", new int[] {2, 2}, new float[] {1, -2, 3.5f, 0}),
        NamedTensor.vector("b", new float[] {0.25f, -0f})));
  }

  private static ObjectNode sampleMeta() {
    ObjectNode meta = JSON.createObjectNode();
    meta.putObject("architecture").put("layers", 3).putArray("widths").add(784).add(128).add(10);
    // Numbers as JSON gives them back: an int that fits is an int node, a larger one a long node.
    meta.putObject("config").put("lr", 0.1 + 0.2).put("optimizer", "adam").put("seed", 42).put("steps", 5_000_000_000L)
        .putNull("schedule");
    meta.putObject("provenance").put("sparktrain", "0.1.0").put("note", "ünïcødé ✓");
    return meta;
  }

  private static String validHeader() {
    return "{\"format\":\"sparktrain-model\",\"format_version\":1,\"tensors\":[]}";
  }

  private static String tensorsHeader(String entries) {
    return "{\"format\":\"sparktrain-model\",\"format_version\":1,\"tensors\":[" + entries + "]}";
  }

  private static String hugeEntries(int n) {
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < n; i++) {
      s.append(i == 0 ? "" : ",").append("{\"name\":\"t").append(i);
      s.append("\",\"dtype\":\"float32\",\"shape\":[2000000000]}");
    }
    return s.toString();
  }

  /** A file with this header and data and a correct checksum, so that only the structure can be wrong. */
  private static byte[] craft(String header, byte[] data) {
    byte[] bytes = header.getBytes(UTF_8);
    return craftRaw(bytes, bytes.length, data);
  }

  private static byte[] craftRaw(byte[] header, long declaredLength, byte[] data) {
    ByteBuffer b = ByteBuffer.allocate(16 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
    b.put("SPKTRN01".getBytes(UTF_8)).putInt((int) declaredLength).put(header).put(data);
    CRC32C crc = new CRC32C();
    crc.update(b.array(), 0, b.position());
    b.putInt((int) crc.getValue());
    return b.array();
  }

  private static byte[] floatBytes(float... values) {
    ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    for (float v : values) b.putFloat(v);
    return b.array();
  }

  private static byte[] flipBit(byte[] file, int bit) {
    byte[] copy = file.clone();
    copy[bit / 8] ^= (byte) (1 << (bit % 8));
    return copy;
  }

  private static int indexOf(byte[] bytes, byte b) {
    for (int i = 0; i < bytes.length; i++) if (bytes[i] == b) return i;
    throw new AssertionError("byte not found");
  }

  /** Bit patterns with NaNs made canonical: NaN payloads need not survive, every other bit must. */
  private static int[] bits(float[] values) {
    int[] bits = new int[values.length];
    for (int i = 0; i < values.length; i++) bits[i] = Float.floatToIntBits(values[i]);
    return bits;
  }

  private List<String> listDir() {
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  /** The local file system under the scheme failing://, whose output streams fail after a byte budget. */
  public static final class FailingFileSystem extends RawLocalFileSystem {
    static final String BUDGET = "test.failing.after.bytes";

    @Override
    public URI getUri() {
      return URI.create("failing:///");
    }

    @Override
    public String getScheme() {
      return "failing";
    }

    @Override
    public FSDataOutputStream create(org.apache.hadoop.fs.Path f, FsPermission permission, boolean overwrite,
        int bufferSize, short replication, long blockSize, Progressable progress) throws IOException {
      return failing(super.create(f, permission, overwrite, bufferSize, replication, blockSize, progress));
    }

    @Override
    public FSDataOutputStream create(org.apache.hadoop.fs.Path f, boolean overwrite, int bufferSize, short replication,
        long blockSize, Progressable progress) throws IOException {
      return failing(super.create(f, overwrite, bufferSize, replication, blockSize, progress));
    }

    private FSDataOutputStream failing(OutputStream real) {
      long budget = getConf().getLong(BUDGET, 0);
      return new FSDataOutputStream(new FilterOutputStream(real) {
        private long written;

        @Override
        public void write(int b) throws IOException {
          write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
          if (written + len > budget) throw new IOException("simulated disk failure after " + written + " bytes");
          written += len;
          out.write(b, off, len);
        }
      }, null);
    }
  }
}
