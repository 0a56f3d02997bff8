package cloudtasksemu

import (
	"fmt"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/testcontainers/testcontainers-go"
)

// request applies what Start would give testcontainers-go to an empty request.
func request(t *testing.T, opts ...Option) (testcontainers.GenericContainerRequest, container.HostConfig) {
	t.Helper()
	var req testcontainers.GenericContainerRequest
	for _, customizer := range newSettings(opts).customizers() {
		if err := customizer.Customize(&req); err != nil {
			t.Fatalf("customize: %v", err)
		}
	}
	var host container.HostConfig
	if req.HostConfigModifier != nil {
		req.HostConfigModifier(&host)
	}
	return req, host
}

// The options that the package's container tests do not run (they use the host network and memory).
func TestOptionsBecomeTheContainersVariablesAndMounts(t *testing.T) {
	t.Setenv(EnvImage, "")
	req, host := request(t,
		WithQueues("projects/p/locations/l/queues/a", "projects/p/locations/l/queues/b"),
		WithAppEngineURL("http://host.docker.internal:8080"), WithDataDir("/tmp/state"),
		WithEnv("CLOUDTASKS_EMU_LOCATION", "europe-west1"), WithArgs("--queue-reuse-delay", "0"))

	want := map[string]string{
		"CLOUDTASKS_EMU_QUEUE":              "projects/p/locations/l/queues/a,projects/p/locations/l/queues/b",
		"CLOUDTASKS_EMU_APP_ENGINE_URL":     "http://host.docker.internal:8080",
		"CLOUDTASKS_EMU_DATA_DIR":           "/data",
		"CLOUDTASKS_EMU_LOCATION":           "europe-west1",
		"CLOUDTASKS_EMU_PORT":               "8123",
		"CLOUDTASKS_EMU_ALLOW_REMOTE_ADMIN": "1",
		"CLOUDTASKS_EMU_NO_HTTP_PORT":       "1",
	}
	for key, value := range want {
		if req.Env[key] != value {
			t.Errorf("%s=%q, want %q", key, req.Env[key], value)
		}
	}
	if _, set := req.Env["CLOUDTASKS_EMU_VIRTUAL_CLOCK"]; set {
		t.Errorf("a virtual clock nobody asked for")
	}
	if fmt.Sprint(req.Cmd) != "[start --queue-reuse-delay 0]" || fmt.Sprint(req.ExposedPorts) != "[8123/tcp]" {
		t.Errorf("command %v, exposed ports %v", req.Cmd, req.ExposedPorts)
	}
	if fmt.Sprint(host.Binds) != "[/tmp/state:/data]" || fmt.Sprint(host.ExtraHosts) != "[host.docker.internal:host-gateway]" {
		t.Errorf("binds %v, extra hosts %v", host.Binds, host.ExtraHosts)
	}
	if s := newSettings(nil); s.image != DefaultImage || s.startupTimeout != time.Minute {
		t.Errorf("defaults: image %q, startup timeout %v", s.image, s.startupTimeout)
	}
}

func TestHostNetworkBindsAFreeLoopbackPort(t *testing.T) {
	req, host := request(t, WithHostNetwork(), WithVirtualClock())
	if req.Env["CLOUDTASKS_EMU_HOST"] != "127.0.0.1" || req.Env["CLOUDTASKS_EMU_PORT"] != "0" || req.Env["CLOUDTASKS_EMU_VIRTUAL_CLOCK"] != "1" {
		t.Errorf("env %v", req.Env)
	}
	if host.NetworkMode != "host" || len(req.ExposedPorts) != 0 || req.Env["CLOUDTASKS_EMU_ALLOW_REMOTE_ADMIN"] != "" {
		t.Errorf("network %q, exposed ports %v, env %v", host.NetworkMode, req.ExposedPorts, req.Env)
	}
}

func TestImageComesFromTheOptionThenTheEnvironment(t *testing.T) {
	t.Setenv(EnvImage, "cloudtasks-emu:ci")
	if got := newSettings(nil).image; got != "cloudtasks-emu:ci" {
		t.Errorf("image %q from %s", got, EnvImage)
	}
	if got := newSettings([]Option{WithImage("mine:1")}).image; got != "mine:1" {
		t.Errorf("image %q from WithImage", got)
	}
}
