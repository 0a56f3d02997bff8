package io.github.cloudtasksemu.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The scenario against a running emulator named by {@code CLOUD_TASKS_EMULATOR_HOST}, started with
 * {@code --virtual-clock --queue projects/kit-java/locations/us-central1/queues/declared}
 * (tests/container/test_kit_java.py does).
 */
class ConnectTest extends ScenarioTests {
  @RegisterExtension
  static final RecordingHandler HANDLER = RecordingHandler.start();

  @RegisterExtension
  static final CloudTasksEmulatorExtension EMULATOR = new CloudTasksEmulatorExtension(CloudTasksEmulator::fromEnvironment);

  @Override
  CloudTasksEmulator emulator() {
    return EMULATOR.emulator();
  }

  @Override
  RecordingHandler handler() {
    return HANDLER;
  }

  @Test
  void connectsToTheAddressGiven() {
    assertEquals(System.getenv(CloudTasksEmulator.HOST_VARIABLE), emulator().getEmulatorHost());
    assertTrue(emulator().container().isEmpty());
  }
}
