package cloudtasksemu_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"cloud.google.com/go/cloudtasks/apiv2/cloudtaskspb"
	cloudtasksb3 "cloud.google.com/go/cloudtasks/apiv2beta3"
	cloudtaskspbb3 "cloud.google.com/go/cloudtasks/apiv2beta3/cloudtaskspb"
	"google.golang.org/api/iterator"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	cloudtasksemu "github.com/cloudtasks-emu/cloudtasks-emu/kits/go"
)

const parent = "projects/kit-go/locations/us-central1"

// shared is the one emulator of this package's tests: the one at $CLOUD_TASKS_EMULATOR_HOST, or a
// container of $CLOUDTASKS_EMU_IMAGE on the host network (no registry, loopback only).
var shared *cloudtasksemu.Emulator

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	emu, err := cloudtasksemu.StartOrConnect(ctx, cloudtasksemu.WithVirtualClock(), cloudtasksemu.WithHostNetwork())
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shared = emu
	code := m.Run()
	if err := emu.Terminate(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

// newQueue creates a push queue whose retries wait backoff, for at most maxAttempts attempts.
func newQueue(t *testing.T, emu *cloudtasksemu.Harness, id string, backoff time.Duration, maxAttempts int32) *cloudtaskspb.Queue {
	t.Helper()
	queue, err := emu.Client().CreateQueue(t.Context(), &cloudtaskspb.CreateQueueRequest{
		Parent: parent,
		Queue: &cloudtaskspb.Queue{
			Name: parent + "/queues/" + id,
			RetryConfig: &cloudtaskspb.RetryConfig{
				MaxAttempts: maxAttempts, MinBackoff: durationpb.New(backoff), MaxBackoff: durationpb.New(backoff),
			},
		},
	})
	if err != nil {
		t.Fatalf("CreateQueue: %v", err)
	}
	return queue
}

// newTask sends an HTTP POST task with body to url.
func newTask(t *testing.T, emu *cloudtasksemu.Harness, queue, url, body string) *cloudtaskspb.Task {
	t.Helper()
	task, err := emu.Client().CreateTask(t.Context(), &cloudtaskspb.CreateTaskRequest{
		Parent: queue,
		Task: &cloudtaskspb.Task{MessageType: &cloudtaskspb.Task_HttpRequest{HttpRequest: &cloudtaskspb.HttpRequest{
			Url: url, HttpMethod: cloudtaskspb.HttpMethod_POST, Body: []byte(body),
		}}},
	})
	if err != nil {
		t.Fatalf("CreateTask: %v", err)
	}
	return task
}

func TestStartOrConnectFollowsTheEnvironment(t *testing.T) {
	// A container exactly when no emulator was named: the wrapper runs this package both ways.
	if named := os.Getenv(cloudtasksemu.EnvHost) != ""; named == (shared.Container() != nil) {
		t.Fatalf("%s set: %v, container: %v", cloudtasksemu.EnvHost, named, shared.Container() != nil)
	}
	if got := shared.URL(); got != "http://"+shared.Address() {
		t.Fatalf("URL %q for address %q", got, shared.Address())
	}
}

func TestTaskReachesHandlerAndItsAttemptIsRead(t *testing.T) {
	emu := shared.Test(t)
	handler := cloudtasksemu.NewRecorder(t)
	queue := newQueue(t, emu, "deliver", time.Second, 3)
	task := newTask(t, emu, queue.Name, handler.URL()+"/orders?id=7", "order 7")

	emu.Drain(queue.Name)

	got := handler.Requests("/orders")
	if len(got) != 1 || got[0].Method != http.MethodPost || string(got[0].Body) != "order 7" || got[0].Query != "id=7" {
		t.Fatalf("handler received %+v", got)
	}
	if name := got[0].Header.Get("X-CloudTasks-TaskName"); name == "" || parent+"/queues/deliver/tasks/"+name != task.Name {
		t.Fatalf("X-CloudTasks-TaskName %q for task %s", name, task.Name)
	}
	attempts := emu.TaskAttempts(task.Name)
	if len(attempts) != 1 {
		t.Fatalf("attempts %+v", attempts)
	}
	a := attempts[0]
	if a.Status != http.StatusOK || a.Error != "" || a.RetryCount != 0 || a.Queue != queue.Name || a.URL != handler.URL()+"/orders?id=7" {
		t.Fatalf("attempt %+v", a)
	}
	if a.RequestHeaders["X-CloudTasks-QueueName"] != "deliver" {
		t.Fatalf("request headers as sent %v", a.RequestHeaders)
	}
	// A queue's ID names it as well as its full name does.
	if byID := emu.Attempts("deliver"); len(byID) != 1 || byID[0].Task != task.Name {
		t.Fatalf("attempts by queue ID %+v", byID)
	}
}

func TestRetryChainOfThreeAttemptsUnderTheVirtualClock(t *testing.T) {
	emu := shared.Test(t)
	started := time.Now()
	handler := cloudtasksemu.NewRecorder(t)
	backoff := 10 * time.Minute
	queue := newQueue(t, emu, "retry", backoff, 3)

	// [START kit-go-retry]
	handler.Script("/pay", 500, 503) // then 200
	task := newTask(t, emu, queue.Name, handler.URL()+"/pay", "")
	emu.Drain(queue.Name) // attempt 1: 500
	emu.Advance(backoff + time.Second)
	emu.Drain(queue.Name) // attempt 2: 503
	emu.Advance(backoff + time.Second)
	emu.Drain(queue.Name) // attempt 3: 200
	// [END kit-go-retry]

	attempts := emu.TaskAttempts(task.Name)
	var statuses, retries []int
	for _, a := range attempts {
		statuses, retries = append(statuses, a.Status), append(retries, a.RetryCount)
	}
	if fmt.Sprint(statuses) != "[500 503 200]" || fmt.Sprint(retries) != "[0 1 2]" {
		t.Fatalf("statuses %v, retry counts %v", statuses, retries)
	}
	if gap := attempts[2].Time.Sub(attempts[1].Time); gap < 10*time.Minute {
		t.Fatalf("virtual time between the last two attempts: %v", gap)
	}
	got := handler.Requests("/pay")
	if len(got) != 3 || got[2].Header.Get("X-CloudTasks-TaskRetryCount") != "2" {
		t.Fatalf("handler received %+v", got)
	}
	// Reported, not asserted (no timing assertions): the issue wants well under a second.
	t.Logf("three attempts over 20 virtual minutes in %v of real time", time.Since(started).Round(time.Millisecond))
}

func TestCallFaultIsSeenByTheClient(t *testing.T) {
	emu := shared.Test(t)
	queue := newQueue(t, emu, "faulty", time.Second, 3)
	fault := emu.Faults().Fail(codes.Unavailable, cloudtasksemu.ForRPC("CreateTask"), cloudtasksemu.Times(1),
		cloudtasksemu.WithMessage("injected by the kit test"))
	if fault.ID == "" || fault.Times != 1 || fault.Code != "UNAVAILABLE" || fault.RPC != "CreateTask" {
		t.Fatalf("fault %+v", fault)
	}

	_, err := emu.Client().CreateTask(t.Context(), &cloudtaskspb.CreateTaskRequest{
		Parent: queue.Name,
		Task: &cloudtaskspb.Task{MessageType: &cloudtaskspb.Task_HttpRequest{HttpRequest: &cloudtaskspb.HttpRequest{
			Url: "http://127.0.0.1:9/never",
		}}},
	})

	if status.Code(err) != codes.Unavailable || status.Convert(err).Message() != "injected by the kit test" {
		t.Fatalf("CreateTask error %v", err)
	}
	if left := emu.Faults().List(); len(left) != 0 {
		t.Fatalf("a fault of Times(1) is still listed after acting: %+v", left)
	}
}

func TestDispatchFaultAnswersInTheHandlersPlace(t *testing.T) {
	emu := shared.Test(t)
	handler := cloudtasksemu.NewRecorder(t)
	queue := newQueue(t, emu, "refused", time.Minute, 2)
	emu.Faults().Dispatch(handler.URL()+"/flaky", cloudtasksemu.DispatchStatus(503), cloudtasksemu.Times(1))
	listed := emu.Faults().List()
	if len(listed) != 1 || listed[0].Dispatch != "503" || listed[0].URLPrefix != handler.URL()+"/flaky" {
		t.Fatalf("faults %+v", listed)
	}
	task := newTask(t, emu, queue.Name, handler.URL()+"/flaky", "")

	emu.Drain(queue.Name)
	if n := len(handler.Requests("")); n != 0 {
		t.Fatalf("the fault let %d requests through", n)
	}
	emu.Advance(time.Minute + time.Second)
	emu.Drain(queue.Name)

	attempts := emu.TaskAttempts(task.Name)
	if len(attempts) != 2 || attempts[0].Status != 503 || attempts[1].Status != 200 || len(handler.Requests("/flaky")) != 1 {
		t.Fatalf("attempts %+v, handler %+v", attempts, handler.Requests(""))
	}
}

func TestResetForgetsQueuesTasksAttemptsAndFaults(t *testing.T) {
	emu := shared.Test(t)
	handler := cloudtasksemu.NewRecorder(t)
	queue := newQueue(t, emu, "forget", time.Second, 1)
	newTask(t, emu, queue.Name, handler.URL()+"/x", "")
	emu.Drain("")
	emu.Faults().Dispatch(handler.URL(), cloudtasksemu.DispatchRefuse)
	emu.Advance(time.Hour)

	before := emu.Now()
	emu.Reset()

	if n := len(emu.Attempts("")); n != 0 {
		t.Fatalf("%d attempts after a reset", n)
	}
	if faults := emu.Faults().List(); len(faults) != 0 {
		t.Fatalf("faults after a reset: %+v", faults)
	}
	if _, err := emu.Client().GetQueue(t.Context(), &cloudtaskspb.GetQueueRequest{Name: queue.Name}); status.Code(err) != codes.NotFound {
		t.Fatalf("GetQueue after a reset: %v", err)
	}
	// A virtual clock comes back to the real now, an hour before where the test had moved it.
	if after := emu.Now(); !after.Before(before) {
		t.Fatalf("clock %v after a reset, %v before", after, before)
	}
	// The name is free again at once: a reset forgets tombstones too.
	newQueue(t, emu, "forget", time.Second, 1)
}

func TestClockAdvancesAndSets(t *testing.T) {
	emu := shared.Test(t)
	clock, err := emu.Clock(t.Context())
	if err != nil || !clock.Virtual {
		t.Fatalf("clock %+v, %v", clock, err)
	}
	emu.Advance(90 * time.Second)
	if got := emu.Now().Sub(clock.Now); got != 90*time.Second {
		t.Fatalf("advanced by %v", got)
	}
	target := clock.Now.Add(48 * time.Hour).Truncate(time.Second)
	emu.SetTime(target)
	if got := emu.Now(); !got.Equal(target) {
		t.Fatalf("set to %v, reads %v", target, got)
	}
	// Time only moves forward: the error comes back as an *Error with the canonical code.
	var apiErr *cloudtasksemu.Error
	if err := emu.Emulator.SetTime(t.Context(), clock.Now); !errors.As(err, &apiErr) || apiErr.Status != "INVALID_ARGUMENT" {
		t.Fatalf("setting the clock back: %v", err)
	}
}

func TestUnknownQueueFailsInsteadOfPassingIdle(t *testing.T) {
	emu := shared.Test(t)
	newQueue(t, emu, "known", time.Second, 1)
	err := emu.Emulator.Drain(t.Context(), parent+"/queues/knwon")
	var apiErr *cloudtasksemu.Error
	if !errors.Is(err, cloudtasksemu.ErrUnknownQueue) || !errors.As(err, &apiErr) || fmt.Sprint(apiErr.KnownQueues) != "["+parent+"/queues/known]" {
		t.Fatalf("drain of a misspelt queue: %v", err)
	}
	if _, err := emu.Emulator.Attempts(t.Context(), "knwon"); !errors.Is(err, cloudtasksemu.ErrUnknownQueue) {
		t.Fatalf("attempts of a misspelt queue: %v", err)
	}
}

func TestRESTClientSeesTheSameState(t *testing.T) {
	emu := shared.Test(t)
	queue := newQueue(t, emu, "rest", time.Second, 1)
	var names []string
	queues := emu.RESTClient().ListQueues(t.Context(), &cloudtaskspb.ListQueuesRequest{Parent: parent})
	for range 100 { // bounded: one page holds them all
		q, err := queues.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			t.Fatalf("ListQueues over REST: %v", err)
		}
		names = append(names, q.Name)
	}
	if fmt.Sprint(names) != "["+queue.Name+"]" {
		t.Fatalf("queues over REST %v", names)
	}
}

