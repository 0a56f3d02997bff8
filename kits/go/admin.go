package cloudtasksemu

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ErrUnknownQueue matches (with errors.Is) the *Error of a call that named a queue that does not exist;
// its Message names the closest known queues, so a typo fails instead of passing idle.
var ErrUnknownQueue = errors.New("cloudtasksemu: no such queue")

// ErrAmbiguousQueue matches the *Error of a call that named a queue by an ID that several queues have;
// its MatchingQueues names them: use a full name.
var ErrAmbiguousQueue = errors.New("cloudtasksemu: several queues have that ID")

// ErrNotIdle is returned by Drain when deliveries are still due when its time runs out.
var ErrNotIdle = errors.New("cloudtasksemu: the emulator did not go idle")

const (
	// defaultWait bounds a drain whose context has no deadline, as the Python harness does.
	defaultWait = 20 * time.Second
	// maxWait is the longest drain timeout the emulator takes.
	maxWait = 600 * time.Second
)

// Error is an error answer of the admin API: Google's JSON error body.
type Error struct {
	HTTPStatus  int      // the HTTP status, e.g. 404
	Status      string   // the canonical code's name, e.g. "NOT_FOUND"
	Message     string   // the emulator's message
	KnownQueues []string // for an unknown queue named to Drain or Attempts: every queue that exists
	// MatchingQueues, for a queue ID that several queues have: their full names.
	MatchingQueues []string
	queueNamed     bool
}

func (e *Error) Error() string {
	return fmt.Sprintf("cloudtasksemu: %s (%s, HTTP %d)", e.Message, e.Status, e.HTTPStatus)
}

// Is reports ErrUnknownQueue for a NOT_FOUND answer to a call that named a queue, and
// ErrAmbiguousQueue for a queue ID that several queues have.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrUnknownQueue:
		return e.queueNamed && e.HTTPStatus == http.StatusNotFound
	case ErrAmbiguousQueue:
		return len(e.MatchingQueues) > 0
	}
	return false
}

// call sends one admin API request (body as JSON unless nil) and decodes a 2xx answer into out.
func (e *Emulator) call(ctx context.Context, method, path string, body, out any) error {
	_, err := e.exchange(ctx, method, path, body, out, false)
	return err
}

// exchange is call that also returns the status; with queueNamed, a 404 is ErrUnknownQueue. A 504
// answer is decoded into out and returned without an error, for Drain.
func (e *Emulator) exchange(ctx context.Context, method, path string, body, out any, queueNamed bool) (int, error) {
	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		reader = bytes.NewReader(data)
	}
	request, err := http.NewRequestWithContext(ctx, method, e.URL()+path, reader)
	if err != nil {
		return 0, err
	}
	if body != nil {
		request.Header.Set("Content-Type", "application/json") // the emulator refuses other bodies
	}
	response, err := e.http.Do(request)
	if err != nil {
		return 0, fmt.Errorf("cloudtasksemu: %s %s: %w", method, path, err)
	}
	defer response.Body.Close()
	data, err := io.ReadAll(response.Body)
	if err != nil {
		return response.StatusCode, err
	}
	if response.StatusCode/100 == 2 || response.StatusCode == http.StatusGatewayTimeout {
		if out != nil {
			if err := json.Unmarshal(data, out); err != nil {
				return response.StatusCode, fmt.Errorf("cloudtasksemu: %s %s: %w", method, path, err)
			}
		}
		return response.StatusCode, nil
	}
	var answer struct {
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			Status  string `json:"status"`
		} `json:"error"`
		KnownQueues    []string `json:"known_queues"`
		MatchingQueues []string `json:"matching_queues"`
	}
	if json.Unmarshal(data, &answer) != nil || answer.Error.Status == "" {
		return response.StatusCode, fmt.Errorf("cloudtasksemu: %s %s: HTTP %d: %s", method, path, response.StatusCode, data)
	}
	return response.StatusCode, &Error{
		HTTPStatus:     response.StatusCode,
		Status:         answer.Error.Status,
		Message:        answer.Error.Message,
		KnownQueues:    answer.KnownQueues,
		MatchingQueues: answer.MatchingQueues,
		queueNamed:     queueNamed,
	}
}

// Clock is the emulator's clock.
type Clock struct {
	Now     time.Time // the emulator's now: compute schedule times from it, not from time.Now
	Virtual bool      // started with a virtual clock: time moves only when told to
}

type clockJSON struct {
	Now     float64 `json:"now"`
	Virtual bool    `json:"virtual"`
}

func (c clockJSON) clock() Clock { return Clock{Now: epoch(c.Now), Virtual: c.Virtual} }

func epoch(seconds float64) time.Time {
	return time.UnixMicro(int64(seconds * 1e6)).UTC()
}

// Clock reads the emulator's clock.
func (e *Emulator) Clock(ctx context.Context) (Clock, error) {
	var c clockJSON
	err := e.call(ctx, http.MethodGet, "/_emu/clock", nil, &c)
	return c.clock(), err
}

// Now is the emulator's now. With a virtual clock it is the real time at the last reset plus every
// Advance since.
func (e *Emulator) Now(ctx context.Context) (time.Time, error) {
	c, err := e.Clock(ctx)
	return c.Now, err
}

// Advance moves a virtual clock forward by d: every task, retry and dispatch deadline that falls due
// fires at once (Drain then waits for the deliveries). A real clock, or a negative d, is an *Error.
func (e *Emulator) Advance(ctx context.Context, d time.Duration) error {
	return e.call(ctx, http.MethodPost, "/_emu/clock:advance", map[string]any{"seconds": d.Seconds()}, nil)
}

