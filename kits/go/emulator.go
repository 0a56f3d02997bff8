package cloudtasksemu

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	cloudtasks "cloud.google.com/go/cloudtasks/apiv2"
	"cloud.google.com/go/cloudtasks/apiv2/cloudtaskspb"
	"github.com/moby/moby/api/types/container"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// EnvHost names the variable that holds a running emulator's host:port, for Connect and Run. The
// official clients of other languages (and firebase-admin) read the same one.
const EnvHost = "CLOUD_TASKS_EMULATOR_HOST"

const (
	containerPort = "8123/tcp"
	readyPrefix   = `{"ready": true`
)

// ErrNoAddress is returned by Connect when neither an address nor $CLOUD_TASKS_EMULATOR_HOST is given.
var ErrNoAddress = errors.New("cloudtasksemu: no emulator address (set " + EnvHost + ")")

// Emulator is a running cloudtasks-emu: a container started by Start, or one reached by Connect. One
// address serves gRPC, REST, the admin API and /healthz.
type Emulator struct {
	address   string
	container *testcontainers.DockerContainer
	http      *http.Client
	// queues are WithQueues' names on a connected emulator, which never declared them: Reset makes
	// them again. A started container declares them itself (--queue), so this stays empty there.
	queues []string
}

// StartOrConnect connects to the emulator at $CLOUD_TASKS_EMULATOR_HOST when that is set (see Connect)
// and otherwise starts a container (see Start). One test suite then runs against either: a container
// on a developer's machine, the emulator a CI job already runs.
func StartOrConnect(ctx context.Context, opts ...Option) (*Emulator, error) {
	if os.Getenv(EnvHost) != "" {
		return Connect(ctx, "", opts...)
	}
	return Start(ctx, opts...)
}

// Start runs the emulator's image in a container and waits for its ready line.
//
// testcontainers-go reads its own settings from the environment: where Docker Hub is out of reach, set
// TESTCONTAINERS_RYUK_DISABLED=true (Ryuk, its clean-up container, comes from there); Terminate, or
// Run's cleanup, removes the container itself.
func Start(ctx context.Context, opts ...Option) (*Emulator, error) {
	s := newSettings(opts)
	ctr, err := testcontainers.Run(ctx, s.image, s.customizers()...)
	emu := &Emulator{container: ctr, http: &http.Client{}}
	if err != nil {
		return emu.startFailed(err)
	}
	if s.hostNetwork {
		ready, err := readyLine(ctx, ctr)
		if err != nil {
			return emu.startFailed(err)
		}
		emu.address = fmt.Sprintf("127.0.0.1:%d", ready.Port)
	} else if emu.address, err = ctr.PortEndpoint(ctx, containerPort, ""); err != nil {
		return emu.startFailed(err)
	}
	return emu, nil
}

// customizers turn the options into the container: its variables, command, network and wait.
func (s *settings) customizers() []testcontainers.ContainerCustomizer {
	env := map[string]string{
		"CLOUDTASKS_EMU_NO_HTTP_PORT": "1", // one port serves everything
		"CLOUDTASKS_EMU_DATA_DIR":     "",  // in memory unless WithDataDir
	}
	if s.virtualClock {
		env["CLOUDTASKS_EMU_VIRTUAL_CLOCK"] = "1"
	}
	if len(s.queues) > 0 {
		env["CLOUDTASKS_EMU_QUEUE"] = strings.Join(s.queues, ",")
	}
	if s.appEngineURL != "" {
		env["CLOUDTASKS_EMU_APP_ENGINE_URL"] = s.appEngineURL
	}
	if s.dataDir != "" {
		env["CLOUDTASKS_EMU_DATA_DIR"] = "/data"
	}
	if s.hostNetwork {
		env["CLOUDTASKS_EMU_HOST"] = "127.0.0.1"
		env["CLOUDTASKS_EMU_PORT"] = "0" // a free port of the host, named in the ready line
	} else {
		env["CLOUDTASKS_EMU_PORT"] = "8123"
		// Published ports arrive from the bridge's gateway, not loopback: let them reset.
		env["CLOUDTASKS_EMU_ALLOW_REMOTE_ADMIN"] = "1"
	}
	for key, value := range s.env {
		env[key] = value
	}
	customizers := []testcontainers.ContainerCustomizer{
		testcontainers.WithEnv(env),
		testcontainers.WithCmd(append([]string{"start"}, s.args...)...),
		testcontainers.WithWaitStrategy(wait.ForLog(readyPrefix).WithStartupTimeout(s.startupTimeout)),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			if s.hostNetwork {
				hc.NetworkMode = "host"
			} else {
				hc.ExtraHosts = append(hc.ExtraHosts, "host.docker.internal:host-gateway")
			}
			if s.dataDir != "" {
				hc.Binds = append(hc.Binds, s.dataDir+":/data")
			}
		}),
	}
	if !s.hostNetwork {
		customizers = append(customizers, testcontainers.WithExposedPorts(containerPort))
	}
	return customizers
}

// startFailed removes what was started and says why; the container may be nil.
func (e *Emulator) startFailed(err error) (*Emulator, error) {
	if e.container != nil {
		_ = e.container.Terminate(context.Background())
	}
	return nil, fmt.Errorf("cloudtasksemu: start: %w", err)
}

