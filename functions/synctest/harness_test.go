package synctest

import (
	"cmp"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/local/emulators"
	"github.com/efactori/drivesync/local/googleemu"
	"github.com/efactori/drivesync/local/googleemu/driveemu"
	"github.com/efactori/drivesync/local/googleemu/oauthemu"
	"github.com/efactori/drivesync/local/googleemu/pickeremu"
	"github.com/efactori/drivesync/shared/config"
	"github.com/efactori/drivesync/shared/connection"
	"github.com/efactori/drivesync/shared/drive"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/engine"
	"github.com/efactori/drivesync/shared/layout"
	"github.com/efactori/drivesync/shared/oauth"
	"github.com/efactori/drivesync/shared/pacing"
	"github.com/efactori/drivesync/shared/queue"
	"github.com/efactori/drivesync/shared/store"
	"github.com/efactori/drivesync/shared/tokencrypt"
)

func TestMain(m *testing.M) { emulators.Main(m) }

const (
	module       = "github.com/efactori/drivesync"
	clientID     = "123-drivesync.apps.googleusercontent.com"
	clientSecret = "GOCSPX-synctest-secret"
	redirectURL  = "http://127.0.0.1:9/oauth/callback" // the test plays the callback itself
	devToken     = "synctest-dev-token"
)

// Google accounts the tests connect.
var accounts = []string{"alice@example.com", "bob@example.com", "carol@example.com"}

// options are what a test changes of the stack.
type options struct {
	companies []efactori.CompanySpec
	// writesPerSecond is DRIVE_WRITES_PER_SECOND; 0 means 1000, i.e. no pacing.
	writesPerSecond float64
	logLevel        string // LOG_LEVEL of the functions; "" means WARNING
	documentLease   string // DOCUMENT_LEASE of SyncDocument; "" means its default
	stallTimeout    string // STALL_TIMEOUT of InitialCopy; "" means its default
	driveScope      string // DRIVE_SCOPE; "" means drive
	// extraAccounts are Google accounts besides accounts (the fleet's many-account scenarios).
	extraAccounts []string
	// env is added to the functions' environment.
	env []string
	// noFunctions leaves the functions and their subscriptions to the caller (newFleet).
	noFunctions bool
}

// The Cloud project of the OAuth client, as the Google Picker knows it (drive.file tests).
const (
	projectNumber = "123000000456"
	pickerKey     = "AIza-synctest-picker-key"
)

// stack is the copy path on loopback: the eFactori stand-in and the Google emulator in this
// process, Firestore and Pub/Sub emulators, and the two event functions in processes of their
// own behind push subscriptions on the three topics.
type stack struct {
	t       testing.TB
	project string
	fs      *firestore.Client // the test's project on the Firestore emulator
	ef      *efactori.Server
	google  *googleemu.Emulator
	svc     *connection.Service
	store   *store.Store
	ps      *pubsub.Client
	events  *efactori.Publisher
	sync    *emulators.Function // SyncDocument
	initial string              // base URL of InitialCopy
	env     []string            // of the functions

	logs    *loggingTB
	secrets []string // credentials the functions hold, which no log line may contain

	mu  sync.Mutex
	md5 map[string]string // document ID + revision → md5 of its content
}

// checkNoSecretsLogged fails the test if the functions logged a credential.
func (s *stack) checkNoSecretsLogged() {
	s.t.Helper()
	logs := s.logs.String()
	if logs == "" {
		s.t.Error("the functions logged nothing")
	}
	for i, secret := range s.secrets {
		if strings.Contains(logs, secret) {
			s.t.Errorf("the logs hold credential #%d", i) // never the value: test output is a log too
		}
	}
}

// loggingTB is the test, keeping what the function processes log through it (ServeFunction
// writes their output to the test log), so a test can check that no credential is logged. It is
// also the key of the test's project, so every emulators call gets it.
type loggingTB struct {
	testing.TB
	mu   sync.Mutex
	logs strings.Builder
}