// SetTime moves a virtual clock to t, forward only.
func (e *Emulator) SetTime(ctx context.Context, t time.Time) error {
	now := float64(t.UnixMicro()) / 1e6
	return e.call(ctx, http.MethodPost, "/_emu/clock:set", map[string]any{"now": now}, nil)
}

// Drain waits until nothing due remains undelivered: in queue (a full name or an ID that one queue
// has), or in every queue when
// queue is "". Tasks scheduled later and retries whose backoff has not passed do not count: with a
// virtual clock, Advance and drain again. It waits until ctx's deadline (20 s without one) and then
// returns ErrNotIdle; an unknown queue is ErrUnknownQueue.
func (e *Emulator) Drain(ctx context.Context, queue string) error {
	wait := defaultWait
	if deadline, ok := ctx.Deadline(); ok {
		// A little short of the deadline, so that the emulator's answer comes before ctx ends.
		wait = max(time.Until(deadline)*9/10, 0)
	}
	wait = min(wait, maxWait)
	body := map[string]any{"timeout": wait.Seconds()}
	if queue != "" {
		body["queue"] = queue
	}
	var answer struct {
		Idle bool `json:"idle"`
	}
	status, err := e.exchange(ctx, http.MethodPost, "/_emu/drain", body, &answer, queue != "")
	if err != nil {
		return err
	}
	if status == http.StatusGatewayTimeout || !answer.Idle {
		return fmt.Errorf("%w within %v", ErrNotIdle, wait.Round(time.Millisecond))
	}
	return nil
}

// ResetOption narrows or changes a Reset.
type ResetOption func(map[string]any)

// ResetQueue forgets only this queue (a full name) and its tasks; the others keep theirs.
func ResetQueue(name string) ResetOption { return func(body map[string]any) { body["queue"] = name } }

// KeepClock leaves a virtual clock where it is.
func KeepClock() ResetOption { return func(body map[string]any) { body["keep_clock"] = true } }

// Reset returns the emulator to its start-up state: queues declared at start come back as declared,
// everything else (tasks, attempts, faults) is forgotten, and a virtual clock moves to the real now
// (forward only for ResetQueue) unless KeepClock. On a connected emulator, the WithQueues queues are
// made again after a full reset.
func (e *Emulator) Reset(ctx context.Context, opts ...ResetOption) error {
	body := map[string]any{}
	for _, opt := range opts {
		opt(body)
	}
	_, one := body["queue"]
	if _, err := e.exchange(ctx, http.MethodPost, "/_emu/reset", body, nil, one); err != nil {
		return err
	}
	if one {
		return nil
	}
	return e.createQueues(ctx)
}

// Attempt is one push attempt the emulator made, as sent and as answered.
type Attempt struct {
	Queue           string            // the queue's full name
	Task            string            // the task's full name
	URL             string            // where the request went, as sent
	RequestHeaders  map[string]string // the headers sent, X-CloudTasks-* / X-AppEngine-* and Authorization included
	Status          int               // the handler's HTTP status; 0 when no answer came
	Error           string            // "timeout", a connection error, or "" when an answer came
	ResponseExcerpt string            // the first KiB of the answer's body
	Latency         time.Duration     // real time from sending to the answer
	Time            time.Time         // when it was made, by the emulator's clock
	RetryCount      int               // 0 for a task's first attempt, then 1, 2, ...
}

type attemptJSON struct {
	Queue           string            `json:"queue"`
	Task            string            `json:"task"`
	URL             string            `json:"url"`
	RequestHeaders  map[string]string `json:"request_headers"`
	Status          *int              `json:"status"`
	Error           string            `json:"error"`
	ResponseExcerpt string            `json:"response_excerpt"`
	LatencyMS       float64           `json:"latency_ms"`
	Time            float64           `json:"time"`
	RetryCount      int               `json:"retry_count"`
}

// Attempts lists the recent push attempts of queue (a full name or an ID that one queue has), or of every queue when queue is "",
// oldest first. An unknown queue is ErrUnknownQueue.
func (e *Emulator) Attempts(ctx context.Context, queue string) ([]Attempt, error) {
	path := "/_emu/attempts"
	if queue != "" {
		path += "?queue=" + url.QueryEscape(queue)
	}
	var answer struct {
		Attempts []attemptJSON `json:"attempts"`
	}
	if _, err := e.exchange(ctx, http.MethodGet, path, nil, &answer, queue != ""); err != nil {
		return nil, err
	}
	attempts := make([]Attempt, 0, len(answer.Attempts))
	for _, a := range answer.Attempts {
		status := 0
		if a.Status != nil {
			status = *a.Status
		}
		attempts = append(attempts, Attempt{
			Queue: a.Queue, Task: a.Task, URL: a.URL, RequestHeaders: a.RequestHeaders, Status: status,
			Error: a.Error, ResponseExcerpt: a.ResponseExcerpt, RetryCount: a.RetryCount, Time: epoch(a.Time),
			Latency: time.Duration(a.LatencyMS * float64(time.Millisecond)),
		})
	}
	return attempts, nil
}

// TaskAttempts lists the recent push attempts of one task (its full name), oldest first.
func (e *Emulator) TaskAttempts(ctx context.Context, task string) ([]Attempt, error) {
	queue, _, found := strings.Cut(task, "/tasks/")
	if !found {
		return nil, fmt.Errorf("cloudtasksemu: %q is not a task's full name (projects/P/locations/L/queues/Q/tasks/T)", task)
	}
	all, err := e.Attempts(ctx, queue)
	if err != nil {
		return nil, err
	}
	var mine []Attempt
	for _, a := range all {
		if a.Task == task {
			mine = append(mine, a)
		}
	}
	return mine, nil
}
