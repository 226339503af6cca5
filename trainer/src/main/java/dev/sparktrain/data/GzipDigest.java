package dev.sparktrain.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.zip.GZIPInputStream;

/**
 * The checksums of a gzip file read in one pass: the MD5 of the compressed bytes and the size and SHA-256 of the
 * decompressed content. Reading stops once the content exceeds {@code limit} bytes, so that a wrong or hostile file
 * cannot make us inflate without end; {@code contentBytes} is then {@code limit + 1}.
 */
record GzipDigest(String gzipMd5, long contentBytes, String contentSha256) {

  static GzipDigest of(Path file, long limit) throws IOException {
    MessageDigest md5 = digest("MD5");
    MessageDigest sha256 = digest("SHA-256");
    long count = 0;
    try (InputStream raw = new DigestInputStream(Files.newInputStream(file), md5);
        InputStream in = new GZIPInputStream(raw, 1 << 16)) {
      byte[] buf = new byte[1 << 16];
      while (count <= limit) {
        int n = in.read(buf);
        if (n < 0) break;
        sha256.update(buf, 0, n);
        count += n;
      }
      if (count > limit) count = limit + 1;
      else raw.transferTo(OutputStream.nullOutputStream()); // bytes after the last gzip member count for the MD5
    }
    HexFormat hex = HexFormat.of();
    return new GzipDigest(hex.formatHex(md5.digest()), count, hex.formatHex(sha256.digest()));
  }

  private static MessageDigest digest(String algorithm) {
    try {
      return MessageDigest.getInstance(algorithm);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(algorithm + " is required of every Java platform", e);
    }
  }
}
