package fanout_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/google/go-cmp/cmp"

	standin "github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/local/emulators"
	"github.com/efactori/drivesync/shared/config"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/efactori"
	"github.com/efactori/drivesync/shared/fanout"
)

func TestMain(m *testing.M) { emulators.Main(m) }

const devToken = "dev-token-for-fanout-tests"

// signingKey is shared by every stand-in: RSA key generation is slow under -race.
var signingKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// env is a fan-out wired to a stand-in and to the Pub/Sub emulator, in a project of its own.
type env struct {
	server   *standin.Server
	lister   *efactori.Client
	pubsub   *pubsub.Client
	fanout   *fanout.Fanout
	taskSub  string // subscription on the copy task topic
	reqSub   string // subscription on the copy request topic
	requests int    // requests the env has pulled so far; see nextRequest
}

type envOptions struct {
	pageSize int
	// wrap, when set, sits between the lister and the stand-in.
	wrap func(http.Handler) http.Handler
	// noTaskTopic leaves the copy task topic uncreated, so every task publish fails.
	noTaskTopic bool
}

func newEnv(tb testing.TB, opts envOptions, companies ...standin.CompanySpec) *env {
	tb.Helper()
	s, err := standin.New(standin.Options{
		DevToken: devToken, Audience: "drivesync", SigningKey: signingKey(), Seed: 3, Companies: companies,
	})
	if err != nil {
		tb.Fatalf("stand-in: %v", err)
	}
	var h http.Handler = s
	if opts.wrap != nil {
		h = opts.wrap(s)
	}
	hs := httptest.NewServer(h)
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
	e := &env{server: s, lister: lister, pubsub: client,
		taskSub: project + "/subscriptions/tasks", reqSub: project + "/subscriptions/requests"}
	for _, ts := range []struct {
		topic, sub string
		skip       bool
	}{
		{config.TopicCopyTasks, e.taskSub, opts.noTaskTopic},
		{config.TopicCopyRequests, e.reqSub, false},
	} {
		if ts.skip {
			continue
		}
		topic := project + "/topics/" + ts.topic
		if _, err := client.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: topic}); err != nil {
			tb.Fatalf("create topic %s: %v", topic, err)
		}
		if _, err := client.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
			Name: ts.sub, Topic: topic, AckDeadlineSeconds: 600,
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
	pageSize := opts.pageSize
	if pageSize == 0 {
		pageSize = 100
	}
	e.fanout, err = fanout.New(lister, tasks, requests, pageSize)
	if err != nil {
		tb.Fatalf("fanout.New: %v", err)
	}
	return e
}

// pull pulls and acknowledges every message of sub, expecting exactly want of them: it waits
// until want have arrived, then checks that no more follow. A negative want takes whatever is
// there.
func pull(tb testing.TB, c *pubsub.Client, sub string, want int) []*pubsubpb.PubsubMessage {
	tb.Helper()
	return pullMessages(tb, c, sub, want, true)
}

