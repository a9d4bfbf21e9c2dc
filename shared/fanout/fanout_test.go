package fanout_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	standin "github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/local/emulators"
	"github.com/efactori/drivesync/shared/config"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/efactori"
	"github.com/efactori/drivesync/shared/fanout"
)

func TestMain(m *testing.M) { emulators.Main(m) }

const devToken = "dev-token-for-fanout-tests"

// The run every test publishes for.
const (
	company    = "small"
	connection = "conn-1"
	run        = "run-7"
)

// signingKey is shared by every stand-in: RSA key generation is slow under -race.
var signingKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// env is a Fanout wired to an eFactori stand-in and to the Pub/Sub emulator, in a project of
// its own, with a subscription on each of its topics.
type env struct {
	server    *standin.Server
	pubsub    *pubsub.Client
	fanout    *fanout.Fanout
	taskTopic string
	reqTopic  string
	taskSub   string
	reqSub    string
}

func newEnv(tb testing.TB, pageSize int, companies ...standin.CompanySpec) *env {
	tb.Helper()
	s, err := standin.New(standin.Options{
		DevToken: devToken, Audience: "drivesync", SigningKey: signingKey(), Seed: 3, Companies: companies,
	})
	if err != nil {
		tb.Fatalf("stand-in: %v", err)
	}
	hs := httptest.NewServer(s)
	tb.Cleanup(hs.Close)
	if err := s.SetBaseURL(hs.URL); err != nil {
		tb.Fatal(err)
	}
	hc, err := efactori.NewStaticTokenClient(devToken, nil)
	if err != nil {
		tb.Fatal(err)
	}
	lister, err := efactori.New(hs.URL, hc, efactori.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		tb.Fatal(err)
	}

	client := emulators.PubSub(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	project := "projects/" + client.Project()
	e := &env{server: s, pubsub: client,
		taskTopic: project + "/topics/" + config.TopicCopyTasks, reqTopic: project + "/topics/" + config.TopicCopyRequests,
		taskSub: project + "/subscriptions/tasks", reqSub: project + "/subscriptions/requests"}
	for _, ts := range []struct{ topic, sub string }{{e.taskTopic, e.taskSub}, {e.reqTopic, e.reqSub}} {
		if _, err := client.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: ts.topic}); err != nil {
			tb.Fatalf("create topic %s: %v", ts.topic, err)
		}
		if _, err := client.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
			Name: ts.sub, Topic: ts.topic, AckDeadlineSeconds: 600,
		}); err != nil {
			tb.Fatalf("create subscription %s: %v", ts.sub, err)
		}
	}
	tasks, err := fanout.NewTaskPublisher(client, config.TopicCopyTasks)
	if err != nil {
		tb.Fatal(err)
	}
	requests, err := fanout.NewRequestPublisher(client, config.TopicCopyRequests)
	if err != nil {
		tb.Fatal(err)
	}
	// Registered after emulators.PubSub, so they stop before the client closes.
	tb.Cleanup(tasks.Stop)
	tb.Cleanup(requests.Stop)
	e.fanout, err = fanout.New(lister, tasks, requests, pageSize)
	if err != nil {
		tb.Fatalf("fanout.New: %v", err)
	}
	return e
}

// documents returns the documents of the stand-in's company id, in listing order.
func (e *env) documents(tb testing.TB, id string) []drivesync.Document {
	tb.Helper()
	docs, err := e.server.Documents(id)
	if err != nil {
		tb.Fatal(err)
	}
	return docs
}

// deleteTopic deletes topic, so that every later publish on it fails.
func (e *env) deleteTopic(tb testing.TB, topic string) {
	tb.Helper()
	if err := e.pubsub.TopicAdminClient.DeleteTopic(tb.Context(), &pubsubpb.DeleteTopicRequest{Topic: topic}); err != nil {
		tb.Fatalf("delete topic %s: %v", topic, err)
	}
}

