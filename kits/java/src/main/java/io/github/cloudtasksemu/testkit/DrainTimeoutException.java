package io.github.cloudtasksemu.testkit;

/** A drain's timeout ran out while a task that was due was still waiting or in flight. */
public class DrainTimeoutException extends EmulatorException {
  private static final long serialVersionUID = 1L;

  /** @param message what stayed busy, and for how long */
  public DrainTimeoutException(String message) {
    super(504, "DEADLINE_EXCEEDED", message);
  }
}
