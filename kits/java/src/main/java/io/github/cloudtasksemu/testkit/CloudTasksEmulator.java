package io.github.cloudtasksemu.testkit;

import com.google.api.gax.core.NoCredentialsProvider;
import com.google.api.gax.grpc.InstantiatingGrpcChannelProvider;
import com.google.api.gax.rpc.TransportChannelProvider;
import com.google.cloud.tasks.v2.CloudTasksClient;
import com.google.cloud.tasks.v2.CloudTasksSettings;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One emulator for a test: a container this kit started, or one already running. Gives the official
 * client wired for it, and the admin API ({@code /_emu/*}) as methods: reset, drain, the virtual
 * clock, the attempts made, faults.
 *
 * <pre>{@code
 * try (CloudTasksEmulator emulator = CloudTasksEmulator.builder().virtualClock().start()) {
 *   emulator.client().createQueue(...);
 *   emulator.drain();
 * }
 * }</pre>
 *
 * <p>The operations and their meaning are those of the Python harness and of the admin API's
 * contract (docs/admin-api.md in the emulator's repository).
 */
public final class CloudTasksEmulator implements AutoCloseable {
  /** The variable naming a running emulator, {@code host:port}, as every Cloud Tasks client reads it. */
  public static final String HOST_VARIABLE = "CLOUD_TASKS_EMULATOR_HOST";
  /** How long {@link #drain()} waits by default, as the Python harness does. */
  public static final Duration DEFAULT_DRAIN_TIMEOUT = Duration.ofSeconds(20);

  private final String host;
  private final CloudTasksEmulatorContainer container;
  private final AdminApi admin;
  private CloudTasksClient client;
  private CloudTasksClient restClient;

  private CloudTasksEmulator(String host, CloudTasksEmulatorContainer container) {
    this.host = host;
    this.container = container;
    this.admin = new AdminApi("http://" + host);
  }

  /** @return options for a container, or for connecting to a running emulator */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * An emulator already running (e.g. {@code cloudtasks-emu start}, a compose service).
   *
   * @param host {@code host:port}, or {@code http://host:port}
   * @return the emulator, after {@code /healthz} answered
   * @throws EmulatorException when nothing answers there
   */
  public static CloudTasksEmulator connect(String host) {
    String address = host.replaceFirst("^https?://", "").replaceFirst("/+$", "");
    if (address.isBlank()) {
      throw new IllegalArgumentException("no emulator address given");
    }
    CloudTasksEmulator emulator = new CloudTasksEmulator(address, null);
    emulator.admin.call("GET", "/healthz", null);
    return emulator;
  }

  /**
   * The emulator named by {@value #HOST_VARIABLE}.
   *
   * @return the emulator
   * @throws IllegalStateException when the variable is not set
   */
  public static CloudTasksEmulator fromEnvironment() {
    String host = System.getenv().getOrDefault(HOST_VARIABLE, "");
    if (host.isBlank()) {
      throw new IllegalStateException(
          HOST_VARIABLE + " is not set: start an emulator (cloudtasks-emu start) and set it to its host:port");
    }
    return connect(host);
  }

  /** @return {@code host:port} for every client and protocol: the value for {@value #HOST_VARIABLE} */
  public String getEmulatorHost() {
    return host;
  }

  /** @return the base URL of REST, the admin API and {@code /healthz}: the same port */
  public String getHttpUrl() {
    return "http://" + host;
  }

  /** @return the container when this kit started one, empty when it connected to a running emulator */
  public Optional<CloudTasksEmulatorContainer> container() {
    return Optional.ofNullable(container);
  }

  // -- clients ----------------------------------------------------------------------------------

  /**
   * A gRPC channel in plain text to the emulator, for the settings of any API version:
   * {@code com.google.cloud.tasks.v2beta2.CloudTasksSettings.newBuilder()
   * .setCredentialsProvider(NoCredentialsProvider.create()).setTransportChannelProvider(...)}.
   *
   * @return a channel provider
   */
  public TransportChannelProvider channelProvider() {
    return InstantiatingGrpcChannelProvider.newBuilder()
        .setEndpoint(host)
        // No TLS: what every user otherwise has to find out.
        .setChannelConfigurator(channel -> channel.usePlaintext())
        .build();
  }

  /** @return settings of the v2 client over gRPC, plain text, no credentials */
  public CloudTasksSettings settings() {
    try {
      return CloudTasksSettings.newBuilder()
          .setCredentialsProvider(NoCredentialsProvider.create())
          .setTransportChannelProvider(channelProvider())
          .build();
    } catch (IOException error) {
      throw new UncheckedIOException(error);
    }
  }

  /** @return settings of the v2 client over REST (HTTP/1.1 JSON), no credentials */
  public CloudTasksSettings restSettings() {
    try {
      return CloudTasksSettings.newHttpJsonBuilder()
          .setCredentialsProvider(NoCredentialsProvider.create())
          .setEndpoint(getHttpUrl())
          .build();
    } catch (IOException error) {
      throw new UncheckedIOException(error);
    }
  }

  /** @return the official v2 client over gRPC; one per emulator, closed with it */
  public synchronized CloudTasksClient client() {
    if (client == null) {
      client = create(settings());
    }
    return client;
  }

  /** @return the official v2 client over REST; one per emulator, closed with it */
  public synchronized CloudTasksClient restClient() {
    if (restClient == null) {
      restClient = create(restSettings());
    }
    return restClient;
  }

  private static CloudTasksClient create(CloudTasksSettings settings) {
    try {
      return CloudTasksClient.create(settings);
    } catch (IOException error) {
      throw new UncheckedIOException(error);
    }
  }

  // -- the admin API ----------------------------------------------------------------------------

  /**
   * Back to the start-up state: queues declared at start come back as declared, every other queue,
   * task, attempt and fault is forgotten, and a virtual clock moves to the real now.
   */
  public void reset() {
    reset("", false);
  }

  /**
   * Forgets one queue, its tasks and attempts; other queues keep theirs. A virtual clock moves
   * forward to the real now.
   *
   * @param queue a full name or a queue ID; "" for everything
   * @throws UnknownQueueException when there is no such queue
   */
  public void reset(String queue) {
    reset(queue, false);
  }

  /**
   * {@link #reset()} or {@link #reset(String)}, leaving a virtual clock where it is if asked.
   *
   * @param queue a full name or a queue ID; "" for everything
   * @param keepClock leave the clock alone
   */
  public void reset(String queue, boolean keepClock) {
    Map<String, Object> body = new LinkedHashMap<>();
    if (!queue.isEmpty()) {
      body.put("queue", queue);
    }
    if (keepClock) {
      body.put("keep_clock", true);
    }
    admin.call("POST", "/_emu/reset", body);
  }

  /**
   * Waits until nothing due remains undelivered in any queue (tasks scheduled later and retries
   * whose backoff has not passed do not count: with a virtual clock, drain after each advance).
   *
   * @throws DrainTimeoutException when still busy after {@link #DEFAULT_DRAIN_TIMEOUT}
   */
  public void drain() {
    drain("", DEFAULT_DRAIN_TIMEOUT);
  }

  /**
   * {@link #drain()} for one queue.
   *
   * @param queue a full name or a queue ID; "" for every queue
   * @throws UnknownQueueException when there is no such queue: a typo fails instead of passing idle
   * @throws DrainTimeoutException when still busy after {@link #DEFAULT_DRAIN_TIMEOUT}
   */
  public void drain(String queue) {
    drain(queue, DEFAULT_DRAIN_TIMEOUT);
  }

  /**
   * {@link #drain(String)} with a timeout of its own.
   *
   * @param queue a full name or a queue ID; "" for every queue
   * @param timeout real time, at most 600 s
   */
  public void drain(String queue, Duration timeout) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("timeout", seconds(timeout));
    if (!queue.isEmpty()) {
      body.put("queue", queue);
    }
    AdminApi.Answer answer = admin.call("POST", "/_emu/drain", body, timeout);
    JsonElement idle = answer.body().get("idle");
    if (idle == null || !idle.getAsBoolean()) {
      String where = queue.isEmpty() ? "the emulator" : queue;
      throw new DrainTimeoutException(where + " was still busy after " + timeout.toMillis() + " ms");
    }
  }

  /** @return the emulator's clock: with a virtual clock, compute schedule times from it */
  public Instant now() {
    return instant(admin.call("GET", "/_emu/clock", null));
  }

  /** @return whether the clock is virtual (moves only by {@link #advance} and {@link #setClock}) */
  public boolean isClockVirtual() {
    return admin.call("GET", "/_emu/clock", null).get("virtual").getAsBoolean();
  }

  /**
   * Moves the virtual clock forward: every task, retry and dispatch deadline that falls due fires at
   * once. Follow with {@link #drain()} to wait for the deliveries.
   *
   * @param duration how far, not negative
   * @return the clock after the move
   * @throws EmulatorException FAILED_PRECONDITION for a real clock
   */
  public Instant advance(Duration duration) {
    return instant(admin.call("POST", "/_emu/clock:advance", Map.of("seconds", seconds(duration))));
  }

  /**
   * Moves the virtual clock to {@code time}, which may not be before {@link #now()}.
   *
   * @param time the new now
   * @return the clock after the move
   */
  public Instant setClock(Instant time) {
    double now = time.getEpochSecond() + time.getNano() / 1e9;
    return instant(admin.call("POST", "/_emu/clock:set", Map.of("now", now)));
  }

  /** @return the recent push attempts of every queue, oldest first */
  public List<Attempt> attempts() {
    return attempts("");
  }

  /**
   * The recent push attempts of one queue (the last 100 by default), oldest first.
   *
   * @param queue a full name or a queue ID; "" for every queue
   * @return the attempts
   * @throws UnknownQueueException when there is no such queue
   */
  public List<Attempt> attempts(String queue) {
    String path = queue.isEmpty() ? "/_emu/attempts" : "/_emu/attempts?queue=" + AdminApi.encode(queue);
    List<Attempt> attempts = new ArrayList<>();
    for (JsonElement item : admin.call("GET", path, null).getAsJsonArray("attempts")) {
      attempts.add(Attempt.fromJson(item.getAsJsonObject()));
    }
    return attempts;
  }

  /**
   * The attempts of one task, oldest first.
   *
   * @param task the task's full name, {@code projects/P/locations/L/queues/Q/tasks/T}
   * @return the attempts
   */
  public List<Attempt> taskAttempts(String task) {
    int cut = task.indexOf("/tasks/");
    if (cut < 0) {
      throw new IllegalArgumentException("not a task's full name: " + task);
    }
    return attempts(task.substring(0, cut)).stream().filter(a -> a.task().equals(task)).toList();
  }

  /** @return faults on demand: calls that fail or answer late, push attempts that fail */
  public Faults faults() {
    return new Faults(admin);
  }

  /** Closes the clients it gave, and stops the container if it started one. */
  @Override
  public synchronized void close() {
    if (client != null) {
      client.close();
      client = null;
    }
    if (restClient != null) {
      restClient.close();
      restClient = null;
    }
    if (container != null) {
      container.stop();
    }
  }

  private static double seconds(Duration duration) {
    return duration.toNanos() / 1e9;
  }

  private static Instant instant(JsonObject clock) {
    double now = clock.get("now").getAsDouble();
    long whole = (long) Math.floor(now);
    return Instant.ofEpochSecond(whole, Math.round((now - whole) * 1e9));
  }

  /** Options of the container to start, or the address of a running emulator to connect to. */
  public static final class Builder {
    private String image = CloudTasksEmulatorContainer.defaultImage();
    private boolean virtualClock;
    private final List<String> queues = new ArrayList<>();
    private String appEngineUrl;
    private String dataDir;
    private boolean hostNetwork;
    private String connectTo;

    private Builder() {}

    /**
     * @param image the emulator's image, e.g. {@code cloudtasks-emu:0.1.0} (default: {@link
     *     CloudTasksEmulatorContainer#defaultImage()})
     * @return this builder
     */
    public Builder image(String image) {
      this.image = image;
      return this;
    }

    /** @return this builder: time moves only by {@link #advance} and {@link #setClock} */
    public Builder virtualClock() {
      this.virtualClock = true;
      return this;
    }

    /**
     * @param names queues to create at start and again at every full {@link #reset()}: full names
     * @return this builder
     */
    public Builder queues(String... names) {
      queues.addAll(List.of(names));
      return this;
    }

    /**
     * @param url where App Engine tasks are delivered (plus their relative URI)
     * @return this builder
     */
    public Builder appEngineUrl(String url) {
      this.appEngineUrl = url;
      return this;
    }

    /**
     * @param path where the emulator keeps its state inside the container; "" keeps it in memory
     * @return this builder
     */
    public Builder dataDir(String path) {
      this.dataDir = path;
      return this;
    }

    /**
     * Shares the host's network (Linux): the emulator binds a free port of 127.0.0.1 and delivers to
     * handlers on the host's 127.0.0.1 as they are.
     *
     * @return this builder
     */
    public Builder hostNetwork() {
      this.hostNetwork = true;
      return this;
    }

    /**
     * Connect to a running emulator instead of starting a container; the container's options do not
     * apply to it.
     *
     * @param host {@code host:port}
     * @return this builder
     */
    public Builder connectTo(String host) {
      this.connectTo = host;
      return this;
    }

    /**
     * Connect to the emulator named by {@value CloudTasksEmulator#HOST_VARIABLE} when that is set (a
     * CI job that runs one), else start a container.
     *
     * @return this builder
     */
    public Builder connectIfRunning() {
      String host = System.getenv().getOrDefault(HOST_VARIABLE, "");
      if (!host.isBlank()) {
        this.connectTo = host;
      }
      return this;
    }

    /** @return the container these options describe, not started */
    public CloudTasksEmulatorContainer container() {
      CloudTasksEmulatorContainer made = new CloudTasksEmulatorContainer(image);
      if (virtualClock) {
        made.withVirtualClock();
      }
      if (!queues.isEmpty()) {
        made.withQueues(queues.toArray(String[]::new));
      }
      if (appEngineUrl != null) {
        made.withAppEngineUrl(appEngineUrl);
      }
      if (dataDir != null) {
        made.withDataDir(dataDir);
      }
      if (hostNetwork) {
        made.withHostNetwork();
      }
      return made;
    }

    /**
     * Starts the container and waits until it is ready, or connects.
     *
     * @return the emulator; close it to stop the container
     */
    public CloudTasksEmulator start() {
      if (connectTo != null) {
        return connect(connectTo);
      }
      CloudTasksEmulatorContainer made = container();
      made.start();
      return new CloudTasksEmulator(made.getEmulatorHost(), made);
    }
  }
}