// pull pulls and acknowledges every message of sub, expecting exactly want of them: it waits
// until want have arrived, then checks that no more follow. A negative want takes whatever is
// there.
func pull(tb testing.TB, c *pubsub.Client, sub string, want int) []*pubsubpb.PubsubMessage {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var got []*pubsubpb.PubsubMessage
	empties := 0
	for {
		resp, err := c.SubscriptionAdminClient.Pull(ctx, &pubsubpb.PullRequest{
			//lint:ignore SA1019 deprecated for production pullers; a test draining the emulator needs the empty answer at once
			Subscription: sub, MaxMessages: 1000, ReturnImmediately: true,
		})
		if err != nil {
			tb.Fatalf("pull %s: %v", sub, err)
		}
		var ackIDs []string
		for _, m := range resp.ReceivedMessages {
			got = append(got, m.Message)
			ackIDs = append(ackIDs, m.AckId)
		}
		if len(ackIDs) > 0 {
			if err := c.SubscriptionAdminClient.Acknowledge(ctx, &pubsubpb.AcknowledgeRequest{Subscription: sub, AckIds: ackIDs}); err != nil {
				tb.Fatalf("acknowledge on %s: %v", sub, err)
			}
			empties = 0
			continue
		}
		if want >= 0 && len(got) > want {
			tb.Fatalf("%s holds %d messages, want %d", sub, len(got), want)
		}
		// Every message was accepted before pull is called, but the emulator gets a few empty
		// answers before the count is final; past want, they prove nothing more is coming.
		empties++
		if empties >= 3 && (want < 0 || len(got) >= want) {
			return got
		}
		if empties >= 20 {
			tb.Fatalf("%s holds %d messages, want %d", sub, len(got), want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// decodeTasks decodes copy task messages, sorted by document id, checking each one's
// attributes.
func decodeTasks(tb testing.TB, msgs []*pubsubpb.PubsubMessage) []drivesync.CopyTask {
	tb.Helper()
	tasks := make([]drivesync.CopyTask, 0, len(msgs))
	for _, m := range msgs {
		task, err := drivesync.DecodeCopyTask(m.Data)
		if err != nil {
			tb.Fatalf("DecodeCopyTask: %v", err)
		}
		if diff := cmp.Diff(task.Attributes(), m.Attributes); diff != "" {
			tb.Fatalf("task %s attributes (-want +got):\n%s", task.Document.ID, diff)
		}
		tasks = append(tasks, task)
	}
	slices.SortFunc(tasks, func(a, b drivesync.CopyTask) int { return strings.Compare(a.Document.ID, b.Document.ID) })
	return tasks
}

// decodeRequests decodes copy request messages, checking each one's attributes.
func decodeRequests(tb testing.TB, msgs []*pubsubpb.PubsubMessage) []drivesync.CopyRequest {
	tb.Helper()
	var reqs []drivesync.CopyRequest
	for _, m := range msgs {
		r, err := drivesync.DecodeCopyRequest(m.Data)
		if err != nil {
			tb.Fatalf("DecodeCopyRequest: %v", err)
		}
		if diff := cmp.Diff(r.Attributes(), m.Attributes); diff != "" {
			tb.Fatalf("request attributes (-want +got):\n%s", diff)
		}
		reqs = append(reqs, r)
	}
	return reqs
}

// wantTasks returns the tasks PublishTasks should publish for docs, sorted like decodeTasks.
func wantTasks(docs []drivesync.Document) []drivesync.CopyTask {
	tasks := make([]drivesync.CopyTask, 0, len(docs))
	for _, d := range docs {
		tasks = append(tasks, drivesync.CopyTask{
			SchemaVersion: drivesync.CopyTaskSchemaVersion, CompanyID: company, ConnectionID: connection, RunID: run,
			Document: d, Verify: true,
		})
	}
	slices.SortFunc(tasks, func(a, b drivesync.CopyTask) int { return strings.Compare(a.Document.ID, b.Document.ID) })
	return tasks
}

// classified checks that err is a ClassifiedError of class and code.
func classified(tb testing.TB, err error, class drivesync.Class, code string) {
	tb.Helper()
	var ce *drivesync.ClassifiedError
	if !errors.As(err, &ce) {
		tb.Fatalf("error %v is not classified", err)
	}
	if got, want := [2]any{ce.Class, ce.Code}, [2]any{class, code}; got != want {
		tb.Errorf("class, code = %v, want %v (error: %v)", got, want, err)
	}
}

func TestPublishTasks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		docs int // the first docs documents of the company
	}{
		{name: "no documents", docs: 0},
		{name: "one document", docs: 1},
		{name: "more than a batch", docs: 600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, 100, standin.CompanySpec{ID: company, Documents: 600})
			docs := e.documents(t, company)[:tt.docs]
			if err := e.fanout.PublishTasks(t.Context(), company, connection, run, docs); err != nil {
				t.Fatalf("PublishTasks: %v", err)
			}
			if diff := cmp.Diff(wantTasks(docs), decodeTasks(t, pull(t, e.pubsub, e.taskSub, len(docs)))); diff != "" {
				t.Errorf("published tasks (-want +got):\n%s", diff)
			}
			pull(t, e.pubsub, e.reqSub, 0)
		})
	}
}

