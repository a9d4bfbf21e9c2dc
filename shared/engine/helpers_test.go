package engine_test

import (
	"github.com/efactori/drivesync/local/testclock"

	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/grpc"

	standin "github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/local/emulators"
	"github.com/efactori/drivesync/local/googleemu"
	"github.com/efactori/drivesync/local/googleemu/driveemu"
	"github.com/efactori/drivesync/local/googleemu/oauthemu"
	"github.com/efactori/drivesync/shared/config"
	"github.com/efactori/drivesync/shared/connection"
	"github.com/efactori/drivesync/shared/drive"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/efactori"
	"github.com/efactori/drivesync/shared/engine"
	"github.com/efactori/drivesync/shared/fanout"
	"github.com/efactori/drivesync/shared/oauth"
	"github.com/efactori/drivesync/shared/store"
	"github.com/efactori/drivesync/shared/tokencrypt"
)

func TestMain(m *testing.M) { emulators.Main(m) }

const (
	clientID     = "42-drivesync.apps.googleusercontent.com"
	clientSecret = "GOCSPX-drivesync-test"
	redirectURL  = "http://127.0.0.1:9/oauth/callback" // never contacted: Consent stops at the redirect
	alice        = "alice@example.com"
	company      = "acme"
	companyName  = "ACME SRL"
	devToken     = "dev-token-for-engine-tests"
)

// signingKey is shared by every stand-in: RSA key generation is slow under -race.
var signingKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// starter records the copies the connection service asks for.
type starter struct {
	mu    sync.Mutex
	conns []drivesync.Connection
}

func (s *starter) StartCopy(_ context.Context, conn drivesync.Connection) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conns = append(s.conns, conn)
	return nil
}

func (s *starter) last(t *testing.T) drivesync.Connection {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.conns) == 0 {
		t.Fatal("no copy started")
	}
	return s.conns[len(s.conns)-1]
}

// env is one test's world: Google's emulator and the eFactori stand-in on loopback, Firestore
// and Pub/Sub on the official emulators, and a connection made active through the real OAuth
// flow.
type env struct {
	ctx     context.Context
	clock   *testclock.Clock
	emu     *googleemu.Emulator
	efa     *standin.Server
	store   *store.Store
	svc     *connection.Service
	copies  *starter
	pubsub  *pubsub.Client
	engine  *engine.Engine
	opts    engine.Options
	conn    drivesync.Connection
	taskSub string
	reqSub  string
	// statusSub is the pull subscription on the status-event topic, with envOptions.statusEvents.
	statusSub string
}