// pullMessages pulls and acknowledges messages of sub until it has want; when exact, it then
// checks that no more follow.
func pullMessages(tb testing.TB, c *pubsub.Client, sub string, want int, exact bool) []*pubsubpb.PubsubMessage {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var got []*pubsubpb.PubsubMessage
	empties := 0
	for {
		if !exact && len(got) >= want {
			return got
		}
		resp, err := c.SubscriptionAdminClient.Pull(ctx, &pubsubpb.PullRequest{
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

func wantTasks(req drivesync.CopyRequest, docs []drivesync.Document) []drivesync.CopyTask {
	tasks := make([]drivesync.CopyTask, 0, len(docs))
	for _, d := range docs {
		tasks = append(tasks, drivesync.CopyTask{
			SchemaVersion: drivesync.CopyTaskSchemaVersion, CompanyID: req.CompanyID,
			ConnectionID: req.ConnectionID, RunID: req.RunID, Document: d,
		})
	}
	return tasks
}

func firstRequest(company string) drivesync.CopyRequest {
	return drivesync.CopyRequest{
		SchemaVersion: drivesync.CopyRequestSchemaVersion, CompanyID: company, ConnectionID: "conn-1", RunID: "run-7",
	}
}

// pageToken returns the stand-in's token for the page after the first n documents.
func pageToken(t *testing.T, e *env, company string, n int) string {
	t.Helper()
	page, err := e.lister.ListDocuments(t.Context(), company, "", n)
	if err != nil {
		t.Fatal(err)
	}
	return page.NextPageToken
}

func TestHandlePage(t *testing.T) {
	t.Parallel()
	small := standin.CompanySpec{ID: "small", Documents: 250}
	tests := []struct {
		name    string
		company standin.CompanySpec
		// skip is how many documents come before the page.
		skip      int
		wantTasks int
		wantNext  int // documents before the next page; 0: no next page
	}{
		{name: "first page", company: small, skip: 0, wantTasks: 100, wantNext: 100},
		{name: "middle page", company: small, skip: 100, wantTasks: 100, wantNext: 200},
		{name: "last page", company: small, skip: 200, wantTasks: 50},
		{name: "exactly one full page", company: standin.CompanySpec{ID: "hundred", Documents: 100}, wantTasks: 100},
		{name: "empty company", company: standin.Empty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{pageSize: 100}, tt.company)
			req := firstRequest(tt.company.ID)
			if tt.skip > 0 {
				req.PageToken = pageToken(t, e, tt.company.ID, tt.skip)
			}
			var wantNextToken string
			if tt.wantNext > 0 {
				wantNextToken = pageToken(t, e, tt.company.ID, tt.wantNext)
			}
			listsBefore := e.server.Requests(standin.EndpointList)

			res, err := e.fanout.HandlePage(t.Context(), req)
			if err != nil {
				t.Fatalf("HandlePage: %v", err)
			}
			if diff := cmp.Diff(fanout.Result{Listed: tt.wantTasks, NextPageToken: wantNextToken}, res); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if got, want := e.server.Requests(standin.EndpointList)-listsBefore, int64(1); got != want {
				t.Errorf("list requests = %d, want %d: one page per invocation", got, want)
			}
			docs, err := e.server.Documents(tt.company.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := wantTasks(req, docs[tt.skip:tt.skip+tt.wantTasks])
			if diff := cmp.Diff(want, decodeTasks(t, pull(t, e.pubsub, e.taskSub, tt.wantTasks))); diff != "" {
				t.Errorf("published tasks (-want +got):\n%s", diff)
			}
			var wantReqs []drivesync.CopyRequest
			if tt.wantNext > 0 {
				next := req
				next.PageToken = wantNextToken
				wantReqs = append(wantReqs, next)
			}
			if diff := cmp.Diff(wantReqs, decodeRequests(t, pull(t, e.pubsub, e.reqSub, len(wantReqs)))); diff != "" {
				t.Errorf("published requests (-want +got):\n%s", diff)
			}
		})
	}
}

// spoilKind makes the document at index i of every listed page invalid.
func spoilKind(i int) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasSuffix(r.URL.Path, "/documents") {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			var body map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			if docs, _ := body["documents"].([]any); len(docs) > i {
				docs[i].(map[string]any)["kind"] = "receipt"
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(body)
		})
	}
}

func TestHandlePageCountsInvalidDocuments(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{pageSize: 10, wrap: spoilKind(3)}, standin.CompanySpec{ID: "small", Documents: 10})
	req := firstRequest("small")
	res, err := e.fanout.HandlePage(t.Context(), req)
	if err != nil {
		t.Fatalf("HandlePage: %v", err)
	}
	docs, err := e.server.Documents("small")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := res.Listed, 10; got != want {
		t.Errorf("Listed = %d, want %d", got, want)
	}
	if got, want := res.Invalid, 1; got != want {
		t.Fatalf("Invalid = %d, want %d", got, want)
	}
	if got, want := res.InvalidDocuments[0].ID, docs[3].ID; got != want {
		t.Errorf("invalid document = %s, want %s", got, want)
	}
	want := wantTasks(req, slices.Delete(slices.Clone(docs), 3, 4))
	if diff := cmp.Diff(want, decodeTasks(t, pull(t, e.pubsub, e.taskSub, 9))); diff != "" {
		t.Errorf("published tasks (-want +got):\n%s", diff)
	}
}

func TestHandlePageErrors(t *testing.T) {
	t.Parallel()
	small := standin.CompanySpec{ID: "small", Documents: 20}
	tests := []struct {
		name      string
		opts      envOptions
		req       func(drivesync.CopyRequest) drivesync.CopyRequest
		wantClass drivesync.Class
		wantCode  string
		wantLists int64
	}{
		{
			name: "task topic missing", opts: envOptions{pageSize: 10, noTaskTopic: true},
			wantClass: drivesync.Retryable, wantCode: fanout.CodePublishFailed, wantLists: 1,
		},
		{
			name: "unknown company", opts: envOptions{pageSize: 10},
			req:       func(r drivesync.CopyRequest) drivesync.CopyRequest { r.CompanyID = "nobody"; return r },
			wantClass: drivesync.Permanent, wantCode: efactori.CodeUnknownCompany, wantLists: 1,
		},
		{
			name: "forged page token", opts: envOptions{pageSize: 10},
			req:       func(r drivesync.CopyRequest) drivesync.CopyRequest { r.PageToken = "forged"; return r },
			wantClass: drivesync.Permanent, wantCode: efactori.CodeInvalidPageToken, wantLists: 1,
		},
		{
			name: "invalid request", opts: envOptions{pageSize: 10},
			req:       func(r drivesync.CopyRequest) drivesync.CopyRequest { r.RunID = ""; return r },
			wantClass: drivesync.Permanent, wantCode: fanout.CodeInvalidRequest, wantLists: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tt.opts, small)
			req := firstRequest("small")
			if tt.req != nil {
				req = tt.req(req)
			}
			_, err := e.fanout.HandlePage(t.Context(), req)
			var ce *drivesync.ClassifiedError
			if !errors.As(err, &ce) {
				t.Fatalf("HandlePage error %v is not classified", err)
			}
			if got, want := [2]any{ce.Class, ce.Code}, [2]any{tt.wantClass, tt.wantCode}; got != want {
				t.Errorf("class, code = %v, want %v (error: %v)", got, want, err)
			}
			if got := e.server.Requests(standin.EndpointList); got != tt.wantLists {
				t.Errorf("list requests = %d, want %d", got, tt.wantLists)
			}
			// A failed page must not ask for the next one, or the chain would skip it.
			pull(t, e.pubsub, e.reqSub, 0)
			if !tt.opts.noTaskTopic {
				pull(t, e.pubsub, e.taskSub, 0)
			}
		})
	}
}

