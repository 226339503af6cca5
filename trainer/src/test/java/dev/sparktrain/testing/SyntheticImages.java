package dev.sparktrain.testing;

import dev.sparktrain.tensor.Rng;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;

/**
 * A small, learnable image-classification data set written as IDX files, for tests that need real files:
 * class c lights a c-th horizontal band of an S×S image, plus seeded noise.
 */
public final class SyntheticImages {
  public final int count;
  public final int side;
  public final int classes;
  public final byte[] pixels;
  public final byte[] labels;

  public SyntheticImages(int count, int side, int classes, long seed) {
    this.count = count;
    this.side = side;
    this.classes = classes;
    pixels = new byte[count * side * side];
    labels = new byte[count];
    Rng rng = new Rng(seed);
    int band = Math.max(1, side / classes);
    for (int i = 0; i < count; i++) {
      int c = rng.nextInt(classes);
      labels[i] = (byte) c;
      for (int r = 0; r < side; r++) {
        for (int col = 0; col < side; col++) {
          boolean lit = r / band == c;
          int v = (lit ? 150 : 20) + rng.nextInt(90);
          pixels[i * side * side + r * side + col] = (byte) v;
        }
      }
    }
  }

  /** The IDX bytes of the images: magic 0x00000803, count, rows, cols, then pixels. */
  public byte[] imagesIdx() {
    return idx(3, pixels, count, side, side);
  }

  /** The IDX bytes of the labels: magic 0x00000801, count, then labels. */
  public byte[] labelsIdx() {
    return idx(1, labels, count);
  }

  public static byte[] idx(int dims, byte[] body, int... sizes) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(0);
    out.write(0);
    out.write(8);
    out.write(dims);
    for (int s : sizes) {
      out.write(s >>> 24);
      out.write(s >>> 16);
      out.write(s >>> 8);
      out.write(s);
    }
    out.writeBytes(body);
    return out.toByteArray();
  }

  /** Writes the four files of a train/test split into dir (gzipped, like the real data set); returns dir. */
  public static Path writeDataset(Path dir, int trainCount, int testCount, int side, int classes) throws IOException {
    SyntheticImages train = new SyntheticImages(trainCount, side, classes, 1);
    SyntheticImages test = new SyntheticImages(testCount, side, classes, 2);
    gzip(dir.resolve("train-images.gz"), train.imagesIdx());
    gzip(dir.resolve("train-labels.gz"), train.labelsIdx());
    gzip(dir.resolve("test-images.gz"), test.imagesIdx());
    gzip(dir.resolve("test-labels.gz"), test.labelsIdx());
    return dir;
  }

  public static void gzip(Path file, byte[] bytes) throws IOException {
    try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(file))) {
      out.write(bytes);
    }
  }
}
