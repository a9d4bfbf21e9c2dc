package emulators

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"cloud.google.com/go/pubsub/v2"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// shared is the pair of emulators every test of one test binary uses.
var shared struct {
	once  sync.Once
	err   error
	owned *Emulators // nil when the environment pointed at running emulators
}

// Main runs the tests of m, stops the emulators the harness started, and exits with the
// tests' status. Call it from TestMain:
//
//	func TestMain(m *testing.M) { emulators.Main(m) }
//
// Without it the emulators still die with the test binary on Linux, but only because the
// kernel kills them, and the functions built by ServeFunction stay in the temp directory.
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run is Main for a TestMain that has more to do: it runs the tests of m, stops the emulators
// the harness started, and returns the exit code.
func Run(m *testing.M) int {
	code := m.Run()
	if err := stopShared(); err != nil {
		fmt.Fprintln(os.Stderr, "emulators:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// stopShared stops the shared emulators if the harness started them, and removes the built
// functions.
func stopShared() error {
	var err error
	if shared.owned != nil {
		err = shared.owned.Stop()
	}
	removeBuilds()
	return err
}

// ensure makes sure both emulators answer and that the environment points at them, starting
// them on first use. Every later call returns at once with the same result.
func ensure(tb testing.TB) {
	tb.Helper()
	shared.once.Do(func() { shared.err = setUp() })
	if shared.err != nil {
		tb.Fatalf("emulators: %v", shared.err)
	}
}

// setUp reuses running emulators when both variables are set; otherwise it starts a pair
// and exports their addresses for the client libraries and for child processes.
func setUp() error {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultStartTimeout)
	defer cancel()
	fs, ps := os.Getenv(FirestoreEnv), os.Getenv(PubSubEnv)
	if fs != "" && ps != "" {
		return checkRunning(ctx, fs, ps)
	}
	// With only one variable set, a fresh pair replaces it rather than mixing a running
	// emulator with a new one: a half-set environment is more likely stale than deliberate.
	e, err := Start(ctx, Options{})
	if err != nil {
		return err
	}
	shared.owned = e
	for _, kv := range e.Env() {
		k, v, _ := strings.Cut(kv, "=")
		if err := os.Setenv(k, v); err != nil {
			return fmt.Errorf("set %s: %w", k, err)
		}
	}
	return nil
}

// checkRunning checks that the emulators the environment names answer, so that a stale
// variable fails fast instead of making every client call hang in retries.
func checkRunning(ctx context.Context, firestoreHost, pubSubHost string) error {
	for _, h := range []struct{ env, host string }{{FirestoreEnv, firestoreHost}, {PubSubEnv, pubSubHost}} {
		if err := ping(ctx, h.host); err != nil {
			return fmt.Errorf("%s=%s does not answer (start the emulators or unset it): %w", h.env, h.host, err)
		}
	}
	return nil
}

// ping checks that an emulator answers on host.
func ping(ctx context.Context, host string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+host+"/", nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET / answered %s", resp.Status)
	}
	return nil
}

// projects holds each running test's project ID.
var projects sync.Map // testing.TB -> string

// ProjectID returns the project ID of the running test: the same for every call within one
// test, and different from every other test's, so tests sharing the emulators never see each
// other's documents, topics or subscriptions. It looks like "t-<test name>-<random>" and is a
// valid Google Cloud project ID.
func ProjectID(tb testing.TB) string {
	tb.Helper()
	if id, ok := projects.Load(tb); ok {
		return id.(string)
	}
	id := newProjectID(tb.Name())
	if actual, loaded := projects.LoadOrStore(tb, id); loaded {
		return actual.(string)
	}
	tb.Cleanup(func() { projects.Delete(tb) })
	return id
}

// newProjectID builds a project ID (6–30 characters: lowercase letters, digits and hyphens,
// starting with a letter) from a test name and 8 random hex digits.
func newProjectID(testName string) string {
	const maxName = 30 - len("t-") - len("-") - 8
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(testName) {
		if b.Len() == maxName {
			break
		}
		if ('a' <= r && r <= 'z') || ('0' <= r && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	name := strings.TrimRight(b.String(), "-")
	suffix := randomHex(4)
	if name == "" {
		return "t-" + suffix
	}
	return "t-" + name + "-" + suffix
}

// randomHex returns n random bytes as 2n hex digits.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

// Firestore returns a Firestore client for the test's project (ProjectID) on the emulator,
// starting the emulators on first use. The client is closed, and the project's documents
// deleted, when the test ends.
func Firestore(tb testing.TB) *firestore.Client {
	tb.Helper()
	project := firestoreProject(tb)
	c, err := firestore.NewClient(context.Background(), project)
	if err != nil {
		tb.Fatalf("emulators: new Firestore client for %s: %v", project, err)
	}
	tb.Cleanup(func() {
		if err := c.Close(); err != nil {
			tb.Errorf("emulators: close Firestore client: %v", err)
		}
	})
	return c
}

// FirestoreConn is Firestore over a gRPC connection of its own made with dial (interceptors
// that count or fault its calls), and that connection, for other clients of the same API (the
// store's apiv1 client). The client library dials the emulator itself and takes no dial options
// then; this is the way in.
func FirestoreConn(tb testing.TB, dial ...grpc.DialOption) (*firestore.Client, *grpc.ClientConn) {
	tb.Helper()
	project := firestoreProject(tb)
	conn, err := grpc.NewClient(mustEmulatorEnv(tb, FirestoreEnv), append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(ownerCreds{}),
	}, dial...)...)
	if err != nil {
		tb.Fatalf("emulators: dial Firestore: %v", err)
	}
	c, err := firestore.NewClient(context.Background(), project, option.WithGRPCConn(conn))
	if err != nil {
		tb.Fatalf("emulators: new Firestore client for %s: %v", project, err)
	}
	tb.Cleanup(func() {
		if err := c.Close(); err != nil {
			tb.Errorf("emulators: close Firestore client: %v", err)
		}
		_ = conn.Close() // the client may have closed it already
	})
	return c, conn
}

// firestoreProject starts the emulators on first use and returns the test's project, whose
// documents are deleted when the test ends (after the clients registered later are closed).
func firestoreProject(tb testing.TB) string {
	tb.Helper()
	ensure(tb)
	host := mustEmulatorEnv(tb, FirestoreEnv)
	project := ProjectID(tb)
	tb.Cleanup(func() {
		// The shared emulator keeps every project in memory for the whole run.
		if err := ResetFirestore(context.Background(), host, project); err != nil {
			tb.Errorf("emulators: %v", err)
		}
	})
	return project
}

// ownerCreds is what the client library sends the emulator: the owner's bearer token, which
// the emulator's security rules let do anything.
type ownerCreds struct{}

func (ownerCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer owner"}, nil
}
func (ownerCreds) RequireTransportSecurity() bool { return false }

// ResetFirestore deletes every document of project on the Firestore emulator at host. The
// emulator has answered 409 Conflict for a while after the function processes of a fleet bench
// were stopped mid-copy (a transaction they left open, as far as can be told): the reset is
// tried again for up to a minute.
func ResetFirestore(ctx context.Context, host, project string) error {
	u := url.URL{
		Scheme: "http",
		Host:   host,
		Path:   "/emulator/v1/projects/" + project + "/databases/(default)/documents",
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 2*time.Second) {
		req, err := http.NewRequestWithContext(ctx, http.MethodDelete, u.String(), nil)
		if err != nil {
			return fmt.Errorf("reset Firestore project %s: %w", project, err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("reset Firestore project %s: %w", project, err)
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusOK:
			return nil
		case resp.StatusCode != http.StatusConflict:
			return fmt.Errorf("reset Firestore project %s: %s %s", project, resp.Status, body)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("reset Firestore project %s: still %s %s: %w", project, resp.Status, body, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// PubSub returns a Pub/Sub client for the test's project (ProjectID) on the emulator,
// starting the emulators on first use. The client is closed when the test ends.
func PubSub(tb testing.TB) *pubsub.Client {
	tb.Helper()
	ensure(tb)
	mustEmulatorEnv(tb, PubSubEnv)
	project := ProjectID(tb)
	c, err := pubsub.NewClient(context.Background(), project)
	if err != nil {
		tb.Fatalf("emulators: new Pub/Sub client for %s: %v", project, err)
	}
	tb.Cleanup(func() {
		if err := c.Close(); err != nil {
			tb.Errorf("emulators: close Pub/Sub client: %v", err)
		}
	})
	return c
}

// mustEmulatorEnv returns the emulator host in env. The client libraries fall back to real
// Google endpoints and credentials without it, which a test must never do.
func mustEmulatorEnv(tb testing.TB, env string) string {
	tb.Helper()
	host := os.Getenv(env)
	if host == "" {
		tb.Fatalf("emulators: %s is not set; refusing to create a client that would reach Google", env)
	}
	return host
}
