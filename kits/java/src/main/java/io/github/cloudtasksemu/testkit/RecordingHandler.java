package io.github.cloudtasksemu.testkit;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A real HTTP server on 127.0.0.1 that records every request and answers it from the script of its
 * path, one status per request, then 200 once the script is used up: a stand-in for the service your
 * tasks call. Start it before the emulator when it is the App Engine URL.
 *
 * <pre>{@code
 * RecordingHandler handler = RecordingHandler.start();
 * handler.script("/work", 503, 503, 200); // two failures, then success
 * ... create an HTTP task to handler.url() + "/work", drain, advance, drain ...
 * handler.requests("/work").get(0).header("X-CloudTasks-TaskRetryCount");
 * }</pre>
 *
 * <p>As a JUnit 5 extension ({@code @RegisterExtension static final RecordingHandler HANDLER =
 * RecordingHandler.start();}) it forgets what it received before each test and stops after the class.
 */
public final class RecordingHandler implements AutoCloseable, BeforeEachCallback, AfterAllCallback {
  /**
   * One request as received.
   *
   * @param method e.g. {@code POST}
   * @param path the path, without the query
   * @param query the raw query, or "" when none
   * @param headers the headers, names in lower case
   * @param body the body
   */
  public record Request(String method, String path, String query, Map<String, String> headers, byte[] body) {
    /** @return the body as UTF-8 text */
    public String text() {
      return new String(body, StandardCharsets.UTF_8);
    }

    /**
     * @param name a header's name, in any case
     * @return its value (several joined by ","), or {@code null}
     */
    public String header(String name) {
      return headers.get(name.toLowerCase(Locale.ROOT));
    }
  }

  /** A scripted "status" that never answers until {@link #clear()} or {@link #close()}: a hung handler. */
  public static final int HANG = -1;

  private final HttpServer server;
  private final ExecutorService executor;
  private final List<Request> received = new ArrayList<>();
  private final Map<String, Deque<Integer>> scripts = new HashMap<>();
  private CountDownLatch release = new CountDownLatch(1);

  private RecordingHandler(HttpServer server, ExecutorService executor) {
    this.server = server;
    this.executor = executor;
  }

  /** @return a handler listening on a free port of 127.0.0.1 */
  public static RecordingHandler start() {
    HttpServer server;
    try {
      server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    } catch (IOException error) {
      throw new UncheckedIOException(error);
    }
    // Daemon threads: a request the test never answers must not keep the JVM alive.
    ExecutorService executor = Executors.newCachedThreadPool(task -> {
      Thread thread = new Thread(task, "recording-handler");
      thread.setDaemon(true);
      return thread;
    });
    server.setExecutor(executor);
    RecordingHandler handler = new RecordingHandler(server, executor);
    server.createContext("/", handler::handle);
    server.start();
    return handler;
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      Map<String, String> headers = new TreeMap<>();
      exchange.getRequestHeaders().forEach((name, values) ->
          headers.put(name.toLowerCase(Locale.ROOT), String.join(",", values)));
      byte[] body = exchange.getRequestBody().readAllBytes();
      String path = exchange.getRequestURI().getPath();
      String query = exchange.getRequestURI().getRawQuery();
      int status;
      CountDownLatch hung;
      synchronized (this) {
        received.add(new Request(exchange.getRequestMethod(), path, query == null ? "" : query,
            Collections.unmodifiableMap(headers), body));
        Deque<Integer> script = scripts.get(path);
        status = script == null || script.isEmpty() ? 200 : script.removeFirst();
        hung = release;
      }
      if (status == HANG) {
        try {
          hung.await();
        } catch (InterruptedException error) {
          Thread.currentThread().interrupt();
        }
        return; // the connection closes unanswered
      }
      byte[] answer = "ok".getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(status, answer.length);
      exchange.getResponseBody().write(answer);
    }
  }

  /** @return {@code http://127.0.0.1:PORT}: add a path for an HTTP task's URL */
  public String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  /**
   * The next requests to {@code path} are answered with these statuses, in order; then 200.
   *
   * @param path e.g. {@code /work}
   * @param statuses HTTP statuses, or {@link #HANG}
   */
  public synchronized void script(String path, int... statuses) {
    Deque<Integer> script = new ArrayDeque<>();
    for (int status : statuses) {
      script.add(status);
    }
    scripts.put(path, script);
  }

  /** @return every request received, oldest first */
  public synchronized List<Request> requests() {
    return List.copyOf(received);
  }

  /**
   * @param path a path, without the query
   * @return the requests to it, oldest first
   */
  public synchronized List<Request> requests(String path) {
    return received.stream().filter(request -> request.path().equals(path)).toList();
  }

  /** Forgets what was received and scripted, and lets hung requests go unanswered. */
  public synchronized void clear() {
    received.clear();
    scripts.clear();
    release.countDown();
    release = new CountDownLatch(1);
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    clear();
  }

  @Override
  public void afterAll(ExtensionContext context) {
    close();
  }

  /** Stops listening. */
  @Override
  public void close() {
    synchronized (this) {
      release.countDown();
    }
    server.stop(0);
    executor.shutdownNow();
  }
}