type envOptions struct {
	layout    drivesync.FolderLayout
	documents int
	pageSize  int
	// topics creates the copy topics with a subscription each, for tests that drain them.
	topics bool
	// statusEvents makes the store publish status events on an emulator topic, with a pull
	// subscription (env.statusSub) to read them.
	statusEvents bool
	// wallClock runs the emulators and the store on the wall clock instead of the test clock,
	// for tests of rates (the Drive emulator's write limit refills by its clock).
	wallClock bool
	// firestoreDial, when set, is how the store's Firestore connection is made (an interceptor
	// that faults some calls).
	firestoreDial []grpc.DialOption
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	if o.layout == "" {
		o.layout = drivesync.LayoutYear
	}
	if o.pageSize == 0 {
		o.pageSize = 100
	}
	c := testclock.New(time.Now().UTC().Truncate(time.Millisecond))
	e := &env{ctx: t.Context(), clock: c, copies: &starter{}}
	now := c.Now
	if o.wallClock {
		now = time.Now
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))

	var err error
	e.emu, err = googleemu.New(googleemu.Options{
		Accounts: []googleemu.Account{{Email: alice, DisplayName: "Alice"}},
		Clients:  []oauthemu.Client{{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURL}}},
		Now:      now,
	})
	if err != nil {
		t.Fatalf("googleemu.New: %v", err)
	}
	gsrv := httptest.NewServer(e.emu.Handler())
	t.Cleanup(gsrv.Close)
	if err := e.emu.SetBaseURL(gsrv.URL); err != nil {
		t.Fatal(err)
	}
	cfg, err := oauth.New(oauth.Options{
		ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL,
		Provider:   oauth.EmulatorProvider(gsrv.URL),
		HTTPClient: &http.Client{Transport: gsrv.Client().Transport, Timeout: 30 * time.Second},
		Now:        now,
	})
	if err != nil {
		t.Fatal(err)
	}

	e.efa, err = standin.New(standin.Options{DevToken: devToken, Audience: "drivesync", SigningKey: signingKey(), Seed: 7,
		Companies: []standin.CompanySpec{{ID: company, Name: companyName, Documents: o.documents}}, Now: now})
	if err != nil {
		t.Fatalf("stand-in: %v", err)
	}
	esrv := httptest.NewServer(e.efa)
	t.Cleanup(esrv.Close)
	if err := e.efa.SetBaseURL(esrv.URL); err != nil {
		t.Fatal(err)
	}
	hc, err := efactori.NewStaticTokenClient(devToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := efactori.New(esrv.URL, hc, efactori.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}

	var fs *firestore.Client
	if len(o.firestoreDial) > 0 {
		fs, _ = emulators.FirestoreConn(t, o.firestoreDial...)
	} else {
		fs = emulators.Firestore(t)
	}
	e.pubsub = emulators.PubSub(t)
	var storeOpts []store.Option
	if o.statusEvents {
		storeOpts = append(storeOpts, e.statusEvents(t, log))
	}
	if e.store, err = store.New(fs, now, storeOpts...); err != nil {
		t.Fatal(err)
	}
	keyset, err := tokencrypt.NewDevKeyset()
	if err != nil {
		t.Fatal(err)
	}
	cipher, err := tokencrypt.Open(keyset, tokencrypt.Options{AllowCleartext: true})
	if err != nil {
		t.Fatal(err)
	}
	e.svc, err = connection.New(connection.Options{
		Store: e.store, OAuth: cfg, Cipher: cipher,
		Drive:      drive.Options{Endpoint: e.emu.DriveEndpoint(), UserAgent: "drivesync-test/1"},
		DriveScope: "drive", Copies: e.copies, Logger: log, Now: now,
	})
	if err != nil {
		t.Fatal(err)
	}

	if o.topics {
		e.createTopics(t)
	}
	tasks, err := fanout.NewTaskPublisher(e.pubsub, config.TopicCopyTasks)
	if err != nil {
		t.Fatal(err)
	}
	requests, err := fanout.NewRequestPublisher(e.pubsub, config.TopicCopyRequests)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tasks.Stop)
	t.Cleanup(requests.Stop)
	fo, err := fanout.New(docs, tasks, requests, o.pageSize)
	if err != nil {
		t.Fatal(err)
	}

	e.opts = engine.Options{
		Store: e.store, Connections: e.svc, Documents: docs, Fanout: fo, Logger: log, Now: now,
		MaxEventAge: 24 * time.Hour, WritesPerSecond: 1000, IDBlockSize: 20,
	}
	e.engine = e.newEngine(t)

	if err := e.store.SetIntegration(e.ctx, company, true); err != nil {
		t.Fatal(err)
	}
	e.conn = e.connectRoot(t, company, companyName, o.layout)
	return e
}

// newEngine returns another engine on the same dependencies, as a new function instance.
func (e *env) newEngine(t *testing.T) *engine.Engine {
	t.Helper()
	en, err := engine.New(e.opts)
	if err != nil {
		t.Fatalf("engine.New: %v", err)
	}
	return en
}

// consent plays the browser that opens the authorization link, consents on Google's page and
// comes back to the callback with the secret the link gave it.
func (e *env) consent(t *testing.T, authURL string) {
	t.Helper()
	link, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	start, err := e.svc.StartConsent(e.ctx, link.Query().Get("state"))
	if err != nil {
		t.Fatalf("StartConsent: %v", err)
	}
	loc, err := e.emu.OAuth.Consent(e.ctx, start.GoogleURL, alice, true)
	if err != nil {
		t.Fatalf("Consent: %v", err)
	}
	q := loc.Query()
	res, err := e.svc.Callback(e.ctx, q.Get("state"), start.Browser, q.Get("code"), q.Get("error"))
	if err != nil || res.Result != connection.ResultOK {
		t.Fatalf("Callback = %+v, %v; want ok", res, err)
	}
}

