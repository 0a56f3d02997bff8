package io.github.cloudtasksemu.testkit;

/**
 * The emulator's admin API answered with an error, or could not be reached.
 *
 * <p>Unchecked, as the exceptions of Testcontainers and of the Google client ({@code ApiException})
 * are: a test that meets one has found a broken setup, not a condition to recover from.
 */
public class EmulatorException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int httpStatus;
  private final String status;

  /**
   * An error the admin API answered.
   *
   * @param httpStatus the HTTP status of the answer, or 0 when no answer came
   * @param status the gRPC status name the emulator gave (e.g. {@code FAILED_PRECONDITION}), or ""
   * @param message what went wrong
   */
  public EmulatorException(int httpStatus, String status, String message) {
    super(message);
    this.httpStatus = httpStatus;
    this.status = status;
  }

  /**
   * A failure to reach the emulator.
   *
   * @param message what was being done
   * @param cause the I/O failure or interruption
   */
  public EmulatorException(String message, Throwable cause) {
    super(message, cause);
    this.httpStatus = 0;
    this.status = "";
  }

  /** @return the HTTP status of the admin API's answer, 0 when no answer came */
  public int httpStatus() {
    return httpStatus;
  }

  /** @return the gRPC status name of the error (e.g. {@code INVALID_ARGUMENT}), "" when no answer came */
  public String status() {
    return status;
  }
}
