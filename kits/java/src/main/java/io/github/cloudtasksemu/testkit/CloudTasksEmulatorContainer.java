package io.github.cloudtasksemu.testkit;

import com.github.dockerjava.api.command.InspectContainerResponse;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.output.OutputFrame;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;

/**
 * The emulator's image as a Testcontainers container: gRPC, REST, the admin API and {@code /healthz}
 * on one port.
 *
 * <p>Options are environment variables of the image ({@code CLOUDTASKS_EMU_<FLAG>}), so that they
 * compose with any {@code withEnv} of your own. The container is ready when the emulator prints its
 * JSON ready line, which also names the port it bound.
 *
 * <p>With the default bridge network the port is published on a free host port, and the emulator
 * reaches your handlers only at an address the container can see (e.g. {@code
 * host.testcontainers.internal} after {@code Testcontainers.exposeHostPorts}). With {@link
 * #withHostNetwork()} (Linux) the container shares the host's loopback: it binds a free port of
 * 127.0.0.1 and delivers to handlers on 127.0.0.1 as they are.
 *
 * <p>Most tests use {@link CloudTasksEmulator#builder()}, which makes and starts one of these.
 */
public class CloudTasksEmulatorContainer extends GenericContainer<CloudTasksEmulatorContainer> {
  /** The image used when neither the code, {@value #IMAGE_PROPERTY} nor {@value #IMAGE_VARIABLE} names one. */
  public static final String DEFAULT_IMAGE = "cloudtasks-emu";
  /** A system property naming the image, e.g. {@code -Dcloudtasks.emulator.image=cloudtasks-emu:0.1.0}. */
  public static final String IMAGE_PROPERTY = "cloudtasks.emulator.image";
  /** An environment variable naming the image (the system property wins). */
  public static final String IMAGE_VARIABLE = "CLOUDTASKS_EMU_IMAGE";
  /** The port the emulator serves on inside the container (bridge network). */
  public static final int PORT = 8123;

  // The ready line on stdout; a frame holds one line with its newline.
  private static final String READY_LINE = "(?s)\\{\"ready\": true.*";

  private final List<String> queues = new ArrayList<>();
  private boolean hostNetwork;
  private int readyPort;

  /** A container of {@link #defaultImage()}. */
  public CloudTasksEmulatorContainer() {
    this(defaultImage());
  }

  /** @param image e.g. {@code cloudtasks-emu:0.1.0} */
  public CloudTasksEmulatorContainer(String image) {
    this(DockerImageName.parse(image));
  }

  /** @param image the emulator's image */
  public CloudTasksEmulatorContainer(DockerImageName image) {
    super(image);
    withEnv("CLOUDTASKS_EMU_PORT", Integer.toString(PORT));
    // One port serves every protocol; a second HTTP port would need publishing too.
    withEnv("CLOUDTASKS_EMU_NO_HTTP_PORT", "true");
    withCommand("start");
    waitingFor(Wait.forLogMessage(READY_LINE, 1).withStartupTimeout(Duration.ofSeconds(60)));
  }

  /**
   * The image named by the system property {@value #IMAGE_PROPERTY}, else by the environment
   * variable {@value #IMAGE_VARIABLE}, else {@value #DEFAULT_IMAGE}.
   *
   * @return an image name
   */
  public static String defaultImage() {
    String image = System.getProperty(IMAGE_PROPERTY, "");
    if (image.isBlank()) {
      image = System.getenv().getOrDefault(IMAGE_VARIABLE, "");
    }
    return image.isBlank() ? DEFAULT_IMAGE : image;
  }

  /**
   * Time moves only when the test says so ({@link CloudTasksEmulator#advance}): retries and
   * schedule times come due at once instead of after real seconds.
   *
   * @return this container
   */
  public CloudTasksEmulatorContainer withVirtualClock() {
    return withEnv("CLOUDTASKS_EMU_VIRTUAL_CLOCK", "true");
  }

  /**
   * Queues to create at start (and again at every full {@link CloudTasksEmulator#reset()}).
   *
   * @param names full names, {@code projects/P/locations/L/queues/Q}
   * @return this container
   */
  public CloudTasksEmulatorContainer withQueues(String... names) {
    queues.addAll(List.of(names));
    return withEnv("CLOUDTASKS_EMU_QUEUE", String.join(",", queues));
  }

  /**
   * Where App Engine tasks are delivered.
   *
   * @param url e.g. {@code http://127.0.0.1:8080}
   * @return this container
   */
  public CloudTasksEmulatorContainer withAppEngineUrl(String url) {
    return withEnv("CLOUDTASKS_EMU_APP_ENGINE_URL", url);
  }

  /**
   * Where the emulator keeps its SQLite state inside the container; "" keeps it in memory. The image
   * keeps it in {@code /data} (an anonymous volume, removed with the container).
   *
   * @param path a directory in the container
   * @return this container
   */
  public CloudTasksEmulatorContainer withDataDir(String path) {
    return withEnv("CLOUDTASKS_EMU_DATA_DIR", path);
  }

  /**
   * Share the host's network (Linux): the emulator binds a free port of 127.0.0.1, and tasks reach
   * handlers on the host's 127.0.0.1.
   *
   * @return this container
   */
  public CloudTasksEmulatorContainer withHostNetwork() {
    hostNetwork = true;
    withNetworkMode("host");
    withEnv("CLOUDTASKS_EMU_HOST", "127.0.0.1");
    return withEnv("CLOUDTASKS_EMU_PORT", "0");
  }

  @Override
  protected void configure() {
    super.configure();
    if (hostNetwork) {
      setExposedPorts(List.of());
    } else {
      if (getExposedPorts().isEmpty()) {
        addExposedPort(PORT);
      }
      // A published port is reached from the bridge's gateway, not loopback: let reset through.
      addEnv("CLOUDTASKS_EMU_ALLOW_REMOTE_ADMIN", "true");
    }
  }

  @Override
  protected void containerIsStarted(InspectContainerResponse info) {
    super.containerIsStarted(info);
    for (String line : getLogs(OutputFrame.OutputType.STDOUT).split("\n")) {
      if (line.startsWith("{\"ready\": true")) {
        JsonObject ready = JsonParser.parseString(line).getAsJsonObject();
        readyPort = ready.get("port").getAsInt();
        return;
      }
    }
    throw new IllegalStateException("no ready line in the emulator's output: " + getLogs());
  }

  /**
   * host:port for every client and protocol: the value for {@code CLOUD_TASKS_EMULATOR_HOST}.
   *
   * @return e.g. {@code 127.0.0.1:40123}
   */
  public String getEmulatorHost() {
    if (hostNetwork) {
      return "127.0.0.1:" + readyPort;
    }
    return getHost() + ":" + getMappedPort(PORT);
  }

  /** @return the base URL of REST, the admin API and {@code /healthz}: the same port */
  public String getHttpUrl() {
    return "http://" + getEmulatorHost();
  }
}
