package cloudtasksemu_test

import (
	"context"
	"testing"

	cloudtasks "cloud.google.com/go/cloudtasks/apiv2"
	"cloud.google.com/go/cloudtasks/apiv2/cloudtaskspb"

	cloudtasksemu "github.com/cloudtasks-emu/cloudtasks-emu/kits/go"
)

const welcomeQueue = "projects/shop/locations/us-central1/queues/welcome"

// App stands for the code under test: signing up queues a welcome e-mail for its worker.
type App struct {
	Tasks     *cloudtasks.Client
	Queue     string
	WorkerURL string
}

func (a *App) Signup(ctx context.Context, email string) error {
	_, err := a.Tasks.CreateTask(ctx, &cloudtaskspb.CreateTaskRequest{
		Parent: a.Queue,
		Task: &cloudtaskspb.Task{MessageType: &cloudtaskspb.Task_HttpRequest{HttpRequest: &cloudtaskspb.HttpRequest{
			Url: a.WorkerURL + "/welcome", Body: []byte(email),
		}}},
	})
	return err
}

// The kit's README quotes this test, from the line after START to the line before END.
// [START kit-go-readme]
func TestSignupQueuesWelcomeEmail(t *testing.T) {
	emu := cloudtasksemu.Run(t, cloudtasksemu.WithQueues(welcomeQueue), cloudtasksemu.WithHostNetwork())
	worker := cloudtasksemu.NewRecorder(t)
	app := &App{Tasks: emu.Client(), Queue: welcomeQueue, WorkerURL: worker.URL()}
	err := app.Signup(t.Context(), "ada@example.com")
	emu.Drain(welcomeQueue)
	if got := worker.Requests("/welcome"); err != nil || len(got) != 1 || string(got[0].Body) != "ada@example.com" {
		t.Fatalf("signup: %v; the worker received %+v", err, got)
	}
}

// [END kit-go-readme]
