package io.github.cloudtasksemu.testkit;

import com.google.cloud.tasks.v2.CloudTasksClient;
import com.google.cloud.tasks.v2.HttpMethod;
import com.google.cloud.tasks.v2.HttpRequest;
import com.google.cloud.tasks.v2.Task;
import com.google.protobuf.ByteString;

/** The code under test in the README's example: a service that queues a task per sign-up. */
final class WelcomeEmails {
  private final CloudTasksClient tasks;
  private final String queue;
  private final String mailerUrl;

  WelcomeEmails(CloudTasksClient tasks, String queue, String mailerUrl) {
    this.tasks = tasks;
    this.queue = queue;
    this.mailerUrl = mailerUrl;
  }

  void signedUp(String email) {
    tasks.createTask(queue, Task.newBuilder().setHttpRequest(HttpRequest.newBuilder()
        .setUrl(mailerUrl + "/welcome").setHttpMethod(HttpMethod.POST)
        .setBody(ByteString.copyFromUtf8(email))).build());
  }
}