func TestDrainTimesOutWhileADeliveryIsInFlight(t *testing.T) {
	emu := shared.Test(t)
	release := make(chan struct{})
	held := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	t.Cleanup(held.Close)
	t.Cleanup(func() { close(release) }) // runs before held.Close, which waits for the handler
	queue := newQueue(t, emu, "held", time.Second, 1)
	newTask(t, emu, queue.Name, held.URL+"/slow", "")

	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	if err := emu.Emulator.Drain(ctx, queue.Name); !errors.Is(err, cloudtasksemu.ErrNotIdle) {
		t.Fatalf("drain with a delivery held: %v", err)
	}
}

func TestQueueIDThatSeveralQueuesHaveIsAmbiguous(t *testing.T) {
	emu := shared.Test(t)
	newQueue(t, emu, "twin", time.Second, 1)
	other := "projects/kit-go-other/locations/us-central1"
	if _, err := emu.Client().CreateQueue(t.Context(), &cloudtaskspb.CreateQueueRequest{
		Parent: other, Queue: &cloudtaskspb.Queue{Name: other + "/queues/twin"},
	}); err != nil {
		t.Fatalf("CreateQueue: %v", err)
	}
	err := emu.Emulator.Drain(t.Context(), "twin")
	var apiErr *cloudtasksemu.Error
	if !errors.Is(err, cloudtasksemu.ErrAmbiguousQueue) || !errors.As(err, &apiErr) || len(apiErr.MatchingQueues) != 2 {
		t.Fatalf("drain of a shared queue ID: %v", err)
	}
}

