package io.github.cloudtasksemu.testkit;

import com.google.gson.JsonObject;
import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One push attempt, as {@code GET /_emu/attempts} reports it: the request as sent and what came back.
 *
 * @param queue the queue's full name
 * @param task the task's full name
 * @param url where the request went, as sent
 * @param requestHeaders the headers sent, as sent ({@code X-CloudTasks-*}, {@code Authorization}, ...)
 * @param status the handler's HTTP status, or {@code null} when no answer came (timeout, refused)
 * @param error {@code timeout}, a connection error, or "" when an answer came
 * @param responseExcerpt the first KiB of the answer's body
 * @param latency real time from sending to the answer
 * @param time when the attempt was made, on the emulator's clock
 * @param retryCount 0 for a task's first attempt, then 1, 2, ...
 */
public record Attempt(
    String queue,
    String task,
    String url,
    Map<String, String> requestHeaders,
    Integer status,
    String error,
    String responseExcerpt,
    Duration latency,
    Instant time,
    int retryCount) {

  /** @return whether the handler answered with a 2xx status */
  public boolean succeeded() {
    return status != null && status >= 200 && status < 300;
  }

  static Attempt fromJson(JsonObject json) {
    Map<String, String> headers = new LinkedHashMap<>();
    JsonObject sent = json.getAsJsonObject("request_headers");
    if (sent != null) {
      sent.entrySet().forEach(entry -> headers.put(entry.getKey(), entry.getValue().getAsString()));
    }
    double time = json.get("time").getAsDouble();
    long whole = (long) Math.floor(time);
    String error = AdminApi.stringOrNull(json, "error");
    String excerpt = AdminApi.stringOrNull(json, "response_excerpt");
    return new Attempt(
        json.get("queue").getAsString(),
        json.get("task").getAsString(),
        json.get("url").getAsString(),
        Collections.unmodifiableMap(headers),
        AdminApi.intOrNull(json, "status"),
        error == null ? "" : error,
        excerpt == null ? "" : excerpt,
        Duration.ofNanos(Math.round(json.get("latency_ms").getAsDouble() * 1e6)),
        Instant.ofEpochSecond(whole, Math.round((time - whole) * 1e9)),
        json.get("retry_count").getAsInt());
  }
}