type ready struct {
	Port int `json:"port"`
}

// readyLine is the JSON line the emulator prints on stdout once it listens.
func readyLine(ctx context.Context, ctr *testcontainers.DockerContainer) (ready, error) {
	logs, err := ctr.Logs(ctx)
	if err != nil {
		return ready{}, err
	}
	defer logs.Close()
	scanner := bufio.NewScanner(logs)
	for scanner.Scan() {
		if line := scanner.Text(); strings.HasPrefix(line, readyPrefix) {
			var r ready
			if err := json.Unmarshal([]byte(line), &r); err != nil || r.Port == 0 {
				return ready{}, fmt.Errorf("unreadable ready line %q", line)
			}
			return r, nil
		}
	}
	return ready{}, errors.New("no ready line in the container's log")
}

// Connect reaches an emulator already running at address (host:port, or http://host:port), or at
// $CLOUD_TASKS_EMULATOR_HOST when address is empty, and checks that its /healthz answers. Of opts, only
// WithQueues applies: it creates those queues if they are missing (Reset makes them again).
func Connect(ctx context.Context, address string, opts ...Option) (*Emulator, error) {
	if address == "" {
		address = os.Getenv(EnvHost)
	}
	address = strings.TrimSuffix(strings.TrimPrefix(address, "http://"), "/")
	if address == "" {
		return nil, ErrNoAddress
	}
	emu := &Emulator{address: address, http: &http.Client{}, queues: newSettings(opts).queues}
	var health struct {
		Status string `json:"status"`
	}
	if err := emu.call(ctx, http.MethodGet, "/healthz", nil, &health); err != nil || health.Status != "SERVING" {
		return nil, fmt.Errorf("cloudtasksemu: no emulator answers at %s: %v", address, err)
	}
	if err := emu.createQueues(ctx); err != nil {
		return nil, err
	}
	return emu, nil
}

// createQueues makes the WithQueues queues of a connected emulator, leaving those that exist.
func (e *Emulator) createQueues(ctx context.Context) error {
	if len(e.queues) == 0 {
		return nil
	}
	client, err := e.NewClient(ctx)
	if err != nil {
		return fmt.Errorf("cloudtasksemu: client: %w", err)
	}
	defer client.Close()
	for _, name := range e.queues {
		parent, _, found := strings.Cut(name, "/queues/")
		if !found {
			return fmt.Errorf("cloudtasksemu: %q is not a queue's full name (projects/P/locations/L/queues/Q)", name)
		}
		request := &cloudtaskspb.CreateQueueRequest{Parent: parent, Queue: &cloudtaskspb.Queue{Name: name}}
		if _, err := client.CreateQueue(ctx, request); err != nil && status.Code(err) != codes.AlreadyExists {
			return fmt.Errorf("cloudtasksemu: create queue %s: %w", name, err)
		}
	}
	return nil
}

// Address is host:port for every client: gRPC, REST and the admin API alike. It is the value for
// CLOUD_TASKS_EMULATOR_HOST.
func (e *Emulator) Address() string { return e.address }

// URL is the base URL of the REST API, the admin API (/_emu/...) and /healthz: http://host:port.
func (e *Emulator) URL() string { return "http://" + e.address }

// Container is the testcontainers-go container that Start ran, or nil after Connect.
func (e *Emulator) Container() *testcontainers.DockerContainer { return e.container }

// Terminate removes the container that Start ran; after Connect it only lets go of idle connections.
func (e *Emulator) Terminate(ctx context.Context) error {
	e.http.CloseIdleConnections()
	if e.container == nil {
		return nil
	}
	if err := e.container.Terminate(ctx); err != nil {
		return fmt.Errorf("cloudtasksemu: terminate: %w", err)
	}
	return nil
}

// ClientOptions wire an official gRPC client (apiv2, apiv2beta3 or apiv2beta2) to the emulator: its
// address, a plain-text channel, and no credentials (no Application Default Credentials are looked up).
func (e *Emulator) ClientOptions() []option.ClientOption {
	return []option.ClientOption{
		option.WithEndpoint(e.address),
		option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
	}
}

// RESTClientOptions wire an official REST client (NewRESTClient) to the emulator: plain HTTP, no
// credentials.
func (e *Emulator) RESTClientOptions() []option.ClientOption {
	return []option.ClientOption{option.WithEndpoint(e.URL()), option.WithoutAuthentication()}
}

// NewClient is the official v2 client over gRPC, connected to the emulator; opts come after the
// emulator's own (ClientOptions). Close it when done.
func (e *Emulator) NewClient(ctx context.Context, opts ...option.ClientOption) (*cloudtasks.Client, error) {
	return cloudtasks.NewClient(ctx, append(e.ClientOptions(), opts...)...)
}

// NewRESTClient is the official v2 client over REST (HTTP/1.1 and JSON), connected to the emulator.
func (e *Emulator) NewRESTClient(ctx context.Context, opts ...option.ClientOption) (*cloudtasks.Client, error) {
	return cloudtasks.NewRESTClient(ctx, append(e.RESTClientOptions(), opts...)...)
}
