package syncdocument_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/go-cmp/cmp"

	"github.com/efactori/drivesync/functions/syncdocument"
	"github.com/efactori/drivesync/shared/config"
	"github.com/efactori/drivesync/shared/drivesync"
)

type fakeEngine struct {
	mu     sync.Mutex
	events []drivesync.Event
	tasks  []drivesync.CopyTask
	err    error
}

func (f *fakeEngine) HandleEvent(_ context.Context, ev drivesync.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, ev)
	return f.err
}

func (f *fakeEngine) HandleTask(_ context.Context, t drivesync.CopyTask) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tasks = append(f.tasks, t)
	return f.err
}

// secretTitle stands for document content, which no log line may hold.
const secretTitle = "Facture confidentielle Dupont"

var doc = drivesync.Document{
	ID: "doc-1", Revision: 3, Kind: drivesync.KindSalesInvoice, Number: "F-2026-001", Date: "2026-03-14",
	Title: secretTitle, FileName: "F-2026-001.pdf", ContentType: "application/pdf", Size: 1234,
	SHA256:     strings.Repeat("ab", 32),
	ContentURL: "https://api.efactori.example/v1/companies/acme/documents/doc-1/revisions/3/content",
}

var ev = drivesync.Event{SchemaVersion: 1, EventID: "ev-1", EventType: drivesync.EventUpserted,
	OccurredAt: time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC), CompanyID: "acme", Document: doc}

