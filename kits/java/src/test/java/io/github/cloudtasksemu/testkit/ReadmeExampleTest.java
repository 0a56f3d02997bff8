package io.github.cloudtasksemu.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.cloud.tasks.v2.CloudTasksClient;
import com.google.cloud.tasks.v2.Queue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The README's example, as a user writes it: {@code @ExtendWith} connects to
 * CLOUD_TASKS_EMULATOR_HOST when it is set, else starts a container.
 */
// [START kit-readme-java]
@CloudTasksEmulatorOptions(hostNetwork = true) // Linux: the container reaches MAILER on 127.0.0.1
@ExtendWith(CloudTasksEmulatorExtension.class)
class ReadmeExampleTest {
  @RegisterExtension static final RecordingHandler MAILER = RecordingHandler.start();

  @Test
  void signUpSendsTheWelcomeEmail(CloudTasksEmulator emulator, CloudTasksClient client) {
    Queue queue = client.createQueue("projects/p/locations/us-central1",
        Queue.newBuilder().setName("projects/p/locations/us-central1/queues/emails").build());
    new WelcomeEmails(client, queue.getName(), MAILER.url()).signedUp("ada@example.com");
    emulator.drain();
    assertEquals("ada@example.com", MAILER.requests("/welcome").get(0).text());
  }
}
// [END kit-readme-java]