// followChain runs an initial copy of company from its first request, taking each next request
// from the copy request subscription as the copy engine would, and returns the number of pages
// and the total of the results.
func followChain(tb testing.TB, e *env, company string) (pages int, total fanout.Result) {
	tb.Helper()
	req := firstRequest(company)
	for {
		res, err := e.fanout.HandlePage(tb.Context(), req)
		if err != nil {
			tb.Fatalf("HandlePage page %d: %v", pages, err)
		}
		pages++
		total.Listed += res.Listed
		total.Invalid += res.Invalid
		if res.NextPageToken == "" {
			return pages, total
		}
		// Just the one expected: checking that no second follows would dominate the benchmark;
		// the caller checks the subscription is empty at the end.
		next := decodeRequests(tb, pullMessages(tb, e.pubsub, e.reqSub, 1, false))[0]
		if got, want := next.PageToken, res.NextPageToken; got != want {
			tb.Fatalf("page %d: published token %q, result says %q", pages, got, want)
		}
		req = next
	}
}

func TestFollowChainCopiesEveryDocumentOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{pageSize: 1000}, standin.Bulk)
	pages, total := followChain(t, e, "bulk")
	pull(t, e.pubsub, e.reqSub, 0)
	if got, want := pages, 5; got != want {
		t.Errorf("pages = %d, want %d", got, want)
	}
	if diff := cmp.Diff(fanout.Result{Listed: 5000}, total); diff != "" {
		t.Errorf("total (-want +got):\n%s", diff)
	}
	docs, err := e.server.Documents("bulk")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantTasks(firstRequest("bulk"), docs), decodeTasks(t, pull(t, e.pubsub, e.taskSub, 5000))); diff != "" {
		t.Errorf("published tasks (-want +got):\n%s", diff)
	}
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
		{"page size above the API's", lister, pub, pub, 1001},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := fanout.New(tt.lister, tt.tasks, tt.requests, tt.pageSize); err == nil {
				t.Error("New succeeded")
			}
		})
	}
	if _, err := fanout.NewTaskPublisher(nil, config.TopicCopyTasks); err == nil {
		t.Error("NewTaskPublisher(nil) succeeded")
	}
	if _, err := fanout.NewRequestPublisher(nil, config.TopicCopyRequests); err == nil {
		t.Error("NewRequestPublisher(nil) succeeded")
	}
}

// BenchmarkFanout100k runs the initial copy of a company of 100,000 documents: every page
// listed from the stand-in, every copy task published to the emulator and accepted, each next
// page taken from the copy request subscription. The target is 100,000 documents in under 60 s
// on a 2-core machine. Run it once with
//
//	go test ./shared/fanout/ -run '^$' -bench BenchmarkFanout100k -benchtime 1x
func BenchmarkFanout100k(b *testing.B) {
	companies, err := standin.ParseCompanies("fanout=100000")
	if err != nil {
		b.Fatal(err)
	}
	e := newEnv(b, envOptions{pageSize: efactori.MaxPageSize}, companies...)
	// eFactori keeps every document's digest; the stand-in computes them on first listing,
	// which is not part of the fan-out's cost.
	if _, err := e.server.Documents("fanout"); err != nil {
		b.Fatal(err)
	}
	docs := 0
	for b.Loop() {
		_, total := followChain(b, e, "fanout")
		if got, want := total, (fanout.Result{Listed: 100_000}); got.Listed != want.Listed || got.Invalid != 0 {
			b.Fatalf("total = %+v, want %+v", got, want)
		}
		docs += total.Listed
	}
	b.ReportMetric(float64(docs)/b.Elapsed().Seconds(), "docs/s")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/100k")
	// The tasks are checked for count only: decoding 100,000 of them would measure the test.
	b.StopTimer()
	pull(b, e.pubsub, e.reqSub, 0)
	if got, want := countMessages(b, e.pubsub, e.taskSub), docs; got != want {
		b.Errorf("the task subscription holds %d messages, want %d", got, want)
	}
}

// countMessages pulls and acknowledges every message of sub and counts them.
func countMessages(tb testing.TB, c *pubsub.Client, sub string) int {
	tb.Helper()
	return len(pull(tb, c, sub, -1)) // -1: any number
}
