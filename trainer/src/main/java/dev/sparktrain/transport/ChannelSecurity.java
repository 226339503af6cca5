package dev.sparktrain.transport;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * The step channel's protection (docs/step-protocol.md, "Security"), from the JDK's own crypto.
 *
 * <p><b>Authentication.</b> Each run draws a random 256-bit secret, which reaches its tasks inside the Spark
 * closure. A connection proves knowledge of it without sending it: the task's HELLO carries a fresh 16-byte nonce,
 * the driver answers with its own nonce and HMAC-SHA256(secret, "server" ‖ transcript), and the task answers with
 * HMAC-SHA256(secret, "client" ‖ transcript), where the transcript is the HELLO body, the driver's nonce and the
 * negotiated flags. Each side checks the other's MAC in constant time. A replayed HELLO meets a new driver nonce,
 * so its old proof no longer matches.
 *
 * <p><b>Encryption</b> (when the run asks for it). Both directions get their own AES-128-GCM key, derived from
 * the secret and the transcript (so from both nonces): prk = HMAC(secret, "keys" ‖ transcript), key =
 * HMAC(prk, "task→driver" or "driver→task")[0, 16). Frames travel as records of at most 64 KiB of plain bytes;
 * the k-th record in a direction is sealed with the 96-bit nonce (direction, k), and the 8 header bytes in front
 * of its ciphertext are its associated data. A tampered frame, a
 * frame replayed or reordered within a connection, or one taken from another connection fails its tag.
 */
public final class ChannelSecurity {
  private ChannelSecurity() {}

  public static final int SECRET = 32, NONCE = 16, MAC = 32, TAG = 16;
  private static final SecureRandom RANDOM = new SecureRandom();
  static final int TASK_TO_DRIVER = 1, DRIVER_TO_TASK = 2, BROADCAST = 3;
  /** A KEY frame's body: the endpoint's 16-byte broadcast key and the first record number the task may be sent. */
  public static final int KEY_BODY = 16 + 8;

  /** A run's identity and secret, and whether its frames are encrypted. */
  public record Run(long id, byte[] secret, boolean encrypt) implements java.io.Serializable {
    public Run {
      if (secret.length != SECRET) throw new IllegalArgumentException("the step channel's secret has " + secret.length + " bytes, not " + SECRET);
    }

    /** A fresh run: a random id and a random secret. */
    public static Run random(boolean encrypt) {
      if (encrypt) {
        checkAvailable();
        WarmUp.ensure();
      }
      return new Run(RANDOM.nextLong(), bytes(SECRET), encrypt);
    }
  }

  /** A fresh nonce for a HELLO. */
  public static byte[] nonce() {
    return bytes(NONCE);
  }

  static byte[] bytes(int n) {
    byte[] b = new byte[n];
    RANDOM.nextBytes(b);
    return b;
  }

  /** Fails with a clear message when this JVM cannot encrypt the channel: the channel never falls back to plain text. */
  public static void checkAvailable() {
    try {
      Cipher.getInstance("AES/GCM/NoPadding");
      Mac.getInstance("HmacSHA256");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the step channel must be encrypted (Spark's network encryption is on), but this "
          + "JVM has no AES/GCM or HmacSHA256: " + e.getMessage(), e);
    }
  }

  /** What both sides MAC and derive keys from: the HELLO body, the driver's nonce and the flags it confirmed. */
  static byte[] transcript(byte[] helloBody, byte[] driverNonce, int flags) {
    ByteBuffer b = ByteBuffer.allocate(helloBody.length + NONCE + 4).order(ByteOrder.LITTLE_ENDIAN);
    return b.put(helloBody).put(driverNonce).putInt(flags).array();
  }

  static byte[] mac(byte[] key, String label, byte[] data) {
    try {
      Mac m = Mac.getInstance("HmacSHA256");
      m.init(new SecretKeySpec(key, "HmacSHA256"));
      m.update(label.getBytes(StandardCharsets.US_ASCII));
      return m.doFinal(data);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256: " + e.getMessage(), e);
    }
  }

  static byte[] driverProof(byte[] secret, byte[] transcript) {
    return mac(secret, "sparktrain step driver", transcript);
  }

  static byte[] taskProof(byte[] secret, byte[] transcript) {
    return mac(secret, "sparktrain step task", transcript);
  }

  static boolean same(byte[] expected, byte[] got) {
    return MessageDigest.isEqual(expected, got);
  }

  /** The sealing side of one direction of a connection. */
  static Aead sealer(byte[] secret, byte[] transcript, int direction) {
    WarmUp.ensure();
    return new Aead(key(secret, transcript, direction), direction, Cipher.ENCRYPT_MODE);
  }

  /** The opening side of one direction of a connection. */
  static Aead opener(byte[] secret, byte[] transcript, int direction) {
    WarmUp.ensure();
    return new Aead(key(secret, transcript, direction), direction, Cipher.DECRYPT_MODE);
  }

