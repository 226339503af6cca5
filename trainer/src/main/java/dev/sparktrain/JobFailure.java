package dev.sparktrain;

/**
 * A command that ran as asked but could not deliver its result (too few ensemble members finished): reported as
 * one line without a stack trace, with exit code 1 (bad input is {@link UserError}, exit 2).
 */
public final class JobFailure extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public JobFailure(String message) {
    super(message, null, false, false);
  }
}
