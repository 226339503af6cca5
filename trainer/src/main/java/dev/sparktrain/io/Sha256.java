// SHA-256 digests as lowercase hex, of bytes in memory or of a stream read in chunks.
package dev.sparktrain.io;

import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Computes the lowercase hex SHA-256 that ensemble manifests record for themselves and for their members. */
final class Sha256 {
  private Sha256() {}

  static String hex(byte[] bytes) {
    return HexFormat.of().formatHex(digest().digest(bytes));
  }

  /** The digest of everything left in {@code in} (not closed), read 64 KiB at a time. */
  static String hex(InputStream in) throws IOException {
    MessageDigest md = digest();
    byte[] chunk = new byte[1 << 16];
    for (int n; (n = in.read(chunk)) > 0; ) md.update(chunk, 0, n);
    return HexFormat.of().formatHex(md.digest());
  }

  static MessageDigest digest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
  }
}