func (e *env) get(t *testing.T) drivesync.Connection {
	t.Helper()
	c, err := e.svc.Get(e.ctx, company, e.conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *env) key() store.ConnectionKey {
	return store.ConnectionKey{CompanyID: company, ID: e.conn.ID}
}

func (e *env) mapping(t *testing.T, docID string) store.Mapping {
	t.Helper()
	m, ok, err := e.store.Mapping(e.ctx, e.key(), docID)
	if err != nil || !ok {
		t.Fatalf("mapping %s: %v, found %v", docID, err, ok)
	}
	return m
}

// upsert makes a new revision of a document in the stand-in and returns its event.
func (e *env) upsert(t *testing.T, docID string, u standin.Upsert) drivesync.Event {
	t.Helper()
	ev, err := e.efa.Upsert(company, docID, u)
	if err != nil {
		t.Fatalf("upsert %s: %v", docID, err)
	}
	return ev
}

func (e *env) documents(t *testing.T) []drivesync.Document {
	t.Helper()
	docs, err := e.efa.Documents(company)
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

func (e *env) task(doc drivesync.Document, runID string) drivesync.CopyTask {
	return drivesync.CopyTask{SchemaVersion: drivesync.CopyTaskSchemaVersion, CompanyID: company,
		ConnectionID: e.conn.ID, RunID: runID, Document: doc}
}

// writes counts the Drive calls of alice's account.
func (e *env) calls() int64 {
	var n int64
	for _, v := range e.emu.Drive.Counters(alice) {
		n += v
	}
	return n
}

func (e *env) tree(t *testing.T) driveemu.Tree {
	t.Helper()
	tr, err := e.emu.Drive.Tree(alice)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// companyFolder returns the company folder's node.
func (e *env) companyFolder(t *testing.T) driveemu.Node {
	t.Helper()
	tr := e.tree(t)
	n := find(tr.Root, e.conn.Target.CompanyFolderID)
	if n == nil {
		t.Fatalf("company folder %s not in the tree:\n%s", e.conn.Target.CompanyFolderID, tr)
	}
	return *n
}

func find(n driveemu.Node, id string) *driveemu.Node {
	if n.ID == id {
		return &n
	}
	for _, c := range n.Children {
		if got := find(c, id); got != nil {
			return got
		}
	}
	return nil
}

// item is one untrashed item under the company folder, by path ("2026/03/F-1.pdf").
type item struct {
	path string
	node driveemu.Node
}

// contents lists the untrashed items under n, depth first.
func contents(n driveemu.Node) []item {
	var out []item
	var walk func(n driveemu.Node, prefix string)
	walk = func(n driveemu.Node, prefix string) {
		for _, c := range n.Children {
			if c.Trashed {
				continue
			}
			p := prefix + c.Name
			if c.Folder {
				out = append(out, item{p + "/", c})
				walk(c, p+"/")
				continue
			}
			out = append(out, item{p, c})
		}
	}
	walk(n, "")
	return out
}

// paths returns the paths of items.
func paths(items []item) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, it.path)
	}
	return out
}

// byPath finds the item at path.
func byPath(t *testing.T, items []item, path string) driveemu.Node {
	t.Helper()
	for _, it := range items {
		if it.path == path {
			return it.node
		}
	}
	t.Fatalf("nothing at %s; have %q", path, paths(items))
	return driveemu.Node{}
}