// A document that cannot make a task fails the whole call before anything is published: the
// caller gets a Permanent error naming it, and no task of the run is out.
func TestPublishTasksInvalidDocumentPublishesNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		at    int // index of the spoilt document among 10
		spoil func(*drivesync.Document)
	}{
		{name: "unknown kind", at: 3, spoil: func(d *drivesync.Document) { d.Kind = "receipt" }},
		{name: "no id, first", at: 0, spoil: func(d *drivesync.Document) { d.ID = "" }},
		{
			name: "task over the message limit, last", at: 9,
			spoil: func(d *drivesync.Document) {
				d.ContentURL += "?pad=" + strings.Repeat("x", drivesync.MaxCopyTaskBytes)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, 100, standin.CompanySpec{ID: company, Documents: 10})
			docs := e.documents(t, company)
			tt.spoil(&docs[tt.at])
			err := e.fanout.PublishTasks(t.Context(), company, connection, run, docs)
			classified(t, err, drivesync.Permanent, efactori.CodeInvalidDocument)
			if id := docs[tt.at].ID; id != "" && !strings.Contains(err.Error(), id) {
				t.Errorf("error %q does not name document %s", err, id)
			}
			pull(t, e.pubsub, e.taskSub, 0)
		})
	}
}

func TestPublishFailureIsRetryable(t *testing.T) {
	t.Parallel()
	t.Run("tasks", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, 100, standin.CompanySpec{ID: company, Documents: 20})
		e.deleteTopic(t, e.taskTopic)
		err := e.fanout.PublishTasks(t.Context(), company, connection, run, e.documents(t, company))
		classified(t, err, drivesync.Retryable, fanout.CodePublishFailed)
		if !strings.Contains(err.Error(), "20 of 20 messages failed") {
			t.Errorf("error %q does not count the failed tasks", err)
		}
	})
	t.Run("request", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, 100)
		e.deleteTopic(t, e.reqTopic)
		err := e.fanout.PublishRequest(t.Context(), drivesync.CopyRequest{
			SchemaVersion: drivesync.CopyRequestSchemaVersion, CompanyID: company, ConnectionID: connection, RunID: run,
		})
		classified(t, err, drivesync.Retryable, fanout.CodePublishFailed)
	})
}

