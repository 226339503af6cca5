package dev.sparktrain.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktrain.UserError;
import dev.sparktrain.testing.SyntheticImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** IDX headers are validated on open, and slices read back the right records, raw or gzipped. */
class IdxFileTest {
  @TempDir Path dir;
  final Configuration conf = new Configuration();
  final SyntheticImages data = new SyntheticImages(50, 4, 3, 1);

  private String write(String name, byte[] bytes, boolean gzip) throws Exception {
    Path p = dir.resolve(name);
    if (gzip) SyntheticImages.gzip(p, bytes);
    else Files.write(p, bytes);
    return p.toString();
  }

  @Test
  void readsSlicesRawAndGzipped() throws Exception {
    for (boolean gz : new boolean[] {false, true}) {
      IdxFile images = IdxFile.open(write("i" + gz, data.imagesIdx(), gz), 3, conf);
      IdxFile labels = IdxFile.open(write("l" + gz, data.labelsIdx(), gz), 1, conf);
      assertEquals(50, images.count());
      assertEquals(16, images.recordSize());
      assertEquals(gz, images.gzipped());
      float[] x = images.readImages(10, 13, conf);
      for (int i = 0; i < x.length; i++) assertEquals((data.pixels[10 * 16 + i] & 0xFF) / 255f, x[i], 1e-7);
      int[] y = labels.readLabels(47, 50, 3, conf);
      assertArrayEquals(new int[] {data.labels[47], data.labels[48], data.labels[49]}, y);
    }
  }

  @Test
  void wrongMagicNamesTheFileAndTheNumber() throws Exception {
    String path = write("labels-as-images", data.labelsIdx(), false);
    UserError e = assertThrows(UserError.class, () -> IdxFile.open(path, 3, conf));
    assertEquals(path + ": wrong IDX magic number 0x00000801 (expected 0x00000803: unsigned-byte images)", e.getMessage());
  }

  @Test
  void truncatedFilesAreRejectedRawAndGzipped() throws Exception {
    byte[] full = data.imagesIdx();
    for (boolean gz : new boolean[] {false, true}) {
      String path = write("cut" + gz, Arrays.copyOf(full, full.length - 20), gz);
      UserError e = assertThrows(UserError.class, () -> IdxFile.open(path, 3, conf));
      assertEquals(path + ": truncated: header declares 50 records but only 48 are complete", e.getMessage());
      String header = write("header" + gz, Arrays.copyOf(full, 9), gz);
      assertTrue(assertThrows(UserError.class, () -> IdxFile.open(header, 3, conf)).getMessage().startsWith(header + ": truncated"));
    }
  }

  @Test
  void trailingBytesAreRejected() throws Exception {
    byte[] full = data.labelsIdx();
    String path = write("long", Arrays.copyOf(full, full.length + 3), false);
    assertEquals(path + ": 3 bytes after the 50 records the header declares",
        assertThrows(UserError.class, () -> IdxFile.open(path, 1, conf)).getMessage());
  }

  @Test
  void absurdHeaderIsRejectedBeforeReading() throws Exception {
    String path = write("huge", SyntheticImages.idx(3, new byte[0], Integer.MAX_VALUE, 65535, 65535), false);
    UserError e = assertThrows(UserError.class, () -> IdxFile.open(path, 3, conf));
    assertTrue(e.getMessage().contains("too large"), e.getMessage());
  }

  @Test
  void zeroDimensionNamesTheFileAndTheField() throws Exception {
    String[] names = {"record count", "rows", "columns"};
    for (int d = 0; d < 3; d++) {
      int[] sizes = {50, 4, 4};
      sizes[d] = 0;
      String path = write("zero" + d, SyntheticImages.idx(3, new byte[0], sizes), false);
      assertEquals(path + ": invalid IDX header: dimension " + (d + 1) + " of 3 (" + names[d]
              + ") is 0; every dimension must be at least 1",
          assertThrows(UserError.class, () -> IdxFile.open(path, 3, conf)).getMessage());
    }
    String labels = write("zero-labels", SyntheticImages.idx(1, new byte[0], 0), true);
    assertEquals(labels + ": invalid IDX header: dimension 1 of 1 (label count) is 0; every dimension must be at least 1",
        assertThrows(UserError.class, () -> IdxFile.open(labels, 1, conf)).getMessage());
  }

  @Test
  void sizeAboveTheSigned32BitLimitIsAnInvalidHeader() throws Exception {
    String[] names = {"record count", "rows", "columns"};
    for (int d = 0; d < 3; d++) {
      for (int bad : new int[] {0xFFFFFFFF, 0x80000000}) {
        int[] sizes = {50, 4, 4};
        sizes[d] = bad;
        String path = write("huge" + d + "-" + Integer.toHexString(bad), SyntheticImages.idx(3, new byte[0], sizes), false);
        long unsigned = Integer.toUnsignedLong(bad);
        assertEquals(String.format("%s: invalid IDX header: dimension %d of 3 (%s) is 0x%08X (%d), above the format's "
                + "limit of 2147483647", path, d + 1, names[d], unsigned, unsigned),
            assertThrows(UserError.class, () -> IdxFile.open(path, 3, conf)).getMessage());
      }
    }
  }

  @Test
  void labelOutOfRangeNamesTheRow() throws Exception {
    byte[] labels = data.labels.clone();
    labels[17] = 9;
    String path = write("bad-labels", SyntheticImages.idx(1, labels, 50), true);
    IdxFile f = IdxFile.open(path, 1, conf);
    assertEquals(path + ": row 18: label 9 out of range [0, 3) (data.num_classes = 3)",
        assertThrows(UserError.class, () -> f.readLabels(0, 50, 3, conf)).getMessage());
  }

  @Test
  void missingFile() {
    String path = dir.resolve("nope").toString();
    assertEquals(path + ": file not found", assertThrows(UserError.class, () -> IdxFile.open(path, 3, conf)).getMessage());
  }
}
