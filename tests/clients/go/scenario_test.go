package clients

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	cloudtasks "cloud.google.com/go/cloudtasks/apiv2"
	"cloud.google.com/go/cloudtasks/apiv2/cloudtaskspb"
	b2pb "cloud.google.com/go/cloudtasks/apiv2beta2/cloudtaskspb"
	b3pb "cloud.google.com/go/cloudtasks/apiv2beta3/cloudtaskspb"
	"github.com/googleapis/gax-go/v2/apierror"
	"google.golang.org/api/iterator"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

const parent = "projects/go-client/locations/us-central1"

var (
	run  = strconv.FormatInt(time.Now().UnixNano(), 36) // queue IDs unique per run: deleted names stay blocked
	hook *handler
)

func TestMain(m *testing.M) {
	for _, name := range []string{"CLOUD_TASKS_EMULATOR_HOST", "APP_ENGINE_EMULATOR_HOST"} {
		if os.Getenv(name) == "" {
			fmt.Fprintf(os.Stderr, "set %s to the emulator's address\n", name)
			os.Exit(2)
		}
	}
	var err error
	if hook, err = startHandler(); err != nil {
		fmt.Fprintln(os.Stderr, "handler:", err)
		os.Exit(2)
	}
	os.Exit(m.Run())
}

func queueName(id string) string { return parent + "/queues/" + id + "-" + run }

func lastSegment(name string) string { return name[strings.LastIndex(name, "/")+1:] }

// requireCode asserts that err is the client's own *apierror.APIError with the given gRPC code.
func requireCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	var apiErr *apierror.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("want an *apierror.APIError with %v, got %T %v", want, err, err)
	}
	if got := apiErr.GRPCStatus().Code(); got != want {
		t.Fatalf("want %v, got %v (%v)", want, got, err)
	}
}

// result carries a call's (value, error) pair so that one line can check it: must(client.X(...)).get(t).
type result[T any] struct {
	value T
	err   error
}

func must[T any](value T, err error) result[T] { return result[T]{value, err} }

func (r result[T]) get(t *testing.T) T {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.value
}