// deliver calls handle until it acknowledges, as Pub/Sub redelivers, and fails on an error that
// is not retryable (a handler must return those only when a retry can help).
func deliver(what string, handle func() error) error {
	deadline := time.Now().Add(2 * time.Minute) // generous: the test machine may be loaded
	wait := 20 * time.Millisecond
	for {
		err := handle()
		if err == nil {
			return nil
		}
		if c := drivesync.ClassOf(err); c != drivesync.Retryable && c != drivesync.Unclassified {
			return fmt.Errorf("%s: error of class %s returned: %w", what, c, err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: still failing: %w", what, err)
		}
		time.Sleep(wait)
		wait = min(2*wait, time.Second) // Pub/Sub's redelivery backs off too
	}
}

func retry(t *testing.T, what string, handle func() error) {
	t.Helper()
	if err := deliver(what, handle); err != nil {
		t.Fatal(err)
	}
}

func (e *env) createTopics(t *testing.T) {
	t.Helper()
	project := "projects/" + e.pubsub.Project()
	e.taskSub, e.reqSub = project+"/subscriptions/tasks", project+"/subscriptions/requests"
	for _, ts := range []struct{ topic, sub string }{
		{config.TopicCopyTasks, e.taskSub}, {config.TopicCopyRequests, e.reqSub},
	} {
		topic := project + "/topics/" + ts.topic
		if _, err := e.pubsub.TopicAdminClient.CreateTopic(e.ctx, &pubsubpb.Topic{Name: topic}); err != nil {
			t.Fatalf("create topic %s: %v", topic, err)
		}
		if _, err := e.pubsub.SubscriptionAdminClient.CreateSubscription(e.ctx, &pubsubpb.Subscription{
			Name: ts.sub, Topic: topic, AckDeadlineSeconds: 600,
		}); err != nil {
			t.Fatalf("create subscription %s: %v", ts.sub, err)
		}
	}
}

// drain pulls and acknowledges whatever sub holds, waiting briefly for stragglers.
func (e *env) drain(t *testing.T, sub string) [][]byte {
	t.Helper()
	var out [][]byte
	for empties := 0; empties < 3; {
		//lint:ignore SA1019 deprecated for production pullers; a test draining the emulator needs the empty answer at once
		resp, err := e.pubsub.SubscriptionAdminClient.Pull(e.ctx, &pubsubpb.PullRequest{Subscription: sub, MaxMessages: 1000, ReturnImmediately: true})
		if err != nil {
			t.Fatalf("pull %s: %v", sub, err)
		}
		if len(resp.ReceivedMessages) == 0 {
			empties++
			time.Sleep(50 * time.Millisecond)
			continue
		}
		empties = 0
		var ids []string
		for _, m := range resp.ReceivedMessages {
			out = append(out, m.Message.Data)
			ids = append(ids, m.AckId)
		}
		if err := e.pubsub.SubscriptionAdminClient.Acknowledge(e.ctx, &pubsubpb.AcknowledgeRequest{Subscription: sub, AckIds: ids}); err != nil {
			t.Fatalf("ack %s: %v", sub, err)
		}
	}
	return out
}

// testWriter sends logs to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// awaitEnd handles the run's await requests as Pub/Sub would deliver them until none is left,
// and fails the test if the run is not done then.
func (e *env) awaitEnd(t *testing.T) {
	t.Helper()
	for range 50 {
		msgs := e.drain(t, e.reqSub)
		if len(msgs) == 0 {
			break
		}
		for _, data := range msgs {
			r, err := drivesync.DecodeCopyRequest(data)
			if err != nil {
				t.Fatal(err)
			}
			retry(t, "await request", func() error { return e.engine.HandleCopyRequest(e.ctx, r) })
		}
	}
	if got := e.get(t).InitialCopy; got.State != drivesync.CopyDone {
		t.Fatalf("run not done: %+v", got)
	}
}

// connectRoot creates a connection "Compta" of companyID with layout l, consents as alice and
// targets her My Drive, as the API would; the target choice requests the run's copy.
func (e *env) connectRoot(t *testing.T, companyID, companyName string, l drivesync.FolderLayout) drivesync.Connection {
	t.Helper()
	conn, authURL, err := e.svc.Create(e.ctx, companyID, companyName, connection.CreateInput{Name: "Compta", FolderLayout: l})
	if err != nil {
		t.Fatal(err)
	}
	e.consent(t, authURL)
	root, err := e.emu.Drive.RootID(alice)
	if err != nil {
		t.Fatal(err)
	}
	if conn, err = e.svc.SetTarget(e.ctx, companyID, conn.ID, root); err != nil {
		t.Fatal(err)
	}
	return conn
}
