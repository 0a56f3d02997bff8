package dev.cloudtasksemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.api.gax.rpc.AlreadyExistsException;
import com.google.api.gax.rpc.FailedPreconditionException;
import com.google.api.gax.rpc.InvalidArgumentException;
import com.google.api.gax.rpc.NotFoundException;
import com.google.cloud.tasks.v2.AppEngineHttpRequest;
import com.google.cloud.tasks.v2.CloudTasksClient;
import com.google.cloud.tasks.v2.HttpMethod;
import com.google.cloud.tasks.v2.HttpRequest;
import com.google.cloud.tasks.v2.ListQueuesRequest;
import com.google.cloud.tasks.v2.OidcToken;
import com.google.cloud.tasks.v2.Queue;
import com.google.cloud.tasks.v2.RateLimits;
import com.google.cloud.tasks.v2.RetryConfig;
import com.google.cloud.tasks.v2.Task;
import com.google.cloud.tasks.v2.UpdateQueueRequest;
import com.google.protobuf.ByteString;
import com.google.protobuf.Duration;
import com.google.protobuf.FieldMask;
import com.nimbusds.jwt.JWTClaimsSet;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The issue 14 scenario with the official Java client over gRPC. */
class ScenarioTest {
  static final String PARENT = "projects/java-client/locations/us-central1";
  static final String RUN = Long.toString(System.nanoTime(), 36); // a deleted queue name stays blocked
  static Handler hook;
  static CloudTasksClient client;

  @BeforeAll
  static void start() throws Exception {
    hook = new Handler();
    client = Connect.v2();
  }

  @AfterAll
  static void stop() {
    client.close();
    hook.close();
  }

  static String queueName(String id) {
    return PARENT + "/queues/" + id + "-" + RUN;
  }

  static String lastSegment(String name) {
    return name.substring(name.lastIndexOf('/') + 1);
  }

  static Queue createQueue(String id) {
    return client.createQueue(PARENT, Queue.newBuilder().setName(queueName(id)).build());
  }

  static long countTasks(String queue) {
    return StreamSupport.stream(client.listTasks(queue).iterateAll().spliterator(), false).count();
  }

  @Test
  void queueLifecycle() {
    String name = queueName("life");
    Queue created = client.createQueue(PARENT, Queue.newBuilder().setName(name)
        .setRateLimits(RateLimits.newBuilder().setMaxDispatchesPerSecond(50)).build());
    assertEquals(name, created.getName());
    assertEquals(Queue.State.RUNNING, created.getState());
    assertThrows(AlreadyExistsException.class, () -> client.createQueue(PARENT, Queue.newBuilder().setName(name).build()));
    assertThrows(InvalidArgumentException.class,
        () -> client.createQueue(PARENT, Queue.newBuilder().setName(PARENT + "/queues/not_valid!").build()));
    assertEquals(50, client.getQueue(name).getRateLimits().getMaxDispatchesPerSecond());

    // Three queues in pages of two: each page fetched with the previous page's token.
    createQueue("page-a");
    createQueue("page-b");
    List<String> listed = new ArrayList<>();
    int pages = 0;
    for (var page : client.listQueues(ListQueuesRequest.newBuilder().setParent(PARENT).setPageSize(2).build()).iteratePages()) {
      pages++;
      assertTrue(page.getPageElementCount() <= 2, "a page of " + page.getPageElementCount());
      page.getValues().forEach(q -> {
        if (q.getName().endsWith("-" + RUN)) {
          listed.add(q.getName());
        }
      });
    }
    assertEquals(3, listed.size(), listed.toString());
    assertTrue(pages >= 2, pages + " pages");

    Queue updated = client.updateQueue(UpdateQueueRequest.newBuilder()
        .setQueue(Queue.newBuilder().setName(name).setRetryConfig(RetryConfig.newBuilder().setMaxAttempts(7)))
        .setUpdateMask(FieldMask.newBuilder().addPaths("retry_config.max_attempts"))
        .build());
    assertEquals(7, updated.getRetryConfig().getMaxAttempts());
    assertEquals(50, updated.getRateLimits().getMaxDispatchesPerSecond());

    assertEquals(Queue.State.PAUSED, client.pauseQueue(name).getState());
    client.createTask(name, Task.newBuilder().setHttpRequest(HttpRequest.newBuilder().setUrl(hook.url + "/never")).build());
    assertEquals(1, countTasks(name));
    client.purgeQueue(name);
    assertEquals(0, countTasks(name));
    assertEquals(Queue.State.RUNNING, client.resumeQueue(name).getState());

    client.deleteQueue(name);
    assertThrows(NotFoundException.class, () -> client.getQueue(name));
  }

