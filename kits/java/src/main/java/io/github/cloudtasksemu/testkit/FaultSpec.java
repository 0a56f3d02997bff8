package io.github.cloudtasksemu.testkit;

import com.google.api.gax.rpc.StatusCode;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A fault to inject with {@link Faults#add(FaultSpec)}: made by one of the static factories, narrowed
 * by the builder-style methods.
 *
 * <pre>{@code
 * emulator.faults().add(FaultSpec.failCalls(StatusCode.Code.UNAVAILABLE).rpc("CreateTask").times(1));
 * emulator.faults().add(FaultSpec.answerDispatch(handlerUrl + "/pay", 503).times(2));
 * }</pre>
 *
 * <p>A call fault acts on API calls (gRPC and REST alike) that match its RPC and queue; a dispatch
 * fault acts on push attempts to URLs under its prefix without reaching the handler. Each acts
 * {@link #times(int)} times, or until cleared.
 */
public final class FaultSpec {
  private final Map<String, Object> fields = new LinkedHashMap<>();
  private final boolean dispatch;

  private FaultSpec(boolean dispatch) {
    this.dispatch = dispatch;
  }

  /**
   * Matching API calls fail with {@code code}.
   *
   * @param code the status the calls fail with (the client raises the matching {@code ApiException})
   * @return the spec
   */
  public static FaultSpec failCalls(StatusCode.Code code) {
    FaultSpec spec = new FaultSpec(false);
    spec.fields.put("code", code.name());
    return spec;
  }

  /**
   * Matching API calls answer after {@code delay} of real time (then fail too if {@link #code} is given).
   *
   * @param delay from 0 to 600 seconds
   * @return the spec
   */
  public static FaultSpec delayCalls(Duration delay) {
    FaultSpec spec = new FaultSpec(false);
    spec.fields.put("delay", delay.toNanos() / 1e9);
    return spec;
  }

  /**
   * Push attempts to URLs under {@code urlPrefix} fail as a refused connection.
   *
   * @param urlPrefix e.g. {@code http://127.0.0.1:8080/pay}
   * @return the spec
   */
  public static FaultSpec refuseDispatch(String urlPrefix) {
    return dispatchFault(urlPrefix, "refuse");
  }

  /**
   * Push attempts to URLs under {@code urlPrefix} count as a missed dispatch deadline, at once.
   *
   * @param urlPrefix e.g. {@code http://127.0.0.1:8080/pay}
   * @return the spec
   */
  public static FaultSpec timeOutDispatch(String urlPrefix) {
    return dispatchFault(urlPrefix, "timeout");
  }

  /**
   * Push attempts to URLs under {@code urlPrefix} get {@code httpStatus} without reaching the handler.
   *
   * @param urlPrefix e.g. {@code http://127.0.0.1:8080/pay}
   * @param httpStatus from 100 to 599
   * @return the spec
   */
  public static FaultSpec answerDispatch(String urlPrefix, int httpStatus) {
    return dispatchFault(urlPrefix, httpStatus);
  }

  private static FaultSpec dispatchFault(String urlPrefix, Object action) {
    FaultSpec spec = new FaultSpec(true);
    spec.fields.put("url_prefix", urlPrefix);
    spec.fields.put("dispatch", action);
    return spec;
  }

  /**
   * Only calls of this RPC.
   *
   * @param rpc the method name, e.g. {@code CreateTask}
   * @return this spec
   */
  public FaultSpec rpc(String rpc) {
    return callField("rpc", rpc);
  }

  /**
   * Only calls that address this queue.
   *
   * @param queue the queue's full name or ID
   * @return this spec
   */
  public FaultSpec queue(String queue) {
    return callField("queue", queue);
  }

  /**
   * The error message of a failing call fault.
   *
   * @param message what the client sees
   * @return this spec
   */
  public FaultSpec message(String message) {
    return callField("message", message);
  }

  /**
   * A delayed call fails with {@code code} after its delay.
   *
   * @param code the status
   * @return this spec
   */
  public FaultSpec code(StatusCode.Code code) {
    return callField("code", code.name());
  }

  /**
   * Act this many times, then go away (by default a fault acts until cleared).
   *
   * @param times at least 1
   * @return this spec
   */
  public FaultSpec times(int times) {
    if (times < 1) {
      throw new IllegalArgumentException("times must be at least 1 (leave it out for every call)");
    }
    fields.put("times", times);
    return this;
  }

  private FaultSpec callField(String name, String value) {
    if (dispatch) {
      throw new IllegalStateException(name + " applies to call faults, not to dispatch faults");
    }
    fields.put(name, value);
    return this;
  }

  /** @return the admin API's JSON fields of this fault */
  Map<String, Object> toJson() {
    return Map.copyOf(fields);
  }
}