func TestQueueLifecycle(t *testing.T) {
	ctx := context.Background()
	client := v2(t)
	name := queueName("life")

	// Create, then the same name again: AlreadyExists. A bad ID: InvalidArgument.
	created := must(client.CreateQueue(ctx, &cloudtaskspb.CreateQueueRequest{Parent: parent, Queue: &cloudtaskspb.Queue{
		Name: name, RateLimits: &cloudtaskspb.RateLimits{MaxDispatchesPerSecond: 50},
	}})).get(t)
	if created.GetName() != name || created.GetState() != cloudtaskspb.Queue_RUNNING {
		t.Fatalf("created %v", created)
	}
	_, err := client.CreateQueue(ctx, &cloudtaskspb.CreateQueueRequest{Parent: parent, Queue: &cloudtaskspb.Queue{Name: name}})
	requireCode(t, err, codes.AlreadyExists)
	_, err = client.CreateQueue(ctx, &cloudtaskspb.CreateQueueRequest{Parent: parent, Queue: &cloudtaskspb.Queue{Name: parent + "/queues/not_valid!"}})
	requireCode(t, err, codes.InvalidArgument)

	got := must(client.GetQueue(ctx, &cloudtaskspb.GetQueueRequest{Name: name})).get(t)
	if got.GetRateLimits().GetMaxDispatchesPerSecond() != 50 {
		t.Fatalf("get: %v", got)
	}

	// List in pages of two: three queues take two pages, each fetched with the previous page's token.
	must(client.CreateQueue(ctx, &cloudtaskspb.CreateQueueRequest{Parent: parent, Queue: &cloudtaskspb.Queue{Name: queueName("page-a")}})).get(t)
	must(client.CreateQueue(ctx, &cloudtaskspb.CreateQueueRequest{Parent: parent, Queue: &cloudtaskspb.Queue{Name: queueName("page-b")}})).get(t)
	pager := iterator.NewPager(client.ListQueues(ctx, &cloudtaskspb.ListQueuesRequest{Parent: parent}), 2, "")
	var listed []string
	pages := 0
	for {
		var page []*cloudtaskspb.Queue
		token := must(pager.NextPage(&page)).get(t)
		pages++
		if len(page) > 2 {
			t.Fatalf("page of %d queues, asked for 2", len(page))
		}
		for _, q := range page {
			if strings.HasSuffix(q.GetName(), "-"+run) {
				listed = append(listed, q.GetName())
			}
		}
		if token == "" || pages > 50 {
			break
		}
	}
	if len(listed) != 3 || pages < 2 {
		t.Fatalf("listed %v in %d pages", listed, pages)
	}

	// Update one field through the mask; the others keep their values.
	updated := must(client.UpdateQueue(ctx, &cloudtaskspb.UpdateQueueRequest{
		Queue:      &cloudtaskspb.Queue{Name: name, RetryConfig: &cloudtaskspb.RetryConfig{MaxAttempts: 7}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"retry_config.max_attempts"}},
	})).get(t)
	if updated.GetRetryConfig().GetMaxAttempts() != 7 || updated.GetRateLimits().GetMaxDispatchesPerSecond() != 50 {
		t.Fatalf("update: %v", updated)
	}

	// Pause, queue a task (a paused queue keeps it), purge it, resume.
	paused := must(client.PauseQueue(ctx, &cloudtaskspb.PauseQueueRequest{Name: name})).get(t)
	if paused.GetState() != cloudtaskspb.Queue_PAUSED {
		t.Fatalf("pause: %v", paused)
	}
	must(client.CreateTask(ctx, &cloudtaskspb.CreateTaskRequest{Parent: name, Task: &cloudtaskspb.Task{
		MessageType: &cloudtaskspb.Task_HttpRequest{HttpRequest: &cloudtaskspb.HttpRequest{Url: hook.URL + "/never"}},
	}})).get(t)
	if n := countTasks(t, client, name); n != 1 {
		t.Fatalf("%d tasks before purge", n)
	}
	must(client.PurgeQueue(ctx, &cloudtaskspb.PurgeQueueRequest{Name: name})).get(t)
	if n := countTasks(t, client, name); n != 0 {
		t.Fatalf("%d tasks after purge", n)
	}
	resumed := must(client.ResumeQueue(ctx, &cloudtaskspb.ResumeQueueRequest{Name: name})).get(t)
	if resumed.GetState() != cloudtaskspb.Queue_RUNNING {
		t.Fatalf("resume: %v", resumed)
	}

	// Delete; then the queue is NotFound.
	if err := client.DeleteQueue(ctx, &cloudtaskspb.DeleteQueueRequest{Name: name}); err != nil {
		t.Fatal(err)
	}
	_, err = client.GetQueue(ctx, &cloudtaskspb.GetQueueRequest{Name: name})
	requireCode(t, err, codes.NotFound)
}

func countTasks(t *testing.T, client *cloudtasks.Client, queue string) int {
	t.Helper()
	n := 0
	for it := client.ListTasks(context.Background(), &cloudtaskspb.ListTasksRequest{Parent: queue}); ; n++ {
		if _, err := it.Next(); errors.Is(err, iterator.Done) {
			return n
		} else if err != nil {
			t.Fatal(err)
		}
	}
}

