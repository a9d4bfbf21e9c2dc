// Package emulators runs Google's official Firestore and Pub/Sub emulators for tests and for
// the local dev stack, and serves Cloud Functions behind the real functions framework so the
// Pub/Sub push path can be tested end to end.
//
// # In tests
//
// A test package that needs Firestore or Pub/Sub declares
//
//	func TestMain(m *testing.M) { emulators.Main(m) }
//
// and calls [Firestore] or [PubSub] in each test. The first call starts both emulators on free
// loopback ports (once per test binary) and exports FIRESTORE_EMULATOR_HOST and
// PUBSUB_EMULATOR_HOST, so code under test that builds its own clients also reaches them;
// [Main] stops them when the binary ends. When both variables are already set (scripts/test
// starts one pair for the whole `go test ./...` run with local/cmd/emulators), the running
// emulators are reused and never stopped here.
//
// Each test works in its own project ID ([ProjectID]); both emulators keep projects apart, so
// tests may run in parallel and need no cleanup between them. A missing emulator, gcloud or
// Java fails the test with the packages to install: tests never skip.
//
// # The push path
//
// [PushSubscription] creates a topic and a push subscription aimed at a functions framework
// server, and [ServeFunction] runs one. ServeFunction builds a small main package like the one
// the Cloud Functions Go buildpack generates (import the package that registers the functions
// in init, then funcframework.Start) and runs it as its own process with FUNCTION_TARGET and
// PORT set, exactly one function per process as in production. The framework offers no
// in-process alternative that is as faithful: it builds its handler only inside Start, which
// listens forever and can be neither stopped nor pointed at one function without changing the
// process environment. The build is cached per package for the test binary and takes about a
// second once the Go build cache is warm.
//
// # Outside tests
//
// [Start] starts a private pair and [Emulators.Stop] stops it, leaving no process behind;
// local/cmd/emulators wraps them for scripts.
package emulators