func (l *loggingTB) Log(args ...any) {
	l.TB.Helper()
	l.mu.Lock()
	fmt.Fprintln(&l.logs, args...)
	l.mu.Unlock()
	l.TB.Log(args...)
}

func (l *loggingTB) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.logs.String()
}

func newStack(tt testing.TB, opts options) *stack {
	tt.Helper()
	t := &loggingTB{TB: tt}
	ctx := context.Background()
	s := &stack{t: t, logs: t, project: emulators.ProjectID(t), md5: map[string]string{}}
	s.fs = emulators.Firestore(t)
	s.ps = emulators.PubSub(t)
	quiet := slog.New(slog.DiscardHandler)

	var err error
	s.ef, err = efactori.New(efactori.Options{DevToken: devToken, Audience: "drivesync", Companies: opts.companies, Logger: quiet})
	if err != nil {
		t.Fatalf("efactori.New: %v", err)
	}
	efTS := httptest.NewServer(s.ef)
	t.Cleanup(efTS.Close)
	if err := s.ef.SetBaseURL(efTS.URL); err != nil {
		t.Fatal(err)
	}

	var accts []googleemu.Account
	for _, a := range append(slices.Clone(accounts), opts.extraAccounts...) {
		accts = append(accts, googleemu.Account{Email: a, DisplayName: a})
	}
	s.google, err = googleemu.New(googleemu.Options{Accounts: accts, Logger: quiet,
		Clients:  []oauthemu.Client{{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURL}}},
		Projects: []pickeremu.Project{{Number: projectNumber, ClientIDs: []string{clientID}, APIKeys: []string{pickerKey}}}})
	if err != nil {
		t.Fatalf("googleemu.New: %v", err)
	}
	gTS := httptest.NewServer(s.google.Handler())
	t.Cleanup(gTS.Close)
	if err := s.google.SetBaseURL(gTS.URL); err != nil {
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
	scope := cmp.Or(opts.driveScope, "drive")
	var scopes []string // the default: drive
	if scope == "drive.file" {
		scopes = []string{oauth.ScopeOpenID, oauth.ScopeEmail, driveemu.ScopeDriveFile}
	}
	oc, err := oauth.New(oauth.Options{ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL,
		Provider: oauth.EmulatorProvider(gTS.URL), Scopes: scopes})
	if err != nil {
		t.Fatal(err)
	}
	if s.store, err = store.New(s.fs, nil); err != nil {
		t.Fatal(err)
	}

	// The topics, as Terraform creates them.
	for _, topic := range []string{config.TopicDocumentEvents, config.TopicCopyTasks, config.TopicCopyRequests, config.TopicStatusEvents} {
		if _, err := s.ps.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: s.topic(topic)}); err != nil {
			t.Fatalf("create topic %s: %v", topic, err)
		}
	}
	copies, err := queue.NewPublisher(s.ps.Publisher(config.TopicCopyRequests))
	if err != nil {
		t.Fatal(err)
	}
	// The folders the API creates draw on the account budget, as wiring.Connections builds it
	// (unless the functions pace per instance, the design before).
	var budget connection.WriteBudget
	if !slices.Contains(opts.env, "DRIVE_PACING="+config.PacingInstance) {
		gate, err := pacing.NewGate(s.store, cmp.Or(opts.writesPerSecond, 1000), engine.DefaultBudgetWait+engine.LiveLead)
		if err != nil {
			t.Fatal(err)
		}
		budget = gate
	}
	s.svc, err = connection.New(connection.Options{Store: s.store, OAuth: oc, Cipher: cipher,
		Drive: drive.Options{Endpoint: s.google.DriveEndpoint()}, DriveScope: scope, Copies: copies, Logger: quiet,
		WriteBudget: budget})
	if err != nil {
		t.Fatal(err)
	}
	if s.events, err = efactori.NewPublisher(s.ps, config.TopicDocumentEvents); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.events.Stop)

	s.secrets = []string{clientSecret, devToken, string(keyset)}
	wps := opts.writesPerSecond
	if wps == 0 {
		wps = 1000
	}
	level := opts.logLevel
	if level == "" {
		level = "WARNING"
	}
	env := []string{
		"LOG_LEVEL=" + level,
		"OAUTH_CLIENT_ID=" + clientID, "OAUTH_CLIENT_SECRET=" + clientSecret, "OAUTH_REDIRECT_URL=" + redirectURL,
		"DRIVE_SCOPE=" + scope, "TOKEN_KEYSET=" + string(keyset), "TOKEN_KEYSET_CLEARTEXT=true",
		"GOOGLE_EMULATOR_URL=" + gTS.URL,
		"EFACTORI_DOCUMENTS_URL=" + efTS.URL, "EFACTORI_DEV_TOKEN=" + devToken,
		"DRIVE_WRITES_PER_SECOND=" + strconv.FormatFloat(wps, 'f', -1, 64),
		"COPY_PAGE_SIZE=500",
	}
	if opts.documentLease != "" {
		env = append(env, "DOCUMENT_LEASE="+opts.documentLease)
	}
	if opts.stallTimeout != "" {
		env = append(env, "STALL_TIMEOUT="+opts.stallTimeout)
	}
	s.env = append(env, opts.env...)
	env = s.env
	if opts.noFunctions {
		return s
	}
	s.sync = emulators.StartFunction(t, module, config.FunctionSyncDocument, env...)
	s.initial = emulators.ServeFunction(t, module, config.FunctionInitialCopy, env...)
	s.push(config.TopicDocumentEvents, s.sync.URL)
	s.push(config.TopicCopyTasks, s.sync.URL)
	s.push(config.TopicCopyRequests, s.initial)
	return s
}