func TestHTTPTaskWithOIDCToken(t *testing.T) {
	ctx := context.Background()
	client := v2(t)
	queue := must(client.CreateQueue(ctx, &cloudtaskspb.CreateQueueRequest{Parent: parent, Queue: &cloudtaskspb.Queue{Name: queueName("http")}})).get(t)
	const audience = "https://handler.example/go"
	const account = "tasks@go-client.iam.gserviceaccount.com"

	task := must(client.CreateTask(ctx, &cloudtaskspb.CreateTaskRequest{Parent: queue.GetName(), Task: &cloudtaskspb.Task{
		MessageType: &cloudtaskspb.Task_HttpRequest{HttpRequest: &cloudtaskspb.HttpRequest{
			Url: hook.URL + "/http/go?step=1", HttpMethod: cloudtaskspb.HttpMethod_PUT,
			Headers:             map[string]string{"Content-Type": "application/json", "X-Client": "go"},
			Body:                []byte(`{"hello":"go"}`),
			AuthorizationHeader: &cloudtaskspb.HttpRequest_OidcToken{OidcToken: &cloudtaskspb.OidcToken{ServiceAccountEmail: account, Audience: audience}},
		}},
	}})).get(t)

	got := hook.next(t, "/http/go")
	if got.Method != "PUT" || got.Query != "step=1" || got.Body != `{"hello":"go"}` {
		t.Fatalf("delivered %s ?%s %q", got.Method, got.Query, got.Body)
	}
	for header, want := range map[string]string{
		"X-CloudTasks-QueueName": lastSegment(queue.GetName()), "X-CloudTasks-TaskName": lastSegment(task.GetName()),
		"X-CloudTasks-TaskRetryCount": "0", "X-CloudTasks-TaskExecutionCount": "0",
		"User-Agent": "Google-Cloud-Tasks", "Content-Type": "application/json", "X-Client": "go",
	} {
		if got.Header.Get(header) != want {
			t.Errorf("%s = %q, want %q", header, got.Header.Get(header), want)
		}
	}
	if eta, err := strconv.ParseFloat(got.Header.Get("X-CloudTasks-TaskETA"), 64); err != nil || eta < 1e9 {
		t.Errorf("X-CloudTasks-TaskETA = %q", got.Header.Get("X-CloudTasks-TaskETA"))
	}

	// The bearer token is an ID token that the emulator's JWKS verifies; a changed byte fails.
	raw, ok := strings.CutPrefix(got.Header.Get("Authorization"), "Bearer ")
	if !ok {
		t.Fatalf("Authorization = %q", got.Header.Get("Authorization"))
	}
	claims, err := verifyIDToken(ctx, raw, audience)
	if err != nil {
		t.Fatalf("token does not verify: %v", err)
	}
	if claims["email"] != account || claims["email_verified"] != true {
		t.Fatalf("claims %v", claims)
	}
	tampered := raw[:len(raw)-2] + map[bool]string{true: "AA", false: "BB"}[!strings.HasSuffix(raw, "AA")]
	if _, err := verifyIDToken(ctx, tampered, audience); err == nil {
		t.Fatal("a tampered token verified")
	}
	if _, err := verifyIDToken(ctx, raw, "https://someone.else"); err == nil {
		t.Fatal("a token for another audience verified")
	}
}

func TestAppEngineTask(t *testing.T) {
	ctx := context.Background()
	client := v2(t)
	queue := must(client.CreateQueue(ctx, &cloudtaskspb.CreateQueueRequest{Parent: parent, Queue: &cloudtaskspb.Queue{Name: queueName("appengine")}})).get(t)
	task := must(client.CreateTask(ctx, &cloudtaskspb.CreateTaskRequest{Parent: queue.GetName(), Task: &cloudtaskspb.Task{
		MessageType: &cloudtaskspb.Task_AppEngineHttpRequest{AppEngineHttpRequest: &cloudtaskspb.AppEngineHttpRequest{
			HttpMethod: cloudtaskspb.HttpMethod_POST, RelativeUri: "/appengine/go?x=1", Body: []byte("from go"),
		}},
	}})).get(t)
	got := hook.next(t, "/appengine/go")
	if got.Method != "POST" || got.Query != "x=1" || got.Body != "from go" {
		t.Fatalf("delivered %s ?%s %q", got.Method, got.Query, got.Body)
	}
	for header, want := range map[string]string{
		"X-AppEngine-QueueName": lastSegment(queue.GetName()), "X-AppEngine-TaskName": lastSegment(task.GetName()),
		"X-AppEngine-TaskRetryCount": "0", "X-AppEngine-TaskExecutionCount": "0",
	} {
		if got.Header.Get(header) != want {
			t.Errorf("%s = %q, want %q", header, got.Header.Get(header), want)
		}
	}
	if !strings.Contains(got.Header.Get("User-Agent"), "AppEngine-Google") {
		t.Errorf("User-Agent = %q", got.Header.Get("User-Agent"))
	}
}

func TestTaskErrors(t *testing.T) {
	ctx := context.Background()
	client := v2(t)
	queue := must(client.CreateQueue(ctx, &cloudtaskspb.CreateQueueRequest{Parent: parent, Queue: &cloudtaskspb.Queue{Name: queueName("errors")}})).get(t)
	_, err := client.GetTask(ctx, &cloudtaskspb.GetTaskRequest{Name: queue.GetName() + "/tasks/missing"})
	requireCode(t, err, codes.NotFound)
	_, err = client.CreateTask(ctx, &cloudtaskspb.CreateTaskRequest{Parent: queue.GetName(), Task: &cloudtaskspb.Task{
		MessageType: &cloudtaskspb.Task_HttpRequest{HttpRequest: &cloudtaskspb.HttpRequest{Url: "ftp://not-http"}},
	}})
	requireCode(t, err, codes.InvalidArgument)
	_, err = client.CreateTask(ctx, &cloudtaskspb.CreateTaskRequest{Parent: queueName("absent"), Task: &cloudtaskspb.Task{
		MessageType: &cloudtaskspb.Task_HttpRequest{HttpRequest: &cloudtaskspb.HttpRequest{Url: hook.URL + "/x"}},
	}})
	requireCode(t, err, codes.NotFound) // what the service answers for a missing queue (reference section 8)
}

