package io.github.cloudtasksemu.testkit;

import com.google.cloud.tasks.v2.CloudTasksClient;
import java.util.function.Supplier;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.platform.commons.support.AnnotationSupport;

/**
 * JUnit 5 glue: one emulator for a test class, reset before each test (as the Python plugin does),
 * given to test and lifecycle methods that ask for a {@link CloudTasksEmulator} or a {@link
 * CloudTasksClient} parameter; stopped after the class.
 *
 * <p>With {@code @ExtendWith(CloudTasksEmulatorExtension.class)} it connects to the emulator named by
 * {@code CLOUD_TASKS_EMULATOR_HOST} when that is set, else starts a container with a virtual clock
 * and the options of the class's {@link CloudTasksEmulatorOptions}. As a field, choose yourself:
 *
 * <pre>{@code
 * @RegisterExtension
 * static final CloudTasksEmulatorExtension EMULATOR =
 *     new CloudTasksEmulatorExtension(CloudTasksEmulator.builder().virtualClock().queues(QUEUE));
 * }</pre>
 */
public class CloudTasksEmulatorExtension
    implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, ParameterResolver {
  private final Supplier<CloudTasksEmulator> start;
  private CloudTasksEmulator emulator;

  /** For {@code @ExtendWith}: options from {@link CloudTasksEmulatorOptions} on the test class. */
  public CloudTasksEmulatorExtension() {
    this.start = null;
  }

  /** @param builder the emulator to start, or to connect to, before the class's first test */
  public CloudTasksEmulatorExtension(CloudTasksEmulator.Builder builder) {
    this(builder::start);
  }

  /** @param start makes the emulator before the class's first test, e.g. {@code CloudTasksEmulator::fromEnvironment} */
  public CloudTasksEmulatorExtension(Supplier<CloudTasksEmulator> start) {
    this.start = start;
  }

  /**
   * @return the emulator of the running test class
   * @throws IllegalStateException outside of the class's tests
   */
  public CloudTasksEmulator emulator() {
    if (emulator == null) {
      throw new IllegalStateException("the emulator starts before the test class's first test");
    }
    return emulator;
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    if (emulator == null) {
      emulator = start != null ? start.get() : fromOptions(context.getRequiredTestClass()).start();
    }
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    emulator().reset();
  }

  @Override
  public void afterAll(ExtensionContext context) {
    if (emulator != null) {
      emulator.close();
      emulator = null;
    }
  }

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    Class<?> type = parameter.getParameter().getType();
    return type == CloudTasksEmulator.class || type == CloudTasksClient.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    Class<?> type = parameter.getParameter().getType();
    if (emulator == null) {
      throw new ParameterResolutionException("no emulator yet for " + parameter.getParameter());
    }
    return type == CloudTasksClient.class ? emulator.client() : emulator;
  }

  static CloudTasksEmulator.Builder fromOptions(Class<?> testClass) {
    CloudTasksEmulatorOptions options = AnnotationSupport
        .findAnnotation(testClass, CloudTasksEmulatorOptions.class)
        .orElse(null);
    CloudTasksEmulator.Builder builder = CloudTasksEmulator.builder().connectIfRunning();
    if (options == null) {
      return builder.virtualClock();
    }
    if (options.virtualClock()) {
      builder.virtualClock();
    }
    if (!options.image().isEmpty()) {
      builder.image(options.image());
    }
    builder.queues(options.queues());
    if (!options.appEngineUrl().isEmpty()) {
      builder.appEngineUrl(options.appEngineUrl());
    }
    if (options.hostNetwork()) {
      builder.hostNetwork();
    }
    return builder;
  }
}
