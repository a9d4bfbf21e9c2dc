package pushed_test

import (
	"encoding/base64"
	"errors"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/go-cmp/cmp"

	"github.com/efactori/drivesync/functions/internal/pushed"
)

func newEvent(t testing.TB, source string, data []byte) event.Event {
	t.Helper()
	e := event.New()
	e.SetID("ce-1")
	e.SetType(pushed.EventType)
	e.SetSource(source)
	if data != nil {
		if err := e.SetData("application/json", data); err != nil {
			t.Fatalf("SetData: %v", err)
		}
	}
	return e
}

func TestDecode(t *testing.T) {
	t.Parallel()
	payload := base64.StdEncoding.EncodeToString([]byte(`{"x":1}`))
	tests := []struct {
		name    string
		source  string
		data    string
		want    pushed.Message
		wantErr bool
	}{
		{
			name:   "eventarc delivery",
			source: "//pubsub.googleapis.com/projects/p1/topics/drivesync-copy-tasks",
			data:   `{"message":{"data":"` + payload + `","attributes":{"runId":"r"},"messageId":"42"},"subscription":"projects/p1/subscriptions/s"}`,
			want:   pushed.Message{Topic: "drivesync-copy-tasks", ID: "42", Data: []byte(`{"x":1}`), Attributes: map[string]string{"runId": "r"}},
		},
		{
			name:   "no attributes, snake-case id, unknown source",
			source: "//storage.googleapis.com/buckets/b",
			data:   `{"message":{"data":"` + payload + `","message_id":"7"}}`,
			want:   pushed.Message{ID: "7", Data: []byte(`{"x":1}`), Attributes: map[string]string{}},
		},
		{name: "not json", source: "//pubsub.googleapis.com/projects/p/topics/t", data: `nope`, wantErr: true},
		{name: "no message", source: "//pubsub.googleapis.com/projects/p/topics/t", data: `{"subscription":"s"}`, wantErr: true},
		{name: "data not base64", source: "//pubsub.googleapis.com/projects/p/topics/t", data: `{"message":{"data":"***"}}`, wantErr: true},
		{name: "no data", source: "//pubsub.googleapis.com/projects/p/topics/t", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var data []byte
			if tt.data != "" {
				data = []byte(tt.data)
			}
			got, err := pushed.Decode(newEvent(t, tt.source, data))
			if tt.wantErr {
				if !errors.Is(err, pushed.ErrMalformed) {
					t.Fatalf("Decode error = %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTopicOf(t *testing.T) {
	t.Parallel()
	for source, want := range map[string]string{
		"//pubsub.googleapis.com/projects/p/topics/efactori-document-events": "efactori-document-events",
		"//pubsub.googleapis.com/projects/p/topics/":                         "",
		"//pubsub.googleapis.com/projects/p/subscriptions/s":                 "",
		"//pubsub.googleapis.com/projects/p/topics/t/extra":                  "",
		"https://pubsub.googleapis.com/projects/p/topics/t":                  "",
		"": "",
	} {
		if got := pushed.TopicOf(source); got != want {
			t.Errorf("TopicOf(%q) = %q, want %q", source, got, want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add("//pubsub.googleapis.com/projects/p/topics/t", []byte(`{"message":{"data":"e30=","attributes":{"a":"b"}}}`))
	f.Add("x", []byte(`{"message":null}`))
	f.Fuzz(func(t *testing.T, source string, data []byte) {
		e := event.New()
		e.SetID("1")
		e.SetType(pushed.EventType)
		e.SetSource("s")
		e.SetExtension("x", "y")
		e.Context.SetSource(source)
		_ = e.SetData("application/json", data)
		m, err := pushed.Decode(e)
		if err != nil {
			if !errors.Is(err, pushed.ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if m.Attributes == nil {
			t.Fatal("nil attributes")
		}
		_ = pushed.TopicOf(source)
	})
}
