package io.github.cloudtasksemu.testkit;

import com.google.gson.Gson;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonSyntaxException;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The admin API ({@code /_emu/*}) over plain JSON: one call, its errors as exceptions. */
final class AdminApi {
  /** Beyond a call's own wait (a drain's timeout), how long an answer may take. */
  private static final Duration SLACK = Duration.ofSeconds(30);

  private static final Gson GSON = new Gson();

  private final String baseUrl;
  private final HttpClient http;

  AdminApi(String baseUrl) {
    this.baseUrl = baseUrl;
    // HTTP/1.1: the emulator's port also speaks gRPC, and h2c upgrade attempts gain nothing here.
    this.http = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(10))
        .build();
  }

  record Answer(int status, JsonObject body) {}

  /** One call; an error answer is thrown, except a drain's 504 (not idle), which the caller reads. */
  JsonObject call(String method, String path, Map<String, ?> body) {
    return call(method, path, body, Duration.ZERO).body();
  }

  Answer call(String method, String path, Map<String, ?> body, Duration wait) {
    HttpRequest.BodyPublisher publisher = body == null
        ? HttpRequest.BodyPublishers.noBody()
        : HttpRequest.BodyPublishers.ofString(GSON.toJson(body));
    HttpRequest request = HttpRequest.newBuilder(URI.create(baseUrl + path))
        .method(method, publisher)
        .header("Content-Type", "application/json")
        .timeout(wait.plus(SLACK))
        .build();
    HttpResponse<String> response;
    try {
      response = http.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException error) {
      throw new EmulatorException(method + " " + baseUrl + path + " failed: " + error, error);
    } catch (InterruptedException error) {
      Thread.currentThread().interrupt();
      throw new EmulatorException(method + " " + path + " was interrupted", error);
    }
    JsonObject json;
    try {
      JsonElement parsed = JsonParser.parseString(response.body());
      json = parsed.isJsonObject() ? parsed.getAsJsonObject() : new JsonObject();
    } catch (JsonSyntaxException error) {
      throw new EmulatorException(response.statusCode(), "",
          method + " " + path + " answered " + response.statusCode() + " without JSON: " + response.body());
    }
    if (response.statusCode() >= 400 && json.has("error")) {
      throw error(json);
    }
    return new Answer(response.statusCode(), json);
  }

  private static EmulatorException error(JsonObject json) {
    JsonObject error = json.getAsJsonObject("error");
    int code = error.get("code").getAsInt();
    String message = error.get("message").getAsString();
    // 404 + known_queues: no such queue; 400 + matching_queues: an ID that several queues share.
    for (String field : List.of("known_queues", "matching_queues")) {
      if (json.has(field)) {
        List<String> names = new ArrayList<>();
        json.getAsJsonArray(field).forEach(name -> names.add(name.getAsString()));
        return new UnknownQueueException(code, message, names);
      }
    }
    String status = stringOrNull(error, "status");
    return new EmulatorException(code, status == null ? "" : status, message);
  }

  static String encode(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8);
  }

  static String stringOrNull(JsonObject json, String name) {
    JsonElement value = json.get(name);
    return value == null || value.isJsonNull() ? null : value.getAsString();
  }

  static Integer intOrNull(JsonObject json, String name) {
    JsonElement value = json.get(name);
    return value == null || value.isJsonNull() ? null : value.getAsInt();
  }
}
