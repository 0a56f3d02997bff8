// Package cloudtasksemu is the Go test kit of cloudtasks-emu, an emulator of Google Cloud Tasks.
//
// It starts the emulator's image through testcontainers-go (or connects to one already running at
// CLOUD_TASKS_EMULATOR_HOST), hands out the official client (cloud.google.com/go/cloudtasks/apiv2) wired
// to it over plain-text gRPC or REST with no credentials, and drives the emulator's admin API: reset,
// drain, the virtual clock, the push attempts it made, and faults on demand.
//
// In a test (Run starts a container, or connects to $CLOUD_TASKS_EMULATOR_HOST, and resets it):
//
//	emu := cloudtasksemu.Run(t, cloudtasksemu.WithQueues(queue), cloudtasksemu.WithHostNetwork())
//	worker := cloudtasksemu.NewRecorder(t)
//	// ... the code under test sends a task through emu.Client() to worker.URL() + "/path" ...
//	emu.Drain(queue)
//	got := worker.Requests("/path")
//
// Harness methods fail the test on an error; the Emulator underneath has the same calls with a context
// and an error, for TestMain or code outside tests. With a virtual clock (WithVirtualClock), Advance
// moves time: retries and scheduled tasks fall due at once, and Drain delivers them.
//
// Every call of the admin API is described, for all languages, in docs/admin-api.md of the repository;
// the emulator serves the same as an OpenAPI document at /_emu/openapi.json.
package cloudtasksemu

// Version is the cloudtasks-emu release this kit belongs to. The module is released with the project:
// the tag kits/go/vVersion marks the same commit as the project's vVersion.
const Version = "0.1.0"
