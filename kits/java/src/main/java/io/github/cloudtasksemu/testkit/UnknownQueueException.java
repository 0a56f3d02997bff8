package io.github.cloudtasksemu.testkit;

import java.util.List;

/**
 * A queue named to {@link CloudTasksEmulator#drain(String)}, {@link CloudTasksEmulator#attempts(String)}
 * or {@link CloudTasksEmulator#reset(String)} does not exist (404), or is a queue ID that several
 * queues share (400), so that a typo fails the test instead of draining nothing. The message names the
 * closest known queues.
 */
public class UnknownQueueException extends EmulatorException {
  private static final long serialVersionUID = 1L;

  private final List<String> queues;

  /**
   * @param httpStatus 404 for a queue that does not exist, 400 for an ID several queues share
   * @param message the emulator's message
   * @param queues every queue the emulator knows (404), or those the ID matched (400)
   */
  public UnknownQueueException(int httpStatus, String message, List<String> queues) {
    super(httpStatus, httpStatus == 404 ? "NOT_FOUND" : "INVALID_ARGUMENT", message);
    this.queues = List.copyOf(queues);
  }

  /** @return the full names of the queues that exist (404), or of those the ID matched (400) */
  public List<String> queues() {
    return queues;
  }
}
