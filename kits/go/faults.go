package cloudtasksemu

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"google.golang.org/grpc/codes"
)

// Faults adds and clears faults on demand: API calls that fail or answer late, and push attempts that
// fail without reaching the handler. Each acts Times(n) times, or until cleared; the first that
// matches acts; Reset clears them all.
type Faults struct{ emu *Emulator }

// Faults is the emulator's fault injector.
func (e *Emulator) Faults() *Faults { return &Faults{emu: e} }

// Fault is a fault in force, as the emulator lists it.
type Fault struct {
	ID        string
	Times     int           // how many more times it acts; 0: until cleared
	RPC       string        // call faults: the RPC it matches, "" for every RPC
	Queue     string        // call faults: the queue (full name or ID) it matches, "" for every queue
	Code      string        // call faults: the code it fails with, e.g. "UNAVAILABLE"; "" for a delay alone
	Message   string        // call faults: the error message
	Delay     time.Duration // call faults: the wait before answering
	URLPrefix string        // dispatch faults: the URLs it matches
	Dispatch  string        // dispatch faults: "refuse", "timeout" or an HTTP status such as "503"
}

type faultJSON struct {
	ID        string          `json:"id"`
	Times     *int            `json:"times"`
	RPC       string          `json:"rpc"`
	Queue     string          `json:"queue"`
	Code      string          `json:"code"`
	Message   string          `json:"message"`
	Delay     float64         `json:"delay"`
	URLPrefix string          `json:"url_prefix"`
	Dispatch  json.RawMessage `json:"dispatch"`
}

func (f faultJSON) fault() Fault {
	out := Fault{
		ID: f.ID, RPC: f.RPC, Queue: f.Queue, Code: f.Code, Message: f.Message, URLPrefix: f.URLPrefix,
		Delay: time.Duration(f.Delay * float64(time.Second)),
	}
	if f.Times != nil {
		out.Times = *f.Times
	}
	var action string
	if json.Unmarshal(f.Dispatch, &action) == nil {
		out.Dispatch = action
	} else if len(f.Dispatch) > 0 {
		out.Dispatch = string(f.Dispatch) // a status, e.g. 503
	}
	return out
}

// FaultOption narrows a fault or changes what it does.
type FaultOption func(map[string]any)

// ForRPC makes a call fault match only this RPC, e.g. "CreateTask".
func ForRPC(name string) FaultOption { return func(spec map[string]any) { spec["rpc"] = name } }

// ForQueue makes a call fault match only calls on this queue (full name or ID).
func ForQueue(name string) FaultOption { return func(spec map[string]any) { spec["queue"] = name } }

// Times makes a fault act n times (n >= 1), then go; without it, it acts until cleared.
func Times(n int) FaultOption { return func(spec map[string]any) { spec["times"] = n } }

// WithMessage sets a call fault's error message.
func WithMessage(message string) FaultOption {
	return func(spec map[string]any) { spec["message"] = message }
}

// ThenFail makes a Delay fault fail with code after its delay.
func ThenFail(code codes.Code) FaultOption {
	return func(spec map[string]any) { spec["code"] = int(code) }
}

// DispatchAction is what a dispatch fault makes of a push attempt.
type DispatchAction struct{ value any }

var (
	// DispatchRefuse fails the attempt as a refused connection.
	DispatchRefuse = DispatchAction{"refuse"}
	// DispatchTimeout fails the attempt as a missed dispatch deadline, at once.
	DispatchTimeout = DispatchAction{"timeout"}
)

// DispatchStatus answers the attempt with an HTTP status (100 to 599) in the handler's place.
func DispatchStatus(status int) DispatchAction { return DispatchAction{status} }

// Fail makes matching API calls (every call, or those of ForRPC and/or ForQueue) fail with code.
func (f *Faults) Fail(ctx context.Context, code codes.Code, opts ...FaultOption) (Fault, error) {
	return f.add(ctx, map[string]any{"code": int(code)}, opts)
}

// Delay makes matching API calls answer after d of real time (then fail, with ThenFail).
func (f *Faults) Delay(ctx context.Context, d time.Duration, opts ...FaultOption) (Fault, error) {
	return f.add(ctx, map[string]any{"delay": d.Seconds()}, opts)
}

// Dispatch makes push attempts to URLs under urlPrefix fail as action says, without reaching the
// handler; the task is retried as after the real failure. Of the options, Times applies.
func (f *Faults) Dispatch(ctx context.Context, urlPrefix string, action DispatchAction, opts ...FaultOption) (Fault, error) {
	return f.add(ctx, map[string]any{"url_prefix": urlPrefix, "dispatch": action.value}, opts)
}

func (f *Faults) add(ctx context.Context, spec map[string]any, opts []FaultOption) (Fault, error) {
	for _, opt := range opts {
		opt(spec)
	}
	var answer struct {
		Fault faultJSON `json:"fault"`
	}
	err := f.emu.call(ctx, http.MethodPost, "/_emu/faults", spec, &answer)
	return answer.Fault.fault(), err
}

// List is the faults in force, in the order they were added.
func (f *Faults) List(ctx context.Context) ([]Fault, error) {
	var answer struct {
		Faults []faultJSON `json:"faults"`
	}
	if err := f.emu.call(ctx, http.MethodGet, "/_emu/faults", nil, &answer); err != nil {
		return nil, err
	}
	faults := make([]Fault, 0, len(answer.Faults))
	for _, fault := range answer.Faults {
		faults = append(faults, fault.fault())
	}
	return faults, nil
}

// Clear removes every fault.
func (f *Faults) Clear(ctx context.Context) error {
	return f.emu.call(ctx, http.MethodDelete, "/_emu/faults", nil, nil)
}

// Remove removes one fault by its ID; an unknown ID is an *Error (NOT_FOUND).
func (f *Faults) Remove(ctx context.Context, id string) error {
	return f.emu.call(ctx, http.MethodDelete, "/_emu/faults/"+url.PathEscape(id), nil, nil)
}
