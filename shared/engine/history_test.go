package engine_test

import (
	"errors"
	"net/http"
	"testing"

	standin "github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/shared/config"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/efactori"
	"github.com/efactori/drivesync/shared/fanout"
	"github.com/efactori/drivesync/shared/history"
	"github.com/efactori/drivesync/shared/store"
)

// hist returns the document history on e's store, publishing on e's copy-task topic.
func (e *env) hist(t *testing.T) *history.Service {
	t.Helper()
	tasks, err := fanout.NewTaskPublisher(e.pubsub, config.TopicCopyTasks)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tasks.Stop)
	retrier, err := fanout.NewRetrier(tasks)
	if err != nil {
		t.Fatal(err)
	}
	h, err := history.New(e.store, retrier)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// tasks drains the copy-task topic and decodes what it held.
func (e *env) tasks(t *testing.T) []drivesync.CopyTask {
	t.Helper()
	var out []drivesync.CopyTask
	for _, data := range e.drain(t, e.taskSub) {
		task, err := drivesync.DecodeCopyTask(data)
		if err != nil {
			t.Fatalf("copy task %s: %v", data, err)
		}
		out = append(out, task)
	}
	return out
}

// failInRun makes the run's copy task of docID fail for real: eFactori answers 410 for its
// content, a permanent failure the engine records on the mapping, for the run.
func (e *env) failInRun(t *testing.T, runID string, doc drivesync.Document) {
	t.Helper()
	if err := e.efa.FailContent(1, http.StatusGone); err != nil {
		t.Fatal(err)
	}
	if err := e.engine.HandleTask(e.ctx, e.task(doc, runID)); err != nil {
		t.Fatalf("task of %s: %v, want its failure recorded", doc.ID, err)
	}
	m := e.mapping(t, doc.ID)
	if m.State != store.MappingFailed || m.Code != efactori.CodeContentGone || m.RunID != runID {
		t.Fatalf("mapping of %s = %s %q run %q, want failed %s in run %s", doc.ID, m.State, m.Code, m.RunID, efactori.CodeContentGone, runID)
	}
}

// A document that failed in a run, retried from the history once the cause is gone, ends in
// Drive exactly once; before the retry flag, the run's own task took the failure as final.
func TestRetryCopiesAFailedDocumentOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{topics: true})
	h := e.hist(t)
	runID := e.get(t).InitialCopy.RunID
	ev := e.upsert(t, "acme-a", standin.Upsert{Kind: drivesync.KindSalesInvoice, Number: "F-1", Date: "2026-03-14"})
	e.failInRun(t, runID, ev.Document)

	// The engine kept what the history shows and a retry copies, on the writes it made anyway.
	m := e.mapping(t, "acme-a")
	if m.Source != ev.Document {
		t.Errorf("source = %+v, want the task's document %+v", m.Source, ev.Document)
	}
	if !m.SyncedAt.IsZero() {
		t.Errorf("syncedAt = %v for a document never in Drive", m.SyncedAt)
	}

	// The run's task again, without the retry flag: the failure is final within the run.
	before := e.calls()
	if err := e.engine.HandleTask(e.ctx, e.task(ev.Document, runID)); err != nil {
		t.Fatal(err)
	}
	if got := e.mapping(t, "acme-a"); got.State != store.MappingFailed || e.calls() != before {
		t.Fatalf("plain redelivery: %s with %d Drive calls, want failed and none", got.State, e.calls()-before)
	}

	if _, err := h.RetryDocument(e.ctx, company, e.conn.ID, "acme-a"); err != nil {
		t.Fatalf("RetryDocument: %v", err)
	}
	tasks := e.tasks(t)
	if len(tasks) != 1 {
		t.Fatalf("%d copy tasks published, want 1", len(tasks))
	}
	task := tasks[0]
	if !task.Retry || !task.Verify || task.RunID != runID || task.Document != ev.Document {
		t.Fatalf("task = %+v, want retry and verify of the document in run %s", task, runID)
	}
	// Delivered twice, as Pub/Sub may: one file.
	for i := range 2 {
		if err := e.engine.HandleTask(e.ctx, task); err != nil {
			t.Fatalf("retry delivery %d: %v", i+1, err)
		}
	}
	m = e.mapping(t, "acme-a")
	if m.State != store.MappingSynced || m.Code != "" || !m.Created || m.SyncedAt.IsZero() {
		t.Errorf("after the retry: %s %q created %v syncedAt %v, want synced with a time", m.State, m.Code, m.Created, m.SyncedAt)
	}
	files := contents(e.companyFolder(t))
	if n := countFiles(files); n != 1 {
		t.Fatalf("%d files in Drive, want 1", n)
	}
	for _, it := range files {
		if !it.node.Folder && it.node.ID != m.FileID {
			t.Errorf("file %s in Drive, mapping says %s", it.node.ID, m.FileID)
		}
	}

	// Nothing is left to retry.
	if _, err := h.RetryDocument(e.ctx, company, e.conn.ID, "acme-a"); !errors.Is(err, history.ErrNothingToRetry) {
		t.Errorf("retry of a synced document: %v, want ErrNothingToRetry", err)
	}
	if got := e.tasks(t); len(got) != 0 {
		t.Errorf("%d tasks published for a synced document", len(got))
	}
}

// RetryFailed retries every failed document of the connection, and only those.
func TestRetryFailedRetriesEveryFailedDocument(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{topics: true})
	h := e.hist(t)
	runID := e.get(t).InitialCopy.RunID
	failed := map[string]drivesync.Document{}
	for _, id := range []string{"acme-b", "acme-c"} {
		ev := e.upsert(t, id, standin.Upsert{Kind: drivesync.KindCreditNote, Number: "AV-" + id, Date: "2026-04-01"})
		e.failInRun(t, runID, ev.Document)
		failed[id] = ev.Document
	}
	ok := e.upsert(t, "acme-d", standin.Upsert{Kind: drivesync.KindQuote, Number: "D-1", Date: "2026-04-02"})
	retry(t, "event", func() error { return e.engine.HandleEvent(e.ctx, ok) })

	res, err := h.RetryFailed(e.ctx, company, e.conn.ID)
	if err != nil {
		t.Fatalf("RetryFailed: %v", err)
	}
	if res != (history.Retried{Retried: 2}) {
		t.Errorf("RetryFailed = %+v, want 2 retried", res)
	}
	tasks := e.tasks(t)
	if len(tasks) != 2 {
		t.Fatalf("%d tasks, want 2", len(tasks))
	}
	for _, task := range tasks {
		if doc, ok := failed[task.Document.ID]; !ok || doc != task.Document || !task.Retry {
			t.Errorf("task of %s (retry %v): not one of the failed documents as they were", task.Document.ID, task.Retry)
		}
		if err := e.engine.HandleTask(e.ctx, task); err != nil {
			t.Fatalf("task of %s: %v", task.Document.ID, err)
		}
	}
	for id := range failed {
		if m := e.mapping(t, id); m.State != store.MappingSynced {
			t.Errorf("%s: %s after the retry, want synced", id, m.State)
		}
	}
	if n := countFiles(contents(e.companyFolder(t))); n != 3 {
		t.Errorf("%d files in Drive, want 3", n)
	}
	if res, err := h.RetryFailed(e.ctx, company, e.conn.ID); err != nil || res != (history.Retried{}) {
		t.Errorf("second RetryFailed = %+v, %v; want nothing retried", res, err)
	}
}
