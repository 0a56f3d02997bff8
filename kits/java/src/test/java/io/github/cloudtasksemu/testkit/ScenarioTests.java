package io.github.cloudtasksemu.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.api.gax.core.NoCredentialsProvider;
import com.google.api.gax.rpc.StatusCode;
import com.google.api.gax.rpc.UnavailableException;
import com.google.cloud.tasks.v2.CloudTasksClient;
import com.google.cloud.tasks.v2.HttpMethod;
import com.google.cloud.tasks.v2.HttpRequest;
import com.google.cloud.tasks.v2.Queue;
import com.google.cloud.tasks.v2.RetryConfig;
import com.google.cloud.tasks.v2.Task;
import com.google.protobuf.ByteString;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What the kit promises, against one emulator: a subclass says which (a container this kit starts,
 * or a running one it connects to). The extension resets the emulator before each test.
 */
abstract class ScenarioTests {
  static final String PARENT = "projects/kit-java/locations/us-central1";
  /** Declared at start: by the container's options, or by the flags of the running emulator. */
  static final String DECLARED = PARENT + "/queues/declared";

  abstract CloudTasksEmulator emulator();

  abstract RecordingHandler handler();

  CloudTasksClient client;

  @BeforeEach
  void useTheClient() {
    client = emulator().client();
  }

  Queue createQueue(String id) {
    return client.createQueue(PARENT, Queue.newBuilder().setName(PARENT + "/queues/" + id).build());
  }

  Task httpTask(Queue queue, String path) {
    return client.createTask(queue.getName(), Task.newBuilder()
        .setHttpRequest(HttpRequest.newBuilder().setUrl(handler().url() + path)).build());
  }

  List<String> queueNames(CloudTasksClient through) {
    return StreamSupport.stream(through.listQueues(PARENT).iterateAll().spliterator(), false)
        .map(Queue::getName)
        .toList();
  }

  @Test
  void deliversAnHttpTaskToAJavaHandlerAndJournalsTheAttempt() {
    Queue queue = createQueue("hello");
    Task task = client.createTask(queue.getName(), Task.newBuilder().setHttpRequest(HttpRequest.newBuilder()
        .setUrl(handler().url() + "/hello?lang=java").setHttpMethod(HttpMethod.PUT)
        .putHeaders("X-Kit", "java").setBody(ByteString.copyFromUtf8("{\"hi\":1}"))).build());

    emulator().drain(queue.getName());

    List<RecordingHandler.Request> got = handler().requests("/hello");
    assertEquals(1, got.size(), got.toString());
    assertEquals("PUT", got.get(0).method());
    assertEquals("lang=java", got.get(0).query());
    assertEquals("{\"hi\":1}", got.get(0).text());
    assertEquals("java", got.get(0).header("X-Kit"));
    assertEquals("hello", got.get(0).header("X-CloudTasks-QueueName"));
    List<Attempt> attempts = emulator().taskAttempts(task.getName());
    assertEquals(1, attempts.size(), attempts.toString());
    Attempt attempt = attempts.get(0);
    assertEquals(queue.getName(), attempt.queue());
    assertEquals(handler().url() + "/hello?lang=java", attempt.url());
    assertEquals(Integer.valueOf(200), attempt.status());
    assertTrue(attempt.succeeded());
    assertEquals("", attempt.error());
    assertEquals("ok", attempt.responseExcerpt());
    assertEquals(0, attempt.retryCount());
    assertEquals("java", attempt.requestHeaders().get("X-Kit"), attempt.requestHeaders().toString());
    assertEquals(attempts, emulator().attempts("hello"), "a queue ID names the queue");
  }

  @Test
  void retriesThreeTimesUnderTheVirtualClock() {
    Queue queue = client.createQueue(PARENT, Queue.newBuilder().setName(PARENT + "/queues/flaky")
        .setRetryConfig(RetryConfig.newBuilder().setMaxAttempts(5)
            .setMinBackoff(com.google.protobuf.Duration.newBuilder().setSeconds(30))
            .setMaxBackoff(com.google.protobuf.Duration.newBuilder().setSeconds(30)))
        .build());
    Instant start = emulator().now();
    long began = System.nanoTime();

    // [START kit-readme-java-retries]
    handler().script("/flaky", 503, 500, 200); // two failures, then success
    Task task = httpTask(queue, "/flaky");
    emulator().drain(queue.getName());
    emulator().advance(Duration.ofSeconds(31)); // past the queue's 30 s backoff
    emulator().drain(queue.getName());
    emulator().advance(Duration.ofSeconds(31));
    emulator().drain(queue.getName());
    List<Attempt> attempts = emulator().taskAttempts(task.getName());
    assertEquals(List.of(503, 500, 200), attempts.stream().map(Attempt::status).toList());
    // [END kit-readme-java-retries]

    long realMillis = (System.nanoTime() - began) / 1_000_000;
    System.out.println("retry chain of three attempts: " + realMillis + " ms of real time");
    assertEquals(List.of(0, 1, 2), attempts.stream().map(Attempt::retryCount).toList());
    assertEquals(List.of("0", "1", "2"), handler().requests("/flaky").stream()
        .map(request -> request.header("X-CloudTasks-TaskRetryCount")).toList());
    assertTrue(!emulator().now().isBefore(start.plusSeconds(62)), "the clock moved by the advances");
  }