var task = drivesync.CopyTask{SchemaVersion: 1, CompanyID: "acme", ConnectionID: "c1", RunID: "r1", Document: doc}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// cloudEvent builds what Eventarc (or the functions framework, from a push) delivers.
func cloudEvent(t *testing.T, topic string, data []byte, attrs map[string]string) event.Event {
	t.Helper()
	e := event.New()
	e.SetID("ce-1")
	e.SetType("google.cloud.pubsub.topic.v1.messagePublished")
	e.SetSource("//pubsub.googleapis.com/projects/p1/topics/" + topic)
	body := mustJSON(t, map[string]any{
		"message":      map[string]any{"data": base64.StdEncoding.EncodeToString(data), "attributes": attrs, "messageId": "m-1"},
		"subscription": "projects/p1/subscriptions/s",
	})
	if err := e.SetData("application/json", body); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestHandle(t *testing.T) {
	t.Parallel()
	evJSON, taskJSON := mustJSON(t, ev), mustJSON(t, task)
	future := bytes.Replace(evJSON, []byte(`"schemaVersion":1`), []byte(`"schemaVersion":2`), 1)
	tests := []struct {
		name       string
		e          func(t *testing.T) event.Event
		engineErr  error
		wantEvents []drivesync.Event
		wantTasks  []drivesync.CopyTask
		wantErr    bool
		wantLog    string
	}{
		{
			name: "document event by topic",
			e: func(t *testing.T) event.Event {
				return cloudEvent(t, config.TopicDocumentEvents, evJSON, ev.Attributes())
			},
			wantEvents: []drivesync.Event{ev},
		},
		{
			name:      "copy task by topic",
			e:         func(t *testing.T) event.Event { return cloudEvent(t, config.TopicCopyTasks, taskJSON, nil) },
			wantTasks: []drivesync.CopyTask{task},
		},
		{
			name:       "document event from another topic, told by its attributes",
			e:          func(t *testing.T) event.Event { return cloudEvent(t, "replay", evJSON, ev.Attributes()) },
			wantEvents: []drivesync.Event{ev},
		},
		{
			name:      "copy task from another topic, told by its attributes",
			e:         func(t *testing.T) event.Event { return cloudEvent(t, "replay", taskJSON, task.Attributes()) },
			wantTasks: []drivesync.CopyTask{task},
		},
		{
			name:    "unknown topic without attributes is dropped",
			e:       func(t *testing.T) event.Event { return cloudEvent(t, "replay", evJSON, nil) },
			wantLog: "message of an unknown topic dropped",
		},
		{
			name:    "a copy task on the events topic is invalid and dropped",
			e:       func(t *testing.T) event.Event { return cloudEvent(t, config.TopicDocumentEvents, taskJSON, nil) },
			wantLog: "invalid document event dropped",
		},
		{
			name:    "an unsupported schema version is dropped",
			e:       func(t *testing.T) event.Event { return cloudEvent(t, config.TopicDocumentEvents, future, nil) },
			wantLog: "invalid document event dropped",
		},
		{
			name: "malformed cloudevent data is dropped",
			e: func(t *testing.T) event.Event {
				e := cloudEvent(t, config.TopicCopyTasks, taskJSON, nil)
				_ = e.SetData("application/json", []byte(`{"message":`))
				return e
			},
			wantLog: "malformed pub/sub event dropped",
		},
		{
			name:      "a retryable engine failure goes back to pub/sub",
			e:         func(t *testing.T) event.Event { return cloudEvent(t, config.TopicCopyTasks, taskJSON, nil) },
			engineErr: drivesync.Classify(errors.New("drive 503"), drivesync.Retryable, "backendError"),
			wantTasks: []drivesync.CopyTask{task},
			wantErr:   true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			eng := &fakeEngine{err: tt.engineErr}
			h, err := syncdocument.NewHandler(eng, slog.New(slog.NewJSONHandler(&logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			err = h.Handle(t.Context(), tt.e(t))
			if got := err != nil; got != tt.wantErr {
				t.Fatalf("Handle error = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr && drivesync.ClassOf(err) != drivesync.Retryable {
				t.Errorf("class of %v = %v, want the engine's", err, drivesync.ClassOf(err))
			}
			if diff := cmp.Diff(tt.wantEvents, eng.events); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantTasks, eng.tasks); diff != "" {
				t.Errorf("tasks (-want +got):\n%s", diff)
			}
			if !strings.Contains(logs.String(), tt.wantLog) {
				t.Errorf("logs %q do not say %q", logs.String(), tt.wantLog)
			}
			if strings.Contains(logs.String(), secretTitle) || strings.Contains(logs.String(), base64.StdEncoding.EncodeToString(taskJSON)) {
				t.Errorf("logs hold document content: %s", logs.String())
			}
		})
	}
}

func TestNewHandlerRejectsNil(t *testing.T) {
	t.Parallel()
	if _, err := syncdocument.NewHandler(nil, slog.New(slog.DiscardHandler)); err == nil {
		t.Error("NewHandler accepted a nil engine")
	}
	if _, err := syncdocument.NewHandler(&fakeEngine{}, nil); err == nil {
		t.Error("NewHandler accepted a nil logger")
	}
}

// A function whose configuration is broken must not acknowledge: the message is kept for a
// retry once the deployment is fixed.
func TestNewReportsConfiguration(t *testing.T) {
	t.Parallel()
	_, err := syncdocument.New(t.Context(), func(string) (string, bool) { return "", false })
	if err == nil || !strings.Contains(err.Error(), "EFACTORI_DOCUMENTS_URL is required") {
		t.Errorf("New with an empty environment: %v", err)
	}
}

func FuzzHandle(f *testing.F) {
	f.Add(config.TopicDocumentEvents, []byte(`{"schemaVersion":1}`), "eventType")
	f.Add(config.TopicCopyTasks, []byte(`{"schemaVersion":1,"companyId":"a"}`), "runId")
	f.Add("other", []byte(`[]`), "")
	f.Fuzz(func(t *testing.T, topic string, data []byte, attr string) {
		h, err := syncdocument.NewHandler(&fakeEngine{}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		// Malformed input is never an error: it would be redelivered forever.
		if err := h.Handle(context.Background(), cloudEvent(t, topic, data, map[string]string{attr: "x"})); err != nil {
			t.Fatalf("Handle: %v", err)
		}
	})
}
