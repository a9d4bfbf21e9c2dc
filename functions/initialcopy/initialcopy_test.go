package initialcopy_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/go-cmp/cmp"

	"github.com/efactori/drivesync/functions/initialcopy"
	"github.com/efactori/drivesync/shared/config"
	"github.com/efactori/drivesync/shared/drivesync"
)

type fakeEngine struct {
	got []drivesync.CopyRequest
	err error
}

func (f *fakeEngine) HandleCopyRequest(_ context.Context, r drivesync.CopyRequest) error {
	f.got = append(f.got, r)
	return f.err
}

var req = drivesync.CopyRequest{SchemaVersion: 1, CompanyID: "acme", ConnectionID: "c1", RunID: "r1", PageToken: "p2"}

func cloudEvent(t testing.TB, data []byte) event.Event {
	t.Helper()
	e := event.New()
	e.SetID("ce-1")
	e.SetType("google.cloud.pubsub.topic.v1.messagePublished")
	e.SetSource("//pubsub.googleapis.com/projects/p1/topics/" + config.TopicCopyRequests)
	body, err := json.Marshal(map[string]any{"message": map[string]any{"data": base64.StdEncoding.EncodeToString(data), "messageId": "m-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SetData("application/json", body); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestHandle(t *testing.T) {
	t.Parallel()
	good, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		data      []byte
		engineErr error
		want      []drivesync.CopyRequest
		wantErr   bool
		wantLog   string
	}{
		{name: "copy request", data: good, want: []drivesync.CopyRequest{req}},
		{name: "unknown field", data: bytes.Replace(good, []byte(`{`), []byte(`{"extra":1,`), 1), wantLog: "invalid copy request dropped"},
		{name: "not json", data: []byte("\x00\x01"), wantLog: "invalid copy request dropped"},
		{name: "missing run", data: []byte(`{"schemaVersion":1,"companyId":"acme","connectionId":"c1"}`), wantLog: "invalid copy request dropped"},
		{name: "retryable failure", data: good, want: []drivesync.CopyRequest{req}, wantErr: true,
			engineErr: drivesync.Classify(errors.New("publish failed"), drivesync.Retryable, "publish_failed")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			eng := &fakeEngine{err: tt.engineErr}
			h, err := initialcopy.NewHandler(eng, slog.New(slog.NewJSONHandler(&logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			err = h.Handle(t.Context(), cloudEvent(t, tt.data))
			if got := err != nil; got != tt.wantErr {
				t.Fatalf("Handle error = %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, eng.got); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
			if !strings.Contains(logs.String(), tt.wantLog) {
				t.Errorf("logs %q do not say %q", logs.String(), tt.wantLog)
			}
		})
	}
}

func TestMalformedCloudEventIsAcknowledged(t *testing.T) {
	t.Parallel()
	eng := &fakeEngine{}
	h, err := initialcopy.NewHandler(eng, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	e := event.New()
	e.SetID("x")
	e.SetType("google.cloud.pubsub.topic.v1.messagePublished")
	e.SetSource("//pubsub.googleapis.com/projects/p1/topics/drivesync-copy-requests")
	if err := h.Handle(t.Context(), e); err != nil {
		t.Errorf("Handle of an event without data: %v", err)
	}
	if len(eng.got) != 0 {
		t.Errorf("engine called with %v", eng.got)
	}
}

// A reconcile run reads and writes the connection's Drive, so InitialCopy needs the Google
// settings SyncDocument has, and says so when they are missing.
func TestNewNeedsGoogleSettings(t *testing.T) {
	t.Parallel()
	_, err := initialcopy.New(t.Context(), func(string) (string, bool) { return "", false })
	if err == nil {
		t.Fatal("New accepted an empty environment")
	}
	for _, want := range []string{"OAUTH_CLIENT_ID is required", "OAUTH_CLIENT_SECRET is required", "TOKEN_KEYSET is required"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func FuzzHandle(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":1,"companyId":"a","connectionId":"b","runId":"c"}`))
	f.Add([]byte(`{"schemaVersion":2}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := initialcopy.NewHandler(&fakeEngine{}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Handle(context.Background(), cloudEvent(t, data)); err != nil {
			t.Fatalf("Handle: %v", err)
		}
	})
}
