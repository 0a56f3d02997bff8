package io.github.cloudtasksemu.testkit;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * The container that {@code @ExtendWith(CloudTasksEmulatorExtension.class)} starts for this class
 * (when {@code CLOUD_TASKS_EMULATOR_HOST} names no running emulator).
 */
@Documented
@Inherited
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
public @interface CloudTasksEmulatorOptions {
  /** @return the image; "" for {@link CloudTasksEmulatorContainer#defaultImage()} */
  String image() default "";

  /** @return whether time moves only when the test says so */
  boolean virtualClock() default true;

  /** @return queues created at start and at every reset: full names */
  String[] queues() default {};

  /** @return where App Engine tasks are delivered; "" for the emulator's default */
  String appEngineUrl() default "";

  /** @return whether the container shares the host's network (Linux) */
  boolean hostNetwork() default false;
}
