package cloudtasksemu

import (
	"os"
	"time"
)

// DefaultImage is the image Start runs unless WithImage or $CLOUDTASKS_EMU_IMAGE (EnvImage) names
// another: the name docs/container.md builds (docker build -t cloudtasks-emu .).
const DefaultImage = "cloudtasks-emu"

// EnvImage names the variable that overrides DefaultImage, so that CI can pick the image it built
// without a change to the tests. WithImage wins over it.
const EnvImage = "CLOUDTASKS_EMU_IMAGE"

// Option configures Start (and Run or StartOrConnect when they start a container). Connecting to a
// running emulator applies only WithQueues (it creates those queues if they are missing, and again after
// each Reset): that emulator's other settings were fixed when it started.
type Option func(*settings)

type settings struct {
	image          string
	virtualClock   bool
	queues         []string
	appEngineURL   string
	dataDir        string
	hostNetwork    bool
	env            map[string]string
	args           []string
	startupTimeout time.Duration
}

func newSettings(opts []Option) *settings {
	s := &settings{image: DefaultImage, env: map[string]string{}, startupTimeout: 60 * time.Second}
	if image := os.Getenv(EnvImage); image != "" {
		s.image = image
	}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// WithImage runs another image (name and tag) instead of DefaultImage.
func WithImage(image string) Option { return func(s *settings) { s.image = image } }

// WithVirtualClock starts the emulator with --virtual-clock: time stands still until Advance or SetTime
// moves it, so retries and scheduled tasks fire at once instead of after real waits.
func WithVirtualClock() Option { return func(s *settings) { s.virtualClock = true } }

// WithQueues creates these push queues (full names, projects/P/locations/L/queues/Q) at start; a Reset
// brings them back as declared. A connected emulator gets them through CreateQueue instead.
func WithQueues(names ...string) Option {
	return func(s *settings) { s.queues = append(s.queues, names...) }
}

// WithAppEngineURL sets where App Engine tasks are delivered (plus each task's relative URI), as seen
// from inside the container.
func WithAppEngineURL(url string) Option { return func(s *settings) { s.appEngineURL = url } }

// WithDataDir keeps the emulator's state in SQLite in dir, a directory of the host mounted into the
// container (it must be writable by uid 10001, the image's user), so that it survives the container.
// Without it, state lives in memory and goes with the container.
func WithDataDir(dir string) Option { return func(s *settings) { s.dataDir = dir } }

// WithHostNetwork runs the container on the host's network (Linux): it binds a free port on 127.0.0.1,
// read from its ready line, and reaches handlers on the host's loopback (an httptest server's URL works
// as a task's URL). Without it, the port is published on a free host port and a handler on the host is
// http://host.docker.internal:PORT from inside the container.
func WithHostNetwork() Option { return func(s *settings) { s.hostNetwork = true } }

// WithEnv sets one of the emulator's CLOUDTASKS_EMU_* variables (or any other) in the container.
func WithEnv(key, value string) Option { return func(s *settings) { s.env[key] = value } }

// WithArgs adds flags to `cloudtasks-emu start`, e.g. "--queue-reuse-delay", "0".
func WithArgs(args ...string) Option { return func(s *settings) { s.args = append(s.args, args...) } }

// WithStartupTimeout bounds the wait for the emulator's ready line (default 60 s).
func WithStartupTimeout(d time.Duration) Option { return func(s *settings) { s.startupTimeout = d } }
