package io.github.cloudtasksemu.testkit;

import java.time.Duration;

/**
 * A fault in force, as the emulator reports it ({@code GET /_emu/faults}).
 *
 * @param id the fault's id, for {@link Faults#remove(String)}
 * @param timesLeft how many more times it acts, or {@code null}: until cleared
 * @param rpc a call fault's RPC name ("" for every RPC); {@code null} for a dispatch fault
 * @param queue a call fault's queue ("" for every queue); {@code null} for a dispatch fault
 * @param code the gRPC status name a call fault fails with, or {@code null}
 * @param message the message a failing call fault gives, or {@code null}
 * @param delay how long a call fault holds the answer back; {@code null} for a dispatch fault
 * @param urlPrefix a dispatch fault's URL prefix, or {@code null} for a call fault
 * @param dispatch what a dispatch fault makes of an attempt: {@code refuse}, {@code timeout} or a status
 */
public record Fault(
    String id,
    Integer timesLeft,
    String rpc,
    String queue,
    String code,
    String message,
    Duration delay,
    String urlPrefix,
    String dispatch) {

  /** @return whether this fault acts on push delivery (rather than on API calls) */
  public boolean isDispatchFault() {
    return urlPrefix != null;
  }
}
