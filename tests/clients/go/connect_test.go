// Package clients runs the official Go client against the emulator named by CLOUD_TASKS_EMULATOR_HOST.
package clients

import (
	"context"
	"os"
	"testing"

	cloudtasks "cloud.google.com/go/cloudtasks/apiv2"
	cloudtasksb2 "cloud.google.com/go/cloudtasks/apiv2beta2"
	cloudtasksb3 "cloud.google.com/go/cloudtasks/apiv2beta3"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// newClient connects exactly as the README tells Go users to.
func newClient(ctx context.Context) (*cloudtasks.Client, error) {
	// [START readme-go-connect]
	// Go, cloud.google.com/go/cloudtasks/apiv2 (apiv2beta3 and apiv2beta2 take the same options)
	client, err := cloudtasks.NewClient(ctx,
		option.WithEndpoint(os.Getenv("CLOUD_TASKS_EMULATOR_HOST")), // 127.0.0.1:8123
		option.WithoutAuthentication(),                              // no Application Default Credentials needed
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	// [END readme-go-connect]
	return client, err
}

func emulatorOptions() []option.ClientOption {
	return []option.ClientOption{
		option.WithEndpoint(os.Getenv("CLOUD_TASKS_EMULATOR_HOST")),
		option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
	}
}

func v2(t *testing.T) *cloudtasks.Client {
	t.Helper()
	client, err := newClient(context.Background())
	if err != nil {
		t.Fatalf("connect v2: %v", err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

func v2beta3(t *testing.T) *cloudtasksb3.Client {
	t.Helper()
	client, err := cloudtasksb3.NewClient(context.Background(), emulatorOptions()...)
	if err != nil {
		t.Fatalf("connect v2beta3: %v", err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

func v2beta2(t *testing.T) *cloudtasksb2.Client {
	t.Helper()
	client, err := cloudtasksb2.NewClient(context.Background(), emulatorOptions()...)
	if err != nil {
		t.Fatalf("connect v2beta2: %v", err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}