  @Test
  void httpTaskWithOidcToken() throws Exception {
    Queue queue = createQueue("http");
    String audience = "https://handler.example/java";
    String account = "tasks@java-client.iam.gserviceaccount.com";
    Task task = client.createTask(queue.getName(), Task.newBuilder().setHttpRequest(HttpRequest.newBuilder()
        .setUrl(hook.url + "/http/java?step=1").setHttpMethod(HttpMethod.PUT)
        .putHeaders("Content-Type", "application/json").putHeaders("X-Client", "java")
        .setBody(ByteString.copyFromUtf8("{\"hello\":\"java\"}"))
        .setOidcToken(OidcToken.newBuilder().setServiceAccountEmail(account).setAudience(audience))).build());

    Handler.Received got = hook.next("/http/java");
    assertEquals("PUT", got.method());
    assertEquals("step=1", got.query());
    assertEquals("{\"hello\":\"java\"}", got.body());
    assertEquals(lastSegment(queue.getName()), got.headers().get("x-cloudtasks-queuename"));
    assertEquals(lastSegment(task.getName()), got.headers().get("x-cloudtasks-taskname"));
    assertEquals("0", got.headers().get("x-cloudtasks-taskretrycount"));
    assertEquals("0", got.headers().get("x-cloudtasks-taskexecutioncount"));
    assertTrue(Double.parseDouble(got.headers().get("x-cloudtasks-tasketa")) > 1e9);
    assertEquals("Google-Cloud-Tasks", got.headers().get("user-agent"));
    assertEquals("application/json", got.headers().get("content-type"));
    assertEquals("java", got.headers().get("x-client"));

    String token = got.headers().get("authorization").replaceFirst("^Bearer ", "");
    JWTClaimsSet claims = Handler.verifyIdToken(token, audience);
    assertEquals(account, claims.getStringClaim("email"));
    assertEquals(Boolean.TRUE, claims.getBooleanClaim("email_verified"));
    assertThrows(Exception.class, () -> Handler.verifyIdToken(token, "https://someone.else"));
    String tampered = token.substring(0, token.length() - 2) + (token.endsWith("AA") ? "BB" : "AA");
    assertThrows(Exception.class, () -> Handler.verifyIdToken(tampered, audience));
  }

  @Test
  void appEngineTask() throws Exception {
    Queue queue = createQueue("appengine");
    Task task = client.createTask(queue.getName(), Task.newBuilder().setAppEngineHttpRequest(AppEngineHttpRequest.newBuilder()
        .setHttpMethod(HttpMethod.POST).setRelativeUri("/appengine/java?x=1").setBody(ByteString.copyFromUtf8("from java"))).build());
    Handler.Received got = hook.next("/appengine/java");
    assertEquals("POST", got.method());
    assertEquals("x=1", got.query());
    assertEquals("from java", got.body());
    assertEquals(lastSegment(queue.getName()), got.headers().get("x-appengine-queuename"));
    assertEquals(lastSegment(task.getName()), got.headers().get("x-appengine-taskname"));
    assertEquals("0", got.headers().get("x-appengine-taskretrycount"));
    assertTrue(got.headers().get("user-agent").contains("AppEngine-Google"), got.headers().get("user-agent"));
  }

  @Test
  void taskErrors() {
    Queue queue = createQueue("errors");
    assertThrows(NotFoundException.class, () -> client.getTask(queue.getName() + "/tasks/missing"));
    assertThrows(InvalidArgumentException.class, () -> client.createTask(queue.getName(),
        Task.newBuilder().setHttpRequest(HttpRequest.newBuilder().setUrl("ftp://not-http")).build()));
    // What the service answers for a missing queue (reference section 8).
    assertThrows(NotFoundException.class, () -> client.createTask(queueName("absent"),
        Task.newBuilder().setHttpRequest(HttpRequest.newBuilder().setUrl(hook.url + "/x")).build()));
  }

  @Test
  void v2beta3SharesState() throws Exception {
    try (var beta = Connect.v2beta3()) {
      var queue = beta.createQueue(PARENT, com.google.cloud.tasks.v2beta3.Queue.newBuilder().setName(queueName("beta3")).build());
      beta.pauseQueue(queue.getName());
      var task = beta.createTask(queue.getName(), com.google.cloud.tasks.v2beta3.Task.newBuilder()
          .setHttpRequest(com.google.cloud.tasks.v2beta3.HttpRequest.newBuilder().setUrl(hook.url + "/beta3")).build());
      assertEquals(hook.url + "/beta3", client.getTask(task.getName()).getHttpRequest().getUrl());
      assertEquals(Queue.State.PAUSED, client.getQueue(queue.getName()).getState());
    }
  }

  @Test
  void pullQueueLeaseRenewAcknowledge() throws Exception {
    try (var pull = Connect.v2beta2()) {
      var queue = pull.createQueue(PARENT, com.google.cloud.tasks.v2beta2.Queue.newBuilder().setName(queueName("pull"))
          .setPullTarget(com.google.cloud.tasks.v2beta2.PullTarget.getDefaultInstance()).build());
      pull.createTask(queue.getName(), com.google.cloud.tasks.v2beta2.Task.newBuilder()
          .setPullMessage(com.google.cloud.tasks.v2beta2.PullMessage.newBuilder()
              .setPayload(ByteString.copyFromUtf8("work for java")).setTag("java")).build());

      var leased = pull.leaseTasks(com.google.cloud.tasks.v2beta2.LeaseTasksRequest.newBuilder()
          .setParent(queue.getName()).setMaxTasks(10).setLeaseDuration(Duration.newBuilder().setSeconds(60))
          .setResponseView(com.google.cloud.tasks.v2beta2.Task.View.FULL).setFilter("tag=java").build()).getTasksList();
      assertEquals(1, leased.size());
      var first = leased.get(0);
      assertEquals("work for java", first.getPullMessage().getPayload().toStringUtf8());
      var renewed = pull.renewLease(first.getName(), first.getScheduleTime(), Duration.newBuilder().setSeconds(120).build());
      assertTrue(renewed.getScheduleTime().getSeconds() > first.getScheduleTime().getSeconds());

      assertThrows(FailedPreconditionException.class, () -> pull.acknowledgeTask(first.getName(), first.getScheduleTime()));
      pull.acknowledgeTask(first.getName(), renewed.getScheduleTime());
      assertThrows(NotFoundException.class, () -> pull.getTask(first.getName()));
    }
  }
}