  /**
   * Gets the JIT to compile AES-GCM once per JVM before the first frame. Until the JDK's GCM code is compiled (and
   * its AES and GHASH intrinsics used) it runs about 50 times slower, and with 64 KiB records that took the first
   * 2–3 s of an encrypted run (measured: 0.06 GB/s, then 3 GB/s, JDK 17 on AMD EPYC). Compilation follows the
   * number of calls, not the bytes, so 10,000 seal–open pairs of 512 bytes under a throwaway key (about 0.15 s) do
   * it. The class initializer runs once, and every other thread waits for it.
   */
  static final class WarmUp {
    static final int ROUNDS = 10_000, SIZE = 512;

    static {
      byte[] key = bytes(16), plain = new byte[SIZE], sealed = new byte[8 + SIZE + TAG], body = new byte[SIZE + TAG];
      byte[] back = new byte[SIZE];
      Aead seal = new Aead(key, DRIVER_TO_TASK, Cipher.ENCRYPT_MODE), open = new Aead(key, DRIVER_TO_TASK, Cipher.DECRYPT_MODE);
      try {
        for (int i = 0; i < ROUNDS; i++) {
          int n = seal.seal(plain, 0, SIZE, sealed);
          System.arraycopy(sealed, 8, body, 0, n - 8);
          open.open(sealed, body, n - 8, back, 0, "warm-up");
        }
      } catch (IOException e) {
        throw new IllegalStateException("AES-GCM failed its own round trip: " + e.getMessage(), e);
      }
    }

    private WarmUp() {}

    static void ensure() {}  // loading the class runs the warm-up
  }

  private static byte[] key(byte[] secret, byte[] transcript, int direction) {
    byte[] prk = mac(secret, "sparktrain step keys", transcript);
    return Arrays.copyOf(mac(prk, direction == TASK_TO_DRIVER ? "task to driver" : "driver to task", new byte[0]), 16);
  }

  /**
   * AES-128-GCM over one direction of one connection. Record k (0, 1, 2, ...) uses the nonce (direction, k), so
   * records are opened in the order they were sealed, and each exactly once. Not thread-safe: one writer, one reader.
   */
  static final class Aead {
    private final SecretKeySpec key;
    private final int direction, mode;
    private final Cipher cipher;
    private final byte[] nonce = new byte[12];
    private long sequence;

    private Aead(byte[] key, int direction, int mode) {
      this.key = new SecretKeySpec(key, "AES");
      this.direction = direction;
      this.mode = mode;
      try {
        this.cipher = Cipher.getInstance("AES/GCM/NoPadding");
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("the encrypted step channel needs AES/GCM: " + e.getMessage(), e);
      }
    }

    private void init(long k) throws GeneralSecurityException {
      ByteBuffer.wrap(nonce).order(ByteOrder.LITTLE_ENDIAN).putInt(direction).putLong(k);
      cipher.init(mode, key, new GCMParameterSpec(8 * TAG, nonce));
    }

    /**
     * Seals plain[from, from + len) into out as one record: u32 SEALED magic, u32 L, L bytes of ciphertext and tag;
     * returns the bytes written. out must hold 8 + len + TAG.
     */
    int seal(byte[] plain, int from, int len, byte[] out) {
      ByteBuffer.wrap(out, 0, 8).order(ByteOrder.LITTLE_ENDIAN).putInt(Frames.SEALED_MAGIC).putInt(len + TAG);
      return sealAfter(sequence++, out, 0, 8, plain, from, len, "a step frame");
    }

    /** Opens record sealed[0, len), whose 8 header bytes are header[0, 8), into out at at; returns the plain length. */
    int open(byte[] header, byte[] sealed, int len, byte[] out, int at, String peer) throws IOException {
      return openAfter(sequence++, header, 8, sealed, len, out, at, peer + ": encrypted record",
          "tampered, truncated, reordered, replayed or from another connection");
    }

    /**
     * Seals plain[from, from + len) into out at at as broadcast record k: u32 BROADCAST magic, u32 L, u64 k, then L
     * bytes of ciphertext and tag; returns the bytes written.
     */
    int sealRecord(long k, byte[] plain, int from, int len, byte[] out, int at) {
      ByteBuffer.wrap(out, at, Broadcast.HEADER).order(ByteOrder.LITTLE_ENDIAN)
          .putInt(Frames.BROADCAST_MAGIC).putInt(len + TAG).putLong(k);
      return sealAfter(k, out, at, Broadcast.HEADER, plain, from, len, "a broadcast step frame");
    }

    /** Opens broadcast record k, sealed[0, len) after the 16 header bytes header[0, 16), into out at at. */
    int openRecord(long k, byte[] header, byte[] sealed, int len, byte[] out, int at, String peer) throws IOException {
      return openAfter(k, header, Broadcast.HEADER, sealed, len, out, at, peer + ": broadcast record",
          "tampered, truncated, or not from this run's driver");
    }

