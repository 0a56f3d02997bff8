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

// dial connects one client and closes it when the test ends.
func dial[C interface{ Close() error }](t *testing.T, connect func(context.Context, ...option.ClientOption) (C, error)) C {
	t.Helper()
	client, err := connect(context.Background(), emulatorOptions()...)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

// v2 uses the README's own code; the beta versions take the same options.
func v2(t *testing.T) *cloudtasks.Client {
	return dial(t, func(ctx context.Context, _ ...option.ClientOption) (*cloudtasks.Client, error) { return newClient(ctx) })
}

func v2beta3(t *testing.T) *cloudtasksb3.Client { return dial(t, cloudtasksb3.NewClient) }

func v2beta2(t *testing.T) *cloudtasksb2.Client { return dial(t, cloudtasksb2.NewClient) }
