package dev.sparktrain.testing;

import java.io.IOException;
import java.net.ServerSocket;
import java.util.concurrent.ThreadLocalRandom;

/** Ports for a test's servers (a cluster's master, the step endpoint) that the test names before they bind. */
public final class Ports {
  private Ports() {}

  /**
   * A port that is free now, drawn below Linux's ephemeral range (32768–60999), so no socket the OS numbers
   * itself (Spark's block managers, a relay's listening socket) can take it between this call and its use.
   */
  public static int unused() throws IOException {
    for (int tries = 0; tries < 100; tries++) {
      int port = ThreadLocalRandom.current().nextInt(20_000, 32_000);
      try (ServerSocket s = new ServerSocket(port)) {
        return s.getLocalPort();
      } catch (IOException taken) {
        // try another
      }
    }
    throw new IOException("no free port in 20000–32000 after 100 tries");
  }
}
