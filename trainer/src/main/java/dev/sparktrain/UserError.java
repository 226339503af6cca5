package dev.sparktrain;

/**
 * An error caused by the user's input (a file, a row, a setting), reported as one line without a stack trace.
 * The message must name the offending file, row or setting.
 */
public final class UserError extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public UserError(String message) {
    super(message, null, false, false);
  }

  public UserError(String message, Throwable cause) {
    super(message, cause, false, false);
  }

  /** The first UserError in a cause chain (Spark wraps task failures), or null. */
  public static UserError find(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof UserError u) return u;
      if (c.getCause() == c) break;
    }
    return null;
  }
}