// crashSync kills the SyncDocument process, as a crashed instance, and starts a new one that
// the push subscriptions deliver to from then on, as Cloud Functions would.
func (s *stack) crashSync() {
	s.t.Helper()
	if err := s.sync.Kill(); err != nil {
		s.t.Fatal(err)
	}
	s.sync = emulators.StartFunction(s.t, module, config.FunctionSyncDocument, s.env...)
	for _, topic := range []string{config.TopicDocumentEvents, config.TopicCopyTasks} {
		s.pushTo(topic, s.sync.URL)
	}
}

// pushTo points topic's push subscription at fn.
func (s *stack) pushTo(topic, fn string) {
	s.t.Helper()
	err := s.ps.SubscriptionAdminClient.ModifyPushConfig(context.Background(), &pubsubpb.ModifyPushConfigRequest{
		Subscription: "projects/" + s.project + "/subscriptions/" + topic + "-push",
		PushConfig:   &pubsubpb.PushConfig{PushEndpoint: fn + "/" + s.topic(topic)},
	})
	if err != nil {
		s.t.Fatalf("point %s at %s: %v", topic, fn, err)
	}
}

// loseTasks makes Pub/Sub give up on the copy tasks it delivers for d, as dead-lettering
// would: they are pushed to an endpoint that acknowledges them unread, then SyncDocument gets
// the rest again. It returns how many deliveries were lost.
func (s *stack) loseTasks(d time.Duration) int64 {
	s.t.Helper()
	var lost atomic.Int64
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lost.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer sink.Close()
	s.pushTo(config.TopicCopyTasks, sink.URL)
	time.Sleep(d)
	s.pushTo(config.TopicCopyTasks, s.sync.URL)
	// Deliveries already on their way to the sink still count.
	time.Sleep(500 * time.Millisecond)
	return lost.Load()
}

func (s *stack) topic(id string) string { return "projects/" + s.project + "/topics/" + id }