func TestDeclaredQueuesComeBackAfterReset(t *testing.T) {
	// Given a queue declared at start (a container's --queue, or created on a connected emulator).
	declared := parent + "/queues/declared"
	emu := cloudtasksemu.Run(t, cloudtasksemu.WithQueues(declared), cloudtasksemu.WithHostNetwork())
	client := emu.Client()
	if err := client.DeleteQueue(t.Context(), &cloudtaskspb.DeleteQueueRequest{Name: declared}); err != nil {
		t.Fatalf("DeleteQueue: %v", err)
	}

	emu.Reset()

	if _, err := client.GetQueue(t.Context(), &cloudtaskspb.GetQueueRequest{Name: declared}); err != nil {
		t.Fatalf("GetQueue after a reset: %v", err)
	}
	// Resetting that one queue forgets it, as the Python harness does.
	emu.Reset(cloudtasksemu.ResetQueue(declared))
	if err := emu.Emulator.Drain(t.Context(), declared); !errors.Is(err, cloudtasksemu.ErrUnknownQueue) {
		t.Fatalf("drain after resetting the queue: %v", err)
	}
}

func TestClientOptionsWireTheBetaClients(t *testing.T) {
	emu := shared.Test(t)
	ctx := t.Context()
	newQueue(t, emu, "beta", time.Second, 1)
	// [START kit-go-beta]
	client, err := cloudtasksb3.NewClient(ctx, emu.ClientOptions()...) // apiv2beta3
	// [END kit-go-beta]
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(func() { _ = client.Close() })
	queue, err := client.GetQueue(ctx, &cloudtaskspbb3.GetQueueRequest{Name: parent + "/queues/beta"})
	if err != nil || queue.GetName() != parent+"/queues/beta" {
		t.Fatalf("GetQueue through v2beta3: %v, %v", queue, err)
	}
}
