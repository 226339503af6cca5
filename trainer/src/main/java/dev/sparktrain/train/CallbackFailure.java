package dev.sparktrain.train;

/** A callback threw: the run stopped there. The message names the callback, the step and the cause in one line. */
public final class CallbackFailure extends RuntimeException {
  private static final long serialVersionUID = 1L;

  CallbackFailure(String callback, String where, Throwable cause) {
    super("callback " + callback + " failed " + where + ": " + oneLine(cause), cause);
  }

  private static String oneLine(Throwable t) {
    String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getClass().getSimpleName() + ": " + t.getMessage();
    return m.replace('\n', ' ');
  }
}
