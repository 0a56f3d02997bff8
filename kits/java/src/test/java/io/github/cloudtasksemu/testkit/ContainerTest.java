package io.github.cloudtasksemu.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.cloud.tasks.v2.AppEngineHttpRequest;
import com.google.cloud.tasks.v2.Queue;
import com.google.cloud.tasks.v2.Task;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The scenario against a container of the image ({@code CLOUDTASKS_EMU_IMAGE}) that the kit
 * starts through Testcontainers, on the host's network so that it reaches the handler on loopback.
 */
class ContainerTest extends ScenarioTests {
  @RegisterExtension
  static final RecordingHandler HANDLER = RecordingHandler.start();

  @RegisterExtension
  static final CloudTasksEmulatorExtension EMULATOR = new CloudTasksEmulatorExtension(CloudTasksEmulator.builder()
      .virtualClock()
      .hostNetwork()
      .queues(DECLARED)
      .appEngineUrl(HANDLER.url())
      .dataDir("/tmp/kit-java-data"));

  @Override
  CloudTasksEmulator emulator() {
    return EMULATOR.emulator();
  }

  @Override
  RecordingHandler handler() {
    return HANDLER;
  }

  @Test
  void startsTheImageWithTheOptionsGiven() {
    CloudTasksEmulatorContainer container = emulator().container().orElseThrow();
    assertTrue(container.getDockerImageName().startsWith(CloudTasksEmulatorContainer.defaultImage()),
        container.getDockerImageName());
    assertTrue(emulator().getEmulatorHost().startsWith("127.0.0.1:"), emulator().getEmulatorHost());
    String log = container.getLogs();
    assertTrue(log.contains("/tmp/kit-java-data"), log);
    assertTrue(log.contains("clock virtual"), log);
  }

  @Test
  void deliversAppEngineTasksToTheAppEngineUrl() {
    Queue queue = createQueue("appengine");
    client.createTask(queue.getName(), Task.newBuilder().setAppEngineHttpRequest(
        AppEngineHttpRequest.newBuilder().setRelativeUri("/appengine/work")).build());
    emulator().drain(queue.getName());
    assertEquals(1, HANDLER.requests("/appengine/work").size());
    assertEquals("appengine", HANDLER.requests("/appengine/work").get(0).header("X-AppEngine-QueueName"));
  }
}