// push subscribes fn to topic as Eventarc does: a push subscription whose endpoint ends in the
// topic name, from which the functions framework builds the CloudEvent's source. Deleted before
// the functions stop (cleanups run last-in first-out), so nothing is pushed to a dead process.
func (s *stack) push(topic, fn string) {
	s.t.Helper()
	ctx := context.Background()
	sub := "projects/" + s.project + "/subscriptions/" + topic + "-push"
	_, err := s.ps.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name:               sub,
		Topic:              s.topic(topic),
		PushConfig:         &pubsubpb.PushConfig{PushEndpoint: fn + "/" + s.topic(topic)},
		AckDeadlineSeconds: 60,
		RetryPolicy: &pubsubpb.RetryPolicy{
			MinimumBackoff: durationpb.New(200 * time.Millisecond),
			MaximumBackoff: durationpb.New(5 * time.Second),
		},
	})
	if err != nil {
		s.t.Fatalf("create push subscription on %s: %v", topic, err)
	}
	s.t.Cleanup(func() {
		_ = s.ps.SubscriptionAdminClient.DeleteSubscription(context.Background(), &pubsubpb.DeleteSubscriptionRequest{Subscription: sub})
	})
}

// connect creates a connection of company for account with the given layout, completes the
// consent and chooses a new folder "Comptabilité" in account's My Drive: the choice publishes
// the copy request that starts the initial copy.
func (s *stack) connect(company, name, account string, l drivesync.FolderLayout, onDelete drivesync.OnDelete) drivesync.Connection {
	s.t.Helper()
	conn := s.consent(company, name, account, l, onDelete)
	f, err := s.svc.CreateFolder(context.Background(), company, conn.ID, "root", "Comptabilité")
	if err != nil {
		s.t.Fatalf("CreateFolder: %v", err)
	}
	return s.target(conn, f.ID)
}

// connectTo is connect onto folderID, an existing folder of account's Drive, instead of a new one.
func (s *stack) connectTo(company, name, account string, l drivesync.FolderLayout, onDelete drivesync.OnDelete, folderID string) drivesync.Connection {
	s.t.Helper()
	return s.target(s.consent(company, name, account, l, onDelete), folderID)
}

// consent switches company's integration on, creates a connection of company for account with
// the given layout and completes the consent: the connection awaits its folder.
func (s *stack) consent(company, name, account string, l drivesync.FolderLayout, onDelete drivesync.OnDelete) drivesync.Connection {
	s.t.Helper()
	ctx := context.Background()
	if _, err := s.svc.SetIntegration(ctx, company, true); err != nil {
		s.t.Fatalf("SetIntegration: %v", err)
	}
	conn, authURL, err := s.svc.Create(ctx, company, "Société "+company, connection.CreateInput{Name: name, FolderLayout: l})
	if err != nil {
		s.t.Fatalf("Create: %v", err)
	}
	s.callback(authURL, account)
	if onDelete != "" {
		if conn, err = s.svc.Update(ctx, company, conn.ID, connection.UpdateInput{OnDelete: &onDelete}); err != nil {
			s.t.Fatalf("Update: %v", err)
		}
	}
	return conn
}

// reconsent has account consent again for connection id, as the customer does for a connection
// that needs reauthorization: the callback starts a new run.
func (s *stack) reconsent(company, id, account string) {
	s.t.Helper()
	authURL, err := s.svc.Authorize(context.Background(), company, id)
	if err != nil {
		s.t.Fatalf("Authorize: %v", err)
	}
	s.callback(authURL, account)
}

// callback has account grant the consent at authURL and plays the OAuth callback.
func (s *stack) callback(authURL, account string) {
	s.t.Helper()
	if err := consentAs(context.Background(), s.svc, s.google, authURL, account); err != nil {
		s.t.Fatal(err)
	}
}