  @Test
  void aCallFaultIsSeenByTheClient() {
    // [START kit-readme-java-faults]
    Fault fault = emulator().faults().add(FaultSpec.failCalls(StatusCode.Code.UNAVAILABLE)
        .rpc("CreateQueue").message("kit says no").times(1));
    // [END kit-readme-java-faults]
    assertEquals(Integer.valueOf(1), fault.timesLeft());
    assertEquals("CreateQueue", fault.rpc());

    UnavailableException refused = assertThrows(UnavailableException.class, () -> createQueue("faulty"));
    assertTrue(refused.getMessage().contains("kit says no"), refused.getMessage());
    // Used up: the same call now goes through.
    assertEquals(PARENT + "/queues/faulty", createQueue("faulty").getName());
  }

  @Test
  void aDispatchFaultAnswersInsteadOfTheHandler() {
    Queue queue = createQueue("pay");
    // [START kit-readme-java-dispatch]
    emulator().faults().add(FaultSpec.answerDispatch(handler().url() + "/pay", 503).times(1));
    // [END kit-readme-java-dispatch]
    assertTrue(emulator().faults().list().get(0).isDispatchFault());

    httpTask(queue, "/pay");
    emulator().drain(queue.getName());
    assertEquals(List.of(), handler().requests("/pay"));
    assertEquals(Integer.valueOf(503), emulator().attempts(queue.getName()).get(0).status());

    emulator().advance(Duration.ofMinutes(5));
    emulator().drain(queue.getName());
    assertEquals(1, handler().requests("/pay").size());
  }

  @Test
  void resetForgetsWhatTheTestMadeAndKeepsTheDeclaredQueues() {
    Queue scratch = createQueue("scratch");
    httpTask(scratch, "/scratch");
    emulator().drain();
    emulator().faults().fail(StatusCode.Code.INTERNAL, "PurgeQueue");
    Instant later = emulator().advance(Duration.ofHours(1));
    assertEquals(List.of(DECLARED, scratch.getName()), queueNames(client).stream().sorted().toList());

    emulator().reset();

    assertEquals(List.of(DECLARED), queueNames(client));
    assertEquals(List.of(), emulator().attempts());
    assertEquals(List.of(), emulator().faults().list());
    assertTrue(emulator().now().isBefore(later), "a virtual clock goes back to the real now");
  }

  @Test
  void resetOfOneQueueLeavesTheOthers() {
    Queue scratch = createQueue("scratch");
    emulator().reset(scratch.getName());
    assertEquals(List.of(DECLARED), queueNames(client));
    assertThrows(UnknownQueueException.class, () -> emulator().reset(scratch.getName()));
  }

  @Test
  void aTypoInAQueueNameFailsInsteadOfPassingIdle() {
    UnknownQueueException drain = assertThrows(UnknownQueueException.class,
        () -> emulator().drain(DECLARED + "d"));
    assertEquals(404, drain.httpStatus());
    assertEquals(List.of(DECLARED), drain.queues());
    assertThrows(UnknownQueueException.class, () -> emulator().attempts("declard"));
    emulator().drain("declared");
  }

  @Test
  void drainTimesOutWhileADeliveryHangs() {
    Queue queue = createQueue("hung");
    handler().script("/hung", RecordingHandler.HANG);
    httpTask(queue, "/hung");
    DrainTimeoutException busy = assertThrows(DrainTimeoutException.class,
        () -> emulator().drain(queue.getName(), Duration.ofSeconds(1)));
    assertTrue(busy.getMessage().contains(queue.getName()), busy.getMessage());
    assertEquals(1, handler().requests("/hung").size());
  }

  @Test
  void clockMovesOnlyWhenTold() {
    assertTrue(emulator().isClockVirtual());
    Instant now = emulator().now();
    assertEquals(now, emulator().now());
    Instant target = now.plusSeconds(3600);
    assertEquals(target.getEpochSecond(), emulator().setClock(target).getEpochSecond());
    EmulatorException backwards = assertThrows(EmulatorException.class, () -> emulator().setClock(now));
    assertEquals("INVALID_ARGUMENT", backwards.status());
  }

  @Test
  void restAndOtherVersionsSeeTheSameState() throws Exception {
    Queue queue = createQueue("shared");
    assertTrue(queueNames(emulator().restClient()).contains(queue.getName()));
    // [START kit-readme-java-versions]
    var settings = com.google.cloud.tasks.v2beta2.CloudTasksSettings.newBuilder()
        .setCredentialsProvider(NoCredentialsProvider.create())
        .setTransportChannelProvider(emulator().channelProvider())
        .build();
    // [END kit-readme-java-versions]
    try (var beta = com.google.cloud.tasks.v2beta2.CloudTasksClient.create(settings)) {
      assertEquals(queue.getName(), beta.getQueue(queue.getName()).getName());
    }
  }
}
