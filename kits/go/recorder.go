package cloudtasksemu

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Request is one request a Recorder received: a task as the emulator delivered it.
type Request struct {
	Method string
	Path   string
	Query  string      // the raw query, without "?"
	Header http.Header // X-CloudTasks-* (or X-AppEngine-*), Authorization and the task's own headers
	Body   []byte
}

// Recorder is a task handler for tests: it records every request and answers from a script of
// statuses per path (then 200). After a Drain, every delivery that was due has been recorded, so a
// test reads Requests without waiting.
//
// It is an http.Handler: NewRecorder serves it on 127.0.0.1, which a connected emulator or a
// container on the host network (WithHostNetwork) reaches; behind Docker's bridge, serve it yourself
// on an address the container reaches (http://host.docker.internal:PORT).
type Recorder struct {
	mu       sync.Mutex
	scripts  map[string][]int
	received []Request
	url      string
}

// NewRecorder serves a Recorder on a free port of 127.0.0.1 until the test ends.
func NewRecorder(tb testing.TB) *Recorder {
	tb.Helper()
	r := &Recorder{}
	server := httptest.NewServer(r)
	tb.Cleanup(server.Close)
	r.url = server.URL
	return r
}

// URL is http://127.0.0.1:PORT: a task's URL is URL() + a path; "" unless NewRecorder serves it.
func (r *Recorder) URL() string { return r.url }

// Script makes the next requests to path answer these statuses, one each, then 200, e.g.
// Script("/pay", 500, 500) for a task that succeeds on its third attempt.
func (r *Recorder) Script(path string, statuses ...int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.scripts == nil {
		r.scripts = map[string][]int{}
	}
	r.scripts[path] = append(r.scripts[path], statuses...)
}

// Requests is what path received, oldest first; "" for every path.
func (r *Recorder) Requests(path string) []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Request
	for _, request := range r.received {
		if path == "" || request.Path == path {
			out = append(out, request)
		}
	}
	return out
}

// ServeHTTP records the request, then answers the next scripted status of its path (or 200).
func (r *Recorder) ServeHTTP(w http.ResponseWriter, request *http.Request) {
	body, err := io.ReadAll(request.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.received = append(r.received, Request{
		Method: request.Method, Path: request.URL.Path, Query: request.URL.RawQuery,
		Header: request.Header.Clone(), Body: body,
	})
	status := http.StatusOK
	if script := r.scripts[request.URL.Path]; len(script) > 0 {
		status, r.scripts[request.URL.Path] = script[0], script[1:]
	}
	r.mu.Unlock()
	w.WriteHeader(status)
}
