package connections_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"

	"github.com/efactori/drivesync/local/emulators"
	"github.com/efactori/drivesync/shared/config"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/store"
)

// documentJSON is a document of the history as a client reads it.
type documentJSON struct {
	DocumentID string  `json:"documentId"`
	Number     *string `json:"number"`
	Kind       *string `json:"kind"`
	FileName   *string `json:"fileName"`
	State      string  `json:"state"`
	Failure    *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"failure"`
	Revision  *int64 `json:"revision"`
	DriveFile *struct {
		ID          string `json:"id"`
		WebViewLink string `json:"webViewLink"`
	} `json:"driveFile"`
	LastSyncedAt *time.Time `json:"lastSyncedAt"`
}

type documentListJSON struct {
	Documents     []documentJSON `json:"documents"`
	NextPageToken *string        `json:"nextPageToken"`
}

// seedDocuments writes n mappings into acme's connection id as the copy engine does (lease,
// then outcome): every fifth failed, every seventh of the others pending on the customer, the
// rest synced. Each write is a second after the previous one, so doc-n is the newest.
func seedDocuments(t *testing.T, s *stack, id string, n int) {
	t.Helper()
	var tick atomic.Int64
	start := time.Now().UTC().Truncate(time.Second)
	st, err := store.New(s.fs, func() time.Time { return start.Add(time.Duration(tick.Add(1)) * time.Second) })
	if err != nil {
		t.Fatal(err)
	}
	k := store.ConnectionKey{CompanyID: acme, ID: id}
	for i := 1; i <= n; i++ {
		docID := fmt.Sprintf("doc-%02d", i)
		doc := drivesync.Document{ID: docID, Revision: 1, Kind: drivesync.KindSalesInvoice, Number: fmt.Sprintf("F2026-%04d", i),
			Date: "2026-01-02", ContentType: "application/pdf", Size: 10, SHA256: strings.Repeat("0f", 32),
			ContentURL: "https://efactori.example/v1/documents/" + docID + "/content?revision=1"}
		m, ok, err := st.LockMapping(t.Context(), k, store.Mapping{DocumentID: docID}, "seed", time.Minute, func(m *store.Mapping) { m.Saw(doc) })
		if err != nil || !ok {
			t.Fatalf("lock %s: %v %v", docID, ok, err)
		}
		if _, err := st.FinishMapping(t.Context(), k, m, "seed", func(m *store.Mapping) error {
			switch {
			case i%5 == 0:
				m.Revision, m.SHA256, m.State, m.Code = 1, doc.SHA256, store.MappingFailed, "content_gone"
			case i%7 == 0:
				m.State, m.Code = store.MappingPending, "storageQuotaExceeded"
			default:
				m.FileID, m.Created, m.Revision, m.SHA256 = fmt.Sprintf("1file%02d", i), true, 1, doc.SHA256
				m.Name, m.State, m.SyncedAt = doc.Number+".pdf", store.MappingSynced, start
			}
			return nil
		}); err != nil {
			t.Fatalf("finish %s: %v", docID, err)
		}
	}
}

// copyTasks creates the copy-task topic in the stack's project, with a subscription to drain.
func copyTasks(t *testing.T, s *stack) (drain func() []drivesync.CopyTask) {
	t.Helper()
	project := strings.TrimSuffix(strings.TrimPrefix(s.copies.String(), "projects/"), "/subscriptions/copies")
	ps := emulators.PubSub(t)
	topic := "projects/" + project + "/topics/" + config.TopicCopyTasks
	sub := "projects/" + project + "/subscriptions/tasks"
	if _, err := ps.TopicAdminClient.CreateTopic(t.Context(), &pubsubpb.Topic{Name: topic}); err != nil {
		t.Fatalf("create topic: %v", err)
	}
	if _, err := ps.SubscriptionAdminClient.CreateSubscription(t.Context(), &pubsubpb.Subscription{Name: sub, Topic: topic}); err != nil {
		t.Fatalf("create subscription: %v", err)
	}
	return func() []drivesync.CopyTask {
		var out []drivesync.CopyTask
		for empties := 0; empties < 3; {
			//lint:ignore SA1019 a test draining the emulator needs the empty answer at once
			resp, err := ps.SubscriptionAdminClient.Pull(t.Context(), &pubsubpb.PullRequest{Subscription: sub, MaxMessages: 1000, ReturnImmediately: true})
			if err != nil {
				t.Fatalf("pull: %v", err)
			}
			if len(resp.ReceivedMessages) == 0 {
				empties++
				time.Sleep(50 * time.Millisecond)
				continue
			}
			var ids []string
			for _, m := range resp.ReceivedMessages {
				task, err := drivesync.DecodeCopyTask(m.Message.Data)
				if err != nil {
					t.Fatalf("copy task: %v", err)
				}
				out = append(out, task)
				ids = append(ids, m.AckId)
			}
			if err := ps.SubscriptionAdminClient.Acknowledge(t.Context(), &pubsubpb.AcknowledgeRequest{Subscription: sub, AckIds: ids}); err != nil {
				t.Fatalf("ack: %v", err)
			}
		}
		return out
	}
}

// TestDocumentHistory drives the document history through the Connections function on the
// emulators: listing, filters, paging, validation, tenancy, and retries.
func TestDocumentHistory(t *testing.T) {
	t.Parallel()
	s := newStack(t, true)
	drain := copyTasks(t, s)
	boss := s.token(t, acme, acmeName, []string{manageRole})
	clerk := s.token(t, acme, acmeName, []string{"documents:read"})
	rival := s.token(t, globex, "Globex", []string{manageRole})

	s.call(t, "PUT", "/v1/integration", boss, map[string]any{"enabled": true}, 200, nil)
	var created struct {
		Connection       connectionJSON `json:"connection"`
		AuthorizationURL string         `json:"authorizationUrl"`
	}
	s.call(t, "POST", "/v1/connections", boss, map[string]any{"name": "Compta", "folderLayout": "year"}, 201, &created)
	id := created.Connection.ID
	wantFrontend(t, s.send(t, "GET", s.consent(t, created.AuthorizationURL, true).String(), "", "text/html", nil), id, "ok")
	root, err := s.google.Drive.RootID(alice)
	if err != nil {
		t.Fatal(err)
	}
	s.call(t, "PUT", "/v1/connections/"+id+"/target", boss, map[string]any{"folderId": root}, 200, nil)
	runID := s.runID(t, id)
	const n = 25
	seedDocuments(t, s, id, n)
	base := "/v1/connections/" + id + "/documents"

	// Every document, newest change first, through pages of 10.
	var all []documentJSON
	pages := 0
	for next := base + "?pageSize=10"; next != ""; pages++ {
		var page documentListJSON
		s.call(t, "GET", next, clerk, nil, 200, &page)
		all = append(all, page.Documents...)
		next = ""
		if page.NextPageToken != nil {
			next = base + "?pageSize=10&pageToken=" + url.QueryEscape(*page.NextPageToken)
		}
	}
	if pages != 3 || len(all) != n {
		t.Fatalf("%d documents in %d pages, want %d in 3", len(all), pages, n)
	}
	for i, d := range all {
		if want := fmt.Sprintf("doc-%02d", n-i); d.DocumentID != want {
			t.Fatalf("document %d is %s, want %s (newest first)", i, d.DocumentID, want)
		}
	}
	byID := map[string]documentJSON{}
	for _, d := range all {
		byID[d.DocumentID] = d
	}
	if d := byID["doc-05"]; d.State != "failed" || d.Failure == nil || d.Failure.Code != "content_gone" || d.Failure.Message == "" ||
		d.DriveFile != nil || d.LastSyncedAt != nil || d.Number == nil || *d.Number != "F2026-0005" || d.Kind == nil || *d.Kind != "sales_invoice" ||
		d.Revision == nil || *d.Revision != 1 {
		t.Errorf("failed document = %+v", d)
	}
	if d := byID["doc-07"]; d.State != "pending" || d.Failure == nil || d.Failure.Code != "storageQuotaExceeded" {
		t.Errorf("pending document = %+v", d)
	}
	if d := byID["doc-01"]; d.State != "synced" || d.Failure != nil || d.DriveFile == nil ||
		d.DriveFile.WebViewLink != "https://drive.google.com/file/d/1file01/view" || d.LastSyncedAt == nil ||
		d.FileName == nil || *d.FileName != "F2026-0001.pdf" {
		t.Errorf("synced document = %+v", d)
	}

	// Filters: by state, and by number prefix (any case), paged too.
	list := func(query string) []string {
		t.Helper()
		var ids []string
		for next := base + "?" + query; next != ""; {
			var page documentListJSON
			s.call(t, "GET", next, clerk, nil, 200, &page)
			for _, d := range page.Documents {
				ids = append(ids, d.DocumentID)
			}
			next = ""
			if page.NextPageToken != nil {
				next = base + "?" + query + "&pageToken=" + url.QueryEscape(*page.NextPageToken)
			}
		}
		return ids
	}
	if got, want := strings.Join(list("state=failed&pageSize=2"), " "), "doc-25 doc-20 doc-15 doc-10 doc-05"; got != want {
		t.Errorf("failed: %s, want %s", got, want)
	}
	if got, want := strings.Join(list("state=pending"), " "), "doc-21 doc-14 doc-07"; got != want {
		t.Errorf("pending: %s, want %s", got, want)
	}
	if got, want := strings.Join(list("number=f2026-001&pageSize=4"), " "),
		"doc-10 doc-11 doc-12 doc-13 doc-14 doc-15 doc-16 doc-17 doc-18 doc-19"; got != want {
		t.Errorf("number f2026-001: %s, want %s", got, want)
	}
	if got, want := strings.Join(list("number=F2026-001&state=failed"), " "), "doc-10 doc-15"; got != want {
		t.Errorf("failed F2026-001: %s, want %s", got, want)
	}
	if got := list("number=X"); len(got) != 0 {
		t.Errorf("number X: %v, want none", got)
	}

	// One document, and its absence.
	var one documentJSON
	s.call(t, "GET", base+"/doc-07", clerk, nil, 200, &one)
	if one.DocumentID != "doc-07" || one.State != "pending" {
		t.Errorf("GET doc-07 = %+v", one)
	}
	wantProblem(t, "unknown document", s.send(t, "GET", s.api+base+"/nope", clerk, "", nil), 404, "not-found")

	// Invalid queries are 400 problems naming the parameter.
	var first documentListJSON
	s.call(t, "GET", base+"?state=failed&pageSize=1", clerk, nil, 200, &first)
	for _, q := range []string{"state=done", "pageSize=0", "pageSize=101", "pageSize=ten", "pageSize=+5", "number=%20",
		"number=" + strings.Repeat("9", 101), "sort=number", "state=failed&state=pending", "pageToken=garbage",
		"pageToken=" + url.QueryEscape(*first.NextPageToken), // issued for state=failed
		"state=pending&pageToken=" + url.QueryEscape(*first.NextPageToken),
		"state=failed&pageToken=" + url.QueryEscape(strings.Replace(*first.NextPageToken, ".", "x.", 1)),
	} {
		r := s.send(t, "GET", s.api+base+"?"+q, clerk, "", nil)
		wantProblem(t, q, r, 400, "validation")
		var p struct {
			Errors []struct{ Pointer string } `json:"errors"`
		}
		if err := json.Unmarshal(r.body, &p); err != nil || len(p.Errors) == 0 || !strings.HasPrefix(p.Errors[0].Pointer, "/") {
			t.Errorf("%s: %s names no parameter", q, r.body)
		}
	}
	s.call(t, "GET", base+"?state=failed&pageToken="+url.QueryEscape(*first.NextPageToken), clerk, nil, 200, nil)

	// Another company sees none of it.
	for _, rt := range [][2]string{{"GET", base}, {"GET", base + "/doc-05"}, {"POST", base + "/doc-05/retry"}, {"POST", base + ":retryFailed"}} {
		wantProblem(t, "rival "+rt[0]+" "+rt[1], s.send(t, rt[0], s.api+rt[1], rival, "", nil), 404, "not-found")
	}
	if got := drain(); len(got) != 0 {
		t.Fatalf("%d copy tasks published before any retry", len(got))
	}

	// Retry: the manage role only; a synced document has nothing to retry; a failed one gets
	// a copy task with verify and retry in the connection's run.
	wantProblem(t, "clerk retry", s.send(t, "POST", s.api+base+"/doc-05/retry", clerk, "", nil), 403, "forbidden")
	wantProblem(t, "retry synced", s.send(t, "POST", s.api+base+"/doc-01/retry", boss, "", nil), 409, "nothing-to-retry")
	wantProblem(t, "retry unknown", s.send(t, "POST", s.api+base+"/nope/retry", boss, "", nil), 404, "not-found")
	s.call(t, "POST", base+"/doc-05/retry", boss, nil, 202, &one)
	if one.DocumentID != "doc-05" || one.State != "failed" {
		t.Errorf("retry answered %+v, want the document as it stands", one)
	}
	tasks := drain()
	if len(tasks) != 1 || tasks[0].Document.ID != "doc-05" || !tasks[0].Retry || !tasks[0].Verify || tasks[0].RunID != runID ||
		tasks[0].CompanyID != acme || tasks[0].ConnectionID != id {
		t.Fatalf("retry published %+v, want one retry task of doc-05 in run %s", tasks, runID)
	}
	s.call(t, "POST", base+"/doc-07/retry", boss, nil, 202, nil) // pending on the customer
	if tasks := drain(); len(tasks) != 1 || tasks[0].Document.ID != "doc-07" {
		t.Errorf("retry of a pending document published %+v", tasks)
	}

	// Retry every failed one.
	var retried struct {
		Retried      int  `json:"retried"`
		NotRetryable int  `json:"notRetryable"`
		More         bool `json:"more"`
	}
	s.call(t, "POST", base+":retryFailed", boss, nil, 202, &retried)
	if retried.Retried != 5 || retried.NotRetryable != 0 || retried.More {
		t.Errorf("retryFailed = %+v, want 5 retried", retried)
	}
	seen := map[string]bool{}
	for _, task := range drain() {
		seen[task.Document.ID] = task.Retry
	}
	if len(seen) != 5 || !seen["doc-05"] || !seen["doc-10"] || !seen["doc-15"] || !seen["doc-20"] || !seen["doc-25"] {
		t.Errorf("retryFailed published tasks for %v", seen)
	}

	// Only an active connection retries.
	var waiting struct {
		Connection connectionJSON `json:"connection"`
	}
	s.call(t, "POST", "/v1/connections", boss, map[string]any{"name": "Archives", "folderLayout": "year"}, 201, &waiting)
	wantProblem(t, "retryFailed while awaiting consent", s.send(t, "POST", s.api+"/v1/connections/"+waiting.Connection.ID+"/documents:retryFailed", boss, "", nil),
		409, "connection-not-active")
	s.call(t, "PUT", "/v1/integration", boss, map[string]any{"enabled": false}, 200, nil)
	wantProblem(t, "retry with the integration off", s.send(t, "POST", s.api+base+"/doc-05/retry", boss, "", nil), 409, "integration-disabled")
	if got := drain(); len(got) != 0 {
		t.Errorf("%d copy tasks published by refused retries", len(got))
	}
}