func TestPublishRequest(t *testing.T) {
	t.Parallel()
	movedAt := time.Date(2025, 3, 14, 9, 26, 53, 589_000_000, time.UTC)
	tests := []struct {
		name string
		req  drivesync.CopyRequest
	}{
		{name: "run", req: drivesync.CopyRequest{
			SchemaVersion: drivesync.CopyRequestSchemaVersion, CompanyID: company, ConnectionID: connection, RunID: run,
		}},
		{name: "await", req: drivesync.CopyRequest{
			SchemaVersion: drivesync.CopyRequestSchemaVersion, CompanyID: company, ConnectionID: connection, RunID: run,
			Await: true, Done: 4321, MovedAt: movedAt, Repairs: 2,
		}},
		{name: "await, nothing done yet", req: drivesync.CopyRequest{
			SchemaVersion: drivesync.CopyRequestSchemaVersion, CompanyID: company, ConnectionID: connection, RunID: run,
			Await: true, MovedAt: movedAt,
		}},
		{name: "scheduled", req: drivesync.CopyRequest{SchemaVersion: drivesync.CopyRequestSchemaVersion, Scheduled: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, 100)
			if err := e.fanout.PublishRequest(t.Context(), tt.req); err != nil {
				t.Fatalf("PublishRequest: %v", err)
			}
			if diff := cmp.Diff([]drivesync.CopyRequest{tt.req}, decodeRequests(t, pull(t, e.pubsub, e.reqSub, 1))); diff != "" {
				t.Errorf("published requests (-want +got):\n%s", diff)
			}
			pull(t, e.pubsub, e.taskSub, 0)
		})
	}
}

func TestPublishRequestRejectsInvalidRequest(t *testing.T) {
	t.Parallel()
	valid := drivesync.CopyRequest{
		SchemaVersion: drivesync.CopyRequestSchemaVersion, CompanyID: company, ConnectionID: connection, RunID: run,
	}
	tests := []struct {
		name  string
		spoil func(*drivesync.CopyRequest)
	}{
		{name: "no run", spoil: func(r *drivesync.CopyRequest) { r.RunID = "" }},
		{name: "done outside an await request", spoil: func(r *drivesync.CopyRequest) { r.Done = 3 }},
		{name: "scheduled naming a company", spoil: func(r *drivesync.CopyRequest) { r.Scheduled = true }},
		{name: "unknown schema", spoil: func(r *drivesync.CopyRequest) { r.SchemaVersion = 2 }},
	}
	e := newEnv(t, 100)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := valid
			tt.spoil(&req)
			classified(t, e.fanout.PublishRequest(t.Context(), req), drivesync.Permanent, fanout.CodeInvalidRequest)
		})
	}
	pull(t, e.pubsub, e.reqSub, 0)
}

func TestList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		company   standin.CompanySpec
		pageSize  int
		wantPages []int // documents per page
	}{
		{name: "several pages", company: standin.CompanySpec{ID: company, Documents: 250}, pageSize: 100, wantPages: []int{100, 100, 50}},
		{name: "exactly one full page", company: standin.CompanySpec{ID: company, Documents: 100}, pageSize: 100, wantPages: []int{100}},
		{name: "one document a page", company: standin.CompanySpec{ID: company, Documents: 3}, pageSize: 1, wantPages: []int{1, 1, 1}},
		{name: "largest page", company: standin.CompanySpec{ID: company, Documents: 1500}, pageSize: efactori.MaxPageSize, wantPages: []int{1000, 500}},
		{name: "empty company", company: standin.CompanySpec{ID: company}, pageSize: 100, wantPages: []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tt.pageSize, tt.company)
			var (
				got   []drivesync.Document
				pages []int
			)
			for token := ""; ; {
				page, err := e.fanout.List(t.Context(), company, token)
				if err != nil {
					t.Fatalf("List page %d: %v", len(pages), err)
				}
				if len(page.Invalid) > 0 {
					t.Errorf("page %d: invalid documents %v", len(pages), page.Invalid)
				}
				got = append(got, page.Documents...)
				pages = append(pages, len(page.Documents))
				if token = page.NextPageToken; token == "" {
					break
				}
			}
			if diff := cmp.Diff(tt.wantPages, pages); diff != "" {
				t.Errorf("documents per page (-want +got):\n%s", diff)
			}
			if got, want := e.server.Requests(standin.EndpointList), int64(len(tt.wantPages)); got != want {
				t.Errorf("list requests = %d, want %d", got, want)
			}
			if diff := cmp.Diff(e.documents(t, company), got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("listed documents (-want +got):\n%s", diff)
			}
			pull(t, e.pubsub, e.taskSub, 0)
			pull(t, e.pubsub, e.reqSub, 0)
		})
	}
}