// consentAs plays the browser of account: it opens the authorization link (the start link,
// which gives the browser its secret), allows on Google's consent page and comes back to the
// callback with that secret.
func consentAs(ctx context.Context, svc *connection.Service, google *googleemu.Emulator, link, account string) error {
	u, err := url.Parse(link)
	if err != nil {
		return fmt.Errorf("authorization link: %w", err)
	}
	start, err := svc.StartConsent(ctx, u.Query().Get("state"))
	if err != nil {
		return fmt.Errorf("StartConsent: %w", err)
	}
	loc, err := google.OAuth.Consent(ctx, start.GoogleURL, account, true)
	if err != nil {
		return fmt.Errorf("Consent: %w", err)
	}
	q := loc.Query()
	if res, err := svc.Callback(ctx, q.Get("state"), start.Browser, q.Get("code"), q.Get("error")); err != nil || res.Result != connection.ResultOK {
		return fmt.Errorf("Callback = %+v, %v", res, err)
	}
	return nil
}

// target chooses folderID as conn's target, which publishes the copy request of a new run.
func (s *stack) target(conn drivesync.Connection, folderID string) drivesync.Connection {
	s.t.Helper()
	conn, err := s.svc.SetTarget(context.Background(), conn.CompanyID, conn.ID, folderID)
	if err != nil {
		s.t.Fatalf("SetTarget: %v", err)
	}
	return conn
}

// get returns the connection as GET /v1/connections/{id} does.
func (s *stack) get(company, id string) drivesync.Connection {
	s.t.Helper()
	c, err := s.svc.Get(context.Background(), company, id)
	if err != nil {
		s.t.Fatalf("Get: %v", err)
	}
	return c
}

// driveWrites counts the writes among Drive counters: files.create, files.update, files.delete.
func driveWrites(c map[string]int64) int64 {
	return c["files.create"] + c["files.update"] + c["files.delete"]
}

// uploads counts the requests that carried or started an upload of content ("upload:*").
func uploads(c map[string]int64) int64 {
	var n int64
	for k, v := range c {
		if strings.HasPrefix(k, "upload:") {
			n += v
		}
	}
	return n
}

// countersSince returns account's Drive counters minus before (an earlier Counters).
func (s *stack) countersSince(account string, before map[string]int64) map[string]int64 {
	out := s.google.Drive.Counters(account)
	for k, v := range before {
		if out[k] -= v; out[k] == 0 {
			delete(out, k)
		}
	}
	return out
}