// A task created through v2beta3 is the same task through v2: one state behind all versions.
func TestV2beta3SharesState(t *testing.T) {
	ctx := context.Background()
	client, beta := v2(t), v2beta3(t)
	queue := must(beta.CreateQueue(ctx, &b3pb.CreateQueueRequest{Parent: parent, Queue: &b3pb.Queue{Name: queueName("beta3")}})).get(t)
	must(beta.PauseQueue(ctx, &b3pb.PauseQueueRequest{Name: queue.GetName()})).get(t)
	task := must(beta.CreateTask(ctx, &b3pb.CreateTaskRequest{Parent: queue.GetName(), Task: &b3pb.Task{
		PayloadType: &b3pb.Task_HttpRequest{HttpRequest: &b3pb.HttpRequest{Url: hook.URL + "/beta3"}},
	}})).get(t)
	seen := must(client.GetTask(ctx, &cloudtaskspb.GetTaskRequest{Name: task.GetName()})).get(t)
	if seen.GetHttpRequest().GetUrl() != hook.URL+"/beta3" {
		t.Fatalf("v2 sees %v", seen)
	}
	got := must(client.GetQueue(ctx, &cloudtaskspb.GetQueueRequest{Name: queue.GetName()})).get(t)
	if got.GetState() != cloudtaskspb.Queue_PAUSED {
		t.Fatalf("v2 sees %v", got)
	}
}

// A v2beta2 pull queue: lease, renew, acknowledge (a stale lease time is refused).
func TestPullQueueLeaseRenewAcknowledge(t *testing.T) {
	ctx := context.Background()
	client := v2beta2(t)
	queue := must(client.CreateQueue(ctx, &b2pb.CreateQueueRequest{Parent: parent, Queue: &b2pb.Queue{
		Name: queueName("pull"), TargetType: &b2pb.Queue_PullTarget{PullTarget: &b2pb.PullTarget{}},
	}})).get(t)
	must(client.CreateTask(ctx, &b2pb.CreateTaskRequest{Parent: queue.GetName(), Task: &b2pb.Task{
		PayloadType: &b2pb.Task_PullMessage{PullMessage: &b2pb.PullMessage{Payload: []byte("work for go"), Tag: "go"}},
	}})).get(t)

	leased := must(client.LeaseTasks(ctx, &b2pb.LeaseTasksRequest{
		Parent: queue.GetName(), MaxTasks: 10, LeaseDuration: durationpb.New(60 * time.Second),
		ResponseView: b2pb.Task_FULL, Filter: "tag=go",
	})).get(t).GetTasks()
	if len(leased) != 1 || string(leased[0].GetPullMessage().GetPayload()) != "work for go" {
		t.Fatalf("leased %v", leased)
	}
	first := leased[0]
	renewed := must(client.RenewLease(ctx, &b2pb.RenewLeaseRequest{
		Name: first.GetName(), ScheduleTime: first.GetScheduleTime(), LeaseDuration: durationpb.New(120 * time.Second),
	})).get(t)
	if !renewed.GetScheduleTime().AsTime().After(first.GetScheduleTime().AsTime()) {
		t.Fatalf("renewed lease ends %v, first ended %v", renewed.GetScheduleTime().AsTime(), first.GetScheduleTime().AsTime())
	}
	err := client.AcknowledgeTask(ctx, &b2pb.AcknowledgeTaskRequest{Name: first.GetName(), ScheduleTime: first.GetScheduleTime()})
	requireCode(t, err, codes.FailedPrecondition)
	if err := client.AcknowledgeTask(ctx, &b2pb.AcknowledgeTaskRequest{Name: first.GetName(), ScheduleTime: renewed.GetScheduleTime()}); err != nil {
		t.Fatal(err)
	}
	_, err = client.GetTask(ctx, &b2pb.GetTaskRequest{Name: first.GetName()})
	requireCode(t, err, codes.NotFound)
}
