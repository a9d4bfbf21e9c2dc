package engine_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	standin "github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/local/googleemu/driveemu"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/engine"
	"github.com/efactori/drivesync/shared/logging"
)

// logLines collects what an engine logs, as Cloud Logging would receive it.
type logLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// with returns the JSON lines whose message is msg.
func (l *logLines) with(t *testing.T, msg string) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(l.buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		if m["message"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// loggingEngine is another engine on e's dependencies that logs at INFO into the returned lines,
// with the production logger.
func (e *env) loggingEngine(t *testing.T) (*engine.Engine, *logLines) {
	t.Helper()
	lines := &logLines{}
	opts := e.opts
	opts.Logger = logging.New(lines, logging.Options{Level: slog.LevelInfo})
	en, err := engine.New(opts)
	if err != nil {
		t.Fatalf("engine.New: %v", err)
	}
	return en, lines
}

// The delivery that writes a document event to Drive logs its lag from the event's occurrence,
// the field terraform/slo.tf turns into the SLO's distribution; without runId, which marks copy
// tasks.
func TestDocumentEventLogsLagToDrive(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	en, lines := e.loggingEngine(t)
	ev := e.upsert(t, "acme-lag", standin.Upsert{Kind: drivesync.KindSalesInvoice, Number: "F-1", Date: "2026-03-14"})
	const lag = 42 * time.Second
	e.clock.Advance(ev.OccurredAt.Add(lag).Sub(e.clock.Now()))
	retry(t, "event", func() error { return en.HandleEvent(e.ctx, ev) })

	copied := lines.with(t, "document copied")
	if len(copied) != 1 {
		t.Fatalf("%d \"document copied\" lines, want 1", len(copied))
	}
	if got, want := copied[0][logging.FieldDriveLagMs], float64(lag.Milliseconds()); got != want {
		t.Errorf("%s = %v, want %v", logging.FieldDriveLagMs, got, want)
	}
	if got, ok := copied[0][logging.FieldRunID]; ok {
		t.Errorf("a document event's line carries %s = %v", logging.FieldRunID, got)
	}
}

// A copy task's lag runs from the start of its run, and its line names the run.
func TestCopyTaskLogsLagFromRunStart(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{documents: 1, topics: true})
	en, lines := e.loggingEngine(t)
	doc := e.documents(t)[0]
	// The run starts when InitialCopy takes its first request.
	req := drivesync.CopyRequest{SchemaVersion: drivesync.CopyRequestSchemaVersion, CompanyID: company,
		ConnectionID: e.conn.ID, RunID: e.conn.InitialCopy.RunID}
	retry(t, "copy request", func() error { return e.engine.HandleCopyRequest(e.ctx, req) })
	run := e.get(t).InitialCopy
	if run.StartedAt.IsZero() {
		t.Fatal("the connection's run has no start time")
	}
	e.clock.Advance(run.StartedAt.Add(3 * time.Minute).Sub(e.clock.Now()))
	retry(t, "task", func() error { return en.HandleTask(e.ctx, e.task(doc, run.RunID)) })

	copied := lines.with(t, "document copied")
	if len(copied) != 1 {
		t.Fatalf("%d \"document copied\" lines, want 1", len(copied))
	}
	if got, want := copied[0][logging.FieldDriveLagMs], float64((3 * time.Minute).Milliseconds()); got != want {
		t.Errorf("%s = %v, want %v", logging.FieldDriveLagMs, got, want)
	}
	if got := copied[0][logging.FieldRunID]; got != run.RunID {
		t.Errorf("%s = %v, want %s", logging.FieldRunID, got, run.RunID)
	}
}

// A refusal is logged with its reason under the field the refusals metric is labelled by.
func TestRefusalLogsItsReason(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	en, lines := e.loggingEngine(t)
	if err := e.emu.Drive.FailNext("upload:multipart", 100, driveemu.Fault{Kind: driveemu.FaultDailyLimit}); err != nil {
		t.Fatal(err)
	}
	ev := e.upsert(t, "acme-refused", standin.Upsert{Kind: drivesync.KindSalesInvoice, Number: "F-2", Date: "2026-03-14"})
	if err := en.HandleEvent(e.ctx, ev); err == nil {
		t.Fatal("HandleEvent succeeded while Drive refused every upload")
	}
	refused := lines.with(t, "document not copied yet; retry")
	if len(refused) == 0 {
		t.Fatal("no refusal logged")
	}
	if got, want := refused[0][logging.FieldErrorCode], string(driveemu.FaultDailyLimit); got != want {
		t.Errorf("%s = %v, want %s", logging.FieldErrorCode, got, want)
	}
	if got := lines.with(t, "document copied"); len(got) != 0 {
		t.Errorf("a refused delivery logged %d \"document copied\" lines", len(got))
	}
}
