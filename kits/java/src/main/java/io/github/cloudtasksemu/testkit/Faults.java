package io.github.cloudtasksemu.testkit;

import com.google.api.gax.rpc.StatusCode;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Faults on demand through the admin API ({@code /_emu/faults}), so that a test can prove its code's
 * retry and error handling. Get it from {@link CloudTasksEmulator#faults()}; a full {@link
 * CloudTasksEmulator#reset()} clears every fault.
 */
public final class Faults {
  private final AdminApi admin;

  Faults(AdminApi admin) {
    this.admin = admin;
  }

  /**
   * Puts a fault in force; the first fault (in order of adding) that matches a call or attempt acts.
   *
   * @param spec what to do and to what
   * @return the fault as the emulator holds it
   * @throws EmulatorException INVALID_ARGUMENT when the emulator refuses the spec
   */
  public Fault add(FaultSpec spec) {
    return parse(admin.call("POST", "/_emu/faults", spec.toJson()).getAsJsonObject("fault"));
  }

  /**
   * Every API call fails with {@code code} until cleared.
   *
   * @param code the status
   * @return the fault
   */
  public Fault fail(StatusCode.Code code) {
    return add(FaultSpec.failCalls(code));
  }

  /**
   * Calls of {@code rpc} fail with {@code code} until cleared.
   *
   * @param code the status
   * @param rpc the method name, e.g. {@code CreateTask}
   * @return the fault
   */
  public Fault fail(StatusCode.Code code, String rpc) {
    return add(FaultSpec.failCalls(code).rpc(rpc));
  }

  /** @return the faults in force, in the order they act */
  public List<Fault> list() {
    List<Fault> faults = new ArrayList<>();
    for (JsonElement item : admin.call("GET", "/_emu/faults", null).getAsJsonArray("faults")) {
      faults.add(parse(item.getAsJsonObject()));
    }
    return faults;
  }

  /**
   * Takes one fault out of force.
   *
   * @param id the fault's {@link Fault#id()}
   * @throws EmulatorException NOT_FOUND when there is no such fault
   */
  public void remove(String id) {
    admin.call("DELETE", "/_emu/faults/" + AdminApi.encode(id), null);
  }

  /** Takes every fault out of force. */
  public void clear() {
    admin.call("DELETE", "/_emu/faults", null);
  }

  private static Fault parse(JsonObject json) {
    boolean dispatch = json.has("url_prefix");
    return new Fault(
        json.get("id").getAsString(),
        AdminApi.intOrNull(json, "times"),
        AdminApi.stringOrNull(json, "rpc"),
        AdminApi.stringOrNull(json, "queue"),
        AdminApi.stringOrNull(json, "code"),
        AdminApi.stringOrNull(json, "message"),
        dispatch ? null : Duration.ofNanos(Math.round(json.get("delay").getAsDouble() * 1e9)),
        AdminApi.stringOrNull(json, "url_prefix"),
        AdminApi.stringOrNull(json, "dispatch"));
  }
}
