package dev.sparktrain.examples;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparktrain.UserError;

/**
 * The command-line contract of the example jobs, as the trainer's own commands keep it: a usage line and exit 2
 * without enough arguments; the result as the last stdout line; bad input as one {@code error:} line and
 * {@code {"error": ...}} with exit 2; any other failure with its stack trace and exit 1.
 */
final class ExampleMain {
  private ExampleMain() {}

  /** A job: its arguments in, the JSON result out. */
  interface Job {
    Object run(String[] args) throws Exception;
  }

  static void run(String usage, int minArgs, String[] args, Job job) {
    if (args.length < minArgs) {
      System.err.println("usage: " + usage);
      System.exit(2);
    }
    try {
      System.out.println(job.run(args));
    } catch (Exception e) {
      UserError user = UserError.find(e);
      if (user == null) e.printStackTrace();
      String message = user != null ? user.getMessage() : e.toString();
      System.err.println("error: " + message);
      System.out.println(new ObjectMapper().createObjectNode().put("error", message));
      System.exit(user != null ? 2 : 1);
    }
  }
}