// List passes the lister's errors on with their class.
func TestListKeepsTheListersClass(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 100, standin.CompanySpec{ID: company, Documents: 10})
	_, err := e.fanout.List(t.Context(), "nobody", "")
	classified(t, err, drivesync.Permanent, efactori.CodeUnknownCompany)
	_, err = e.fanout.List(t.Context(), company, "forged")
	classified(t, err, drivesync.Permanent, efactori.CodeInvalidPageToken)
}

func TestNewRejectsMissingDependencies(t *testing.T) {
	t.Parallel()
	hc, err := efactori.NewStaticTokenClient(devToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	lister, err := efactori.New("http://127.0.0.1:1", hc, efactori.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pub := &pubsub.Publisher{}
	tests := []struct {
		name     string
		lister   fanout.Lister
		tasks    fanout.Publisher
		requests fanout.Publisher
		pageSize int
	}{
		{"nil lister", nil, pub, pub, 100},
		{"nil task publisher", lister, nil, pub, 100},
		{"nil request publisher", lister, pub, nil, 100},
		{"zero page size", lister, pub, pub, 0},
		{"page size above the API's", lister, pub, pub, efactori.MaxPageSize + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := fanout.New(tt.lister, tt.tasks, tt.requests, tt.pageSize); err == nil {
				t.Error("New succeeded")
			}
		})
	}
	if _, err := fanout.New(lister, pub, pub, efactori.MaxPageSize); err != nil {
		t.Errorf("New with every dependency: %v", err)
	}
	if _, err := fanout.NewTaskPublisher(nil, config.TopicCopyTasks); err == nil {
		t.Error("NewTaskPublisher(nil) succeeded")
	}
	if _, err := fanout.NewRequestPublisher(nil, config.TopicCopyRequests); err == nil {
		t.Error("NewRequestPublisher(nil) succeeded")
	}
	client := emulators.PubSub(t)
	if _, err := fanout.NewTaskPublisher(client, ""); err == nil {
		t.Error("NewTaskPublisher with no topic succeeded")
	}
	if _, err := fanout.NewRequestPublisher(client, ""); err == nil {
		t.Error("NewRequestPublisher with no topic succeeded")
	}
}

// BenchmarkPublishTasks100k publishes the copy tasks of a reconcile that found 100,000
// documents to copy: one PublishTasks call, every task accepted by the emulator. The documents
// are the stand-in's, listed before the timer starts. Run it once with
//
//	go test ./shared/fanout/ -run '^$' -bench BenchmarkPublishTasks100k -benchtime 1x
func BenchmarkPublishTasks100k(b *testing.B) {
	const n = 100_000
	e := newEnv(b, efactori.MaxPageSize, standin.CompanySpec{ID: company, Documents: n})
	docs := e.documents(b, company)
	if got := len(docs); got != n {
		b.Fatalf("the stand-in has %d documents, want %d", got, n)
	}
	published := 0
	for b.Loop() {
		if err := e.fanout.PublishTasks(b.Context(), company, connection, run, docs); err != nil {
			b.Fatalf("PublishTasks: %v", err)
		}
		published += n
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/100k")
	b.ReportMetric(float64(published)/b.Elapsed().Seconds(), "tasks/s")
	// The tasks are counted, not decoded: decoding 100,000 of them would measure the test.
	b.StopTimer()
	if got, want := len(pull(b, e.pubsub, e.taskSub, -1)), published; got != want {
		b.Errorf("the task subscription holds %d messages, want %d", got, want)
	}
}
