package dev.cloudtasksemu;

import com.google.api.gax.core.NoCredentialsProvider;
import com.google.api.gax.grpc.InstantiatingGrpcChannelProvider;
import com.google.cloud.tasks.v2.CloudTasksClient;
import com.google.cloud.tasks.v2.CloudTasksSettings;
import io.grpc.ManagedChannelBuilder;
import java.io.IOException;

/** Clients for the emulator, made exactly as the README tells Java users to. */
final class Connect {
  private Connect() {}

  static CloudTasksClient v2() throws IOException {
    // [START readme-java-connect]
    // Java, com.google.cloud:google-cloud-tasks (v2beta3 and v2beta2 take the same settings)
    CloudTasksSettings settings = CloudTasksSettings.newBuilder()
        .setCredentialsProvider(NoCredentialsProvider.create())
        .setTransportChannelProvider(InstantiatingGrpcChannelProvider.newBuilder()
            .setEndpoint(System.getenv("CLOUD_TASKS_EMULATOR_HOST")) // 127.0.0.1:8123
            .setChannelConfigurator(ManagedChannelBuilder::usePlaintext)
            .build())
        .build();
    CloudTasksClient client = CloudTasksClient.create(settings);
    // [END readme-java-connect]
    return client;
  }

  static InstantiatingGrpcChannelProvider plaintextChannel() {
    return InstantiatingGrpcChannelProvider.newBuilder()
        .setEndpoint(System.getenv("CLOUD_TASKS_EMULATOR_HOST"))
        .setChannelConfigurator(ManagedChannelBuilder::usePlaintext)
        .build();
  }

  static com.google.cloud.tasks.v2beta3.CloudTasksClient v2beta3() throws IOException {
    return com.google.cloud.tasks.v2beta3.CloudTasksClient.create(
        com.google.cloud.tasks.v2beta3.CloudTasksSettings.newBuilder()
            .setCredentialsProvider(NoCredentialsProvider.create())
            .setTransportChannelProvider(plaintextChannel())
            .build());
  }

  static com.google.cloud.tasks.v2beta2.CloudTasksClient v2beta2() throws IOException {
    return com.google.cloud.tasks.v2beta2.CloudTasksClient.create(
        com.google.cloud.tasks.v2beta2.CloudTasksSettings.newBuilder()
            .setCredentialsProvider(NoCredentialsProvider.create())
            .setTransportChannelProvider(plaintextChannel())
            .build());
  }
}