// waitDone polls the connection as GET /v1/connections/{id} does until its initial copy is done.
func (s *stack) waitDone(company, id string, timeout time.Duration) drivesync.Connection {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	var last drivesync.Connection
	for {
		c, err := s.svc.Get(context.Background(), company, id)
		if err != nil {
			s.t.Fatalf("Get: %v", err)
		}
		last = c
		if c.InitialCopy.State == drivesync.CopyDone {
			return c
		}
		if c.Status != drivesync.StatusActive {
			s.t.Fatalf("connection %s is %s: %+v", id, c.Status, c.LastError)
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("initial copy of %s not done after %v: %+v", id, timeout, last.InitialCopy)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// file is one document file found in a Drive.
type file struct {
	node   driveemu.Node
	folder []string // folder names from the company folder down
}

// files returns the files below the connection's company folder, by eFactori document ID.
// Trashed files are left out unless withTrashed.
func (s *stack) files(conn drivesync.Connection, account string, withTrashed bool) map[string][]file {
	s.t.Helper()
	tree, err := s.google.Drive.Tree(account)
	if err != nil {
		s.t.Fatalf("Tree: %v", err)
	}
	var company *driveemu.Node
	var find func(n *driveemu.Node)
	find = func(n *driveemu.Node) {
		if n.ID == conn.Target.CompanyFolderID {
			company = n
			return
		}
		for i := range n.Children {
			find(&n.Children[i])
		}
	}
	find(&tree.Root)
	if company == nil {
		s.t.Fatalf("company folder %s not in %s's Drive", conn.Target.CompanyFolderID, account)
	}
	out := map[string][]file{}
	var walk func(n driveemu.Node, path []string)
	walk = func(n driveemu.Node, path []string) {
		for _, c := range n.Children {
			if c.Trashed && !withTrashed {
				continue
			}
			if c.Folder {
				walk(c, append(slices.Clone(path), c.Name))
				continue
			}
			id := c.AppProperties[clientID][layout.PropDocumentID]
			out[id] = append(out[id], file{node: c, folder: path})
		}
	}
	walk(*company, nil)
	return out
}

// contentMD5 is the md5 of the current content of a document in eFactori, as Drive reports it.
func (s *stack) contentMD5(doc drivesync.Document) string {
	s.t.Helper()
	key := doc.ID + "@" + strconv.FormatInt(doc.Revision, 10)
	s.mu.Lock()
	sum, ok := s.md5[key]
	s.mu.Unlock()
	if ok {
		return sum
	}
	h := md5.New()
	if err := s.ef.WriteContent(h, doc.ID); err != nil {
		s.t.Fatalf("WriteContent: %v", err)
	}
	sum = hex.EncodeToString(h.Sum(nil))
	s.mu.Lock()
	s.md5[key] = sum
	s.mu.Unlock()
	return sum
}

// checkCopy checks that account's Drive holds every live document of company exactly once, in
// the folder the connection's layout gives it, with its name (no other file of the folder named
// alike), revision and content; and nothing else. It returns the problems, at most a few of each kind.
func (s *stack) checkCopy(conn drivesync.Connection, account string) []string {
	s.t.Helper()
	docs, err := s.ef.Documents(conn.CompanyID)
	if err != nil {
		s.t.Fatalf("Documents: %v", err)
	}
	got := s.files(conn, account, false)
	var problems []string
	report := func(format string, args ...any) {
		if len(problems) < 20 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	// Documents named alike in one folder get distinct names (layout.FileNames): count each
	// folded name per folder.
	names := map[string]int{}
	for _, fs := range got {
		for _, f := range fs {
			names[strings.Join(f.folder, "/")+"/"+layout.FoldName(f.node.Name)]++
		}
	}
	want := map[string]bool{}
	for _, d := range docs {
		want[d.ID] = true
		fs := got[d.ID]
		if len(fs) != 1 {
			report("document %s: %d files, want 1", d.ID, len(fs))
			continue
		}
		f := fs[0]
		if wantPath := layout.Folders(d, conn.FolderLayout, conn.Locale); !slices.Equal(f.folder, wantPath) {
			report("document %s in %v, want %v", d.ID, f.folder, wantPath)
		}
		if ok := layout.FileNames(d); !slices.Contains(ok, f.node.Name) {
			report("document %s named %q, want one of %q", d.ID, f.node.Name, ok)
		} else if n := names[strings.Join(f.folder, "/")+"/"+layout.FoldName(f.node.Name)]; n > 1 {
			report("document %s named %q like %d other files of %v", d.ID, f.node.Name, n-1, f.folder)
		}
		if rev := f.node.AppProperties[clientID][layout.PropRevision]; rev != strconv.FormatInt(d.Revision, 10) {
			report("document %s at revision %s, want %d", d.ID, rev, d.Revision)
		}
		if sum := s.contentMD5(d); f.node.MD5 != sum {
			report("document %s md5 %s, want %s", d.ID, f.node.MD5, sum)
		}
	}
	for id, fs := range got {
		if !want[id] {
			report("%d unexpected files for document %q (e.g. %s in %v)", len(fs), id, fs[0].node.Name, fs[0].folder)
		}
	}
	return problems
}

// publish publishes ev n times, as a redelivering Pub/Sub would deliver it.
func (s *stack) publish(ev drivesync.Event, n int) {
	s.t.Helper()
	for range n {
		if _, err := s.events.Publish(context.Background(), ev); err != nil {
			s.t.Fatalf("publish: %v", err)
		}
	}
}

// eventually polls cond until it returns "" or timeout passes, then fails with its last answer.
func (s *stack) eventually(what string, timeout time.Duration, cond func() string) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msg := cond()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s: still %s after %v", what, msg, timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func joinProblems(p []string) string { return strings.Join(p, "\n") }

func keyOf(c drivesync.Connection) store.ConnectionKey {
	return store.ConnectionKey{CompanyID: c.CompanyID, ID: c.ID}
}