    /** Record k: the header out[at, at + header) as associated data, then the ciphertext and tag after it. */
    private int sealAfter(long k, byte[] out, int at, int header, byte[] plain, int from, int len, String what) {
      try {
        init(k);
        cipher.updateAAD(out, at, header);
        return header + cipher.doFinal(plain, from, len, out, at + header);
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("sealing " + what + ": " + e.getMessage(), e);
      }
    }

    /** Opens record k (named "what k" in errors, with the likely causes of a failed tag) into out at at. */
    private int openAfter(long k, byte[] aad, int aadLen, byte[] sealed, int len, byte[] out, int at, String what,
                          String causes) throws IOException {
      try {
        init(k);
        cipher.updateAAD(aad, 0, aadLen);
        return cipher.doFinal(sealed, 0, len, out, at);
      } catch (AEADBadTagException e) {
        throw new IOException(what + " " + k + " failed authentication (" + causes + "); closing the connection");
      } catch (GeneralSecurityException e) {
        throw new IOException(what + " " + k + ": " + e.getMessage(), e);
      }
    }
  }

  /** The task's opener of the driver's broadcast records, from the key a KEY frame gave. */
  static Aead broadcastOpener(byte[] key) {
    WarmUp.ensure();
    return new Aead(key, BROADCAST, Cipher.DECRYPT_MODE);
  }

  /**
   * The driver's endpoint's sealer of what it sends every task alike: one random key for the endpoint's life, and
   * a record counter that only grows, so no nonce is used twice under the key. A frame is cut into records of at
   * most {@link Frames#RECORD} plain bytes, sealed on several threads at once (each record has its own nonce);
   * every connection then writes the same sealed bytes. Sealing happens on the endpoint's training thread, never
   * while a connection still writes the previous frame.
   */
  static final class Broadcast {
    /** A broadcast record's header: u32 magic, u32 sealed length, u64 record number. */
    static final int HEADER = 16;
    private final byte[] key = ChannelSecurity.bytes(16);
    private final Aead[] sealers;
    /**
     * The next record's number. It starts at a random point below 2^62, so that the numbers in the clear say
     * nothing (and, beginning at 0, no header holds eight zero bytes that look like two zero parameters).
     */
    private long next = RANDOM.nextLong() >>> 2;
    /** The first record of the newest sealed frame: what a task admitted now may still be sent. */
    private volatile long floor = next;
    private byte[] sealed = new byte[0];
    private int length;

    /** A broadcast sealer using up to threads threads. */
    Broadcast(int threads) {
      WarmUp.ensure();
      sealers = new Aead[Math.max(1, threads)];
      for (int i = 0; i < sealers.length; i++) sealers[i] = new Aead(key, BROADCAST, Cipher.ENCRYPT_MODE);
    }

    /** The body of the KEY frame that admits a task: the key, and the first record it may be sent. */
    byte[] keyBody() {
      return ByteBuffer.allocate(KEY_BODY).order(ByteOrder.LITTLE_ENDIAN).put(key).putLong(floor).array();
    }

    /**
     * Seals the plain frame frame[0, len) as records numbered from the next unused one; the records after the
     * first few run on pool while this thread seals the first share. Then {@link #bytes}[0, {@link #length}) is
     * what every connection writes.
     */
    void seal(byte[] frame, int len, java.util.concurrent.ExecutorService pool) {
      int records = Math.max(1, (len + Frames.RECORD - 1) / Frames.RECORD);
      int need = len + records * (HEADER + TAG);
      if (sealed.length < need) sealed = new byte[need];
      long base = next;
      next += records;
      floor = base;
      int parts = Math.min(sealers.length, records);
      java.util.List<java.util.concurrent.Future<?>> rest = new java.util.ArrayList<>();
      for (int p = 1; p < parts; p++) {
        int part = p;
        rest.add(pool.submit(() -> sealPart(part, parts, records, base, frame, len)));
      }
      sealPart(0, parts, records, base, frame, len);
      for (java.util.concurrent.Future<?> f : rest) {
        try {
          f.get();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted while sealing a broadcast frame", e);
        } catch (java.util.concurrent.ExecutionException e) {
          throw new IllegalStateException("sealing a broadcast frame: " + e.getCause(), e.getCause());
        }
      }
      length = need;
    }

    /** Seals records [part × records / parts, (part + 1) × records / parts) with sealer part. */
    private void sealPart(int part, int parts, int records, long base, byte[] frame, int len) {
      Aead s = sealers[part];
      for (int r = (int) ((long) part * records / parts), end = (int) ((long) (part + 1) * records / parts); r < end; r++) {
        int from = r * Frames.RECORD;
        s.sealRecord(base + r, frame, from, Math.min(Frames.RECORD, len - from), sealed, r * (Frames.RECORD + HEADER + TAG));
      }
    }

    byte[] bytes() {
      return sealed;
    }

    int length() {
      return length;
    }
  }
}
