package cloudtasksemu

import (
	"context"
	"testing"
	"time"

	cloudtasks "cloud.google.com/go/cloudtasks/apiv2"
	"google.golang.org/api/option"
	"google.golang.org/grpc/codes"
)

// Harness is an Emulator bound to one test: its calls need no context (they use the test's, bounded
// as Drain says) and fail the test at once on an error, so a test reads as a list of steps. The
// embedded Emulator keeps the context-and-error forms: h.Emulator.Drain(ctx, queue).
type Harness struct {
	*Emulator
	tb     testing.TB
	client *cloudtasks.Client // Client() without options, made once per test
}

// Run gives a test an emulator, reset: with $CLOUD_TASKS_EMULATOR_HOST set it connects to that one,
// otherwise it starts a container with opts (see StartOrConnect). The container is removed when the test
// ends; any error fails the test at once. For one container shared by a package's tests, call
// StartOrConnect in TestMain and Test in each test.
func Run(tb testing.TB, opts ...Option) *Harness {
	tb.Helper()
	emu, err := StartOrConnect(context.Background(), opts...)
	if err != nil {
		tb.Fatalf("%v", err)
	}
	tb.Cleanup(func() {
		if err := emu.Terminate(context.Background()); err != nil {
			tb.Errorf("%v", err)
		}
	})
	return emu.Test(tb)
}

// Test resets the emulator (as the Python plugin does before each test) and binds it to tb.
func (e *Emulator) Test(tb testing.TB) *Harness {
	tb.Helper()
	h := &Harness{Emulator: e, tb: tb}
	h.Reset()
	return h
}

// check fails the test on err.
func (h *Harness) check(err error) {
	h.tb.Helper()
	if err != nil {
		h.tb.Fatalf("%v", err)
	}
}

// Client is the official v2 client over gRPC, closed when the test ends. Without options it is one
// client for the whole test, however often it is asked for.
func (h *Harness) Client(opts ...option.ClientOption) *cloudtasks.Client {
	h.tb.Helper()
	if len(opts) == 0 && h.client != nil {
		return h.client
	}
	client, err := h.NewClient(h.tb.Context(), opts...)
	h.check(err)
	h.tb.Cleanup(func() { _ = client.Close() })
	if len(opts) == 0 {
		h.client = client
	}
	return client
}

// RESTClient is the official v2 client over REST, closed when the test ends.
func (h *Harness) RESTClient(opts ...option.ClientOption) *cloudtasks.Client {
	h.tb.Helper()
	client, err := h.NewRESTClient(h.tb.Context(), opts...)
	h.check(err)
	h.tb.Cleanup(func() { _ = client.Close() })
	return client
}

// Reset is Emulator.Reset for the test.
func (h *Harness) Reset(opts ...ResetOption) {
	h.tb.Helper()
	h.check(h.Emulator.Reset(h.tb.Context(), opts...))
}

// Drain is Emulator.Drain for the test, bounded by 20 s (or by the test's deadline, if sooner).
func (h *Harness) Drain(queue string) {
	h.tb.Helper()
	ctx, cancel := context.WithTimeout(h.tb.Context(), defaultWait)
	defer cancel()
	h.check(h.Emulator.Drain(ctx, queue))
}

// Advance is Emulator.Advance for the test.
func (h *Harness) Advance(d time.Duration) {
	h.tb.Helper()
	h.check(h.Emulator.Advance(h.tb.Context(), d))
}

// SetTime is Emulator.SetTime for the test.
func (h *Harness) SetTime(t time.Time) {
	h.tb.Helper()
	h.check(h.Emulator.SetTime(h.tb.Context(), t))
}

// Now is Emulator.Now for the test.
func (h *Harness) Now() time.Time {
	h.tb.Helper()
	now, err := h.Emulator.Now(h.tb.Context())
	h.check(err)
	return now
}

// Attempts is Emulator.Attempts for the test.
func (h *Harness) Attempts(queue string) []Attempt {
	h.tb.Helper()
	attempts, err := h.Emulator.Attempts(h.tb.Context(), queue)
	h.check(err)
	return attempts
}

// TaskAttempts is Emulator.TaskAttempts for the test.
func (h *Harness) TaskAttempts(task string) []Attempt {
	h.tb.Helper()
	attempts, err := h.Emulator.TaskAttempts(h.tb.Context(), task)
	h.check(err)
	return attempts
}

// Faults is Emulator.Faults for the test.
func (h *Harness) Faults() *TestFaults { return &TestFaults{faults: h.Emulator.Faults(), h: h} }

// TestFaults is Faults for one test: no context, and an error fails the test.
type TestFaults struct {
	faults *Faults
	h      *Harness
}

// Fail is Faults.Fail for the test.
func (f *TestFaults) Fail(code codes.Code, opts ...FaultOption) Fault {
	f.h.tb.Helper()
	fault, err := f.faults.Fail(f.h.tb.Context(), code, opts...)
	f.h.check(err)
	return fault
}

// Delay is Faults.Delay for the test.
func (f *TestFaults) Delay(d time.Duration, opts ...FaultOption) Fault {
	f.h.tb.Helper()
	fault, err := f.faults.Delay(f.h.tb.Context(), d, opts...)
	f.h.check(err)
	return fault
}

// Dispatch is Faults.Dispatch for the test.
func (f *TestFaults) Dispatch(urlPrefix string, action DispatchAction, opts ...FaultOption) Fault {
	f.h.tb.Helper()
	fault, err := f.faults.Dispatch(f.h.tb.Context(), urlPrefix, action, opts...)
	f.h.check(err)
	return fault
}

// List is Faults.List for the test.
func (f *TestFaults) List() []Fault {
	f.h.tb.Helper()
	faults, err := f.faults.List(f.h.tb.Context())
	f.h.check(err)
	return faults
}

// Clear is Faults.Clear for the test.
func (f *TestFaults) Clear() {
	f.h.tb.Helper()
	f.h.check(f.faults.Clear(f.h.tb.Context()))
}

// Remove is Faults.Remove for the test.
func (f *TestFaults) Remove(id string) {
	f.h.tb.Helper()
	f.h.check(f.faults.Remove(f.h.tb.Context(), id))
}
