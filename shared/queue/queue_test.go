package queue_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/google/go-cmp/cmp"

	"github.com/efactori/drivesync/local/emulators"
	"github.com/efactori/drivesync/shared/config"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/queue"
)

func TestMain(m *testing.M) { emulators.Main(m) }

// received is one message pulled from the subscription.
type received struct {
	Request    drivesync.CopyRequest
	Attributes map[string]string
}

func TestStartCopyPublishesTheFirstPage(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	client := emulators.PubSub(t)
	topic := fmt.Sprintf("projects/%s/topics/%s", client.Project(), config.TopicCopyRequests)
	sub := fmt.Sprintf("projects/%s/subscriptions/copy-engine", client.Project())
	if _, err := client.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: topic}); err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}
	if _, err := client.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{Name: sub, Topic: topic}); err != nil {
		t.Fatalf("CreateSubscription: %v", err)
	}
	pub := client.Publisher(config.TopicCopyRequests)
	t.Cleanup(pub.Stop)
	p, err := queue.NewPublisher(pub)
	if err != nil {
		t.Fatal(err)
	}

	conns := []drivesync.Connection{
		{ID: "conn-1", CompanyID: "acme", InitialCopy: drivesync.InitialCopy{State: drivesync.CopyPending, RunID: "run-1"}},
		{ID: "conn-2", CompanyID: "globex", InitialCopy: drivesync.InitialCopy{State: drivesync.CopyPending, RunID: "run-2"}},
	}
	for _, c := range conns {
		if err := p.StartCopy(ctx, c); err != nil {
			t.Fatalf("StartCopy(%s): %v", c.ID, err)
		}
	}

	var (
		mu  sync.Mutex
		got = map[string]received{}
	)
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err = client.Subscriber(sub).Receive(rctx, func(_ context.Context, m *pubsub.Message) {
		m.Ack()
		r, err := drivesync.DecodeCopyRequest(m.Data)
		if err != nil {
			t.Errorf("DecodeCopyRequest(%s): %v", m.Data, err)
		}
		mu.Lock()
		defer mu.Unlock()
		got[r.ConnectionID] = received{Request: r, Attributes: m.Attributes}
		if len(got) == len(conns) {
			cancel()
		}
	})
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	want := map[string]received{}
	for _, c := range conns {
		want[c.ID] = received{
			Request:    drivesync.CopyRequest{SchemaVersion: 1, CompanyID: c.CompanyID, ConnectionID: c.ID, RunID: c.InitialCopy.RunID},
			Attributes: map[string]string{"companyId": c.CompanyID, "connectionId": c.ID, "runId": c.InitialCopy.RunID},
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("received (-want +got):\n%s", diff)
	}
}

func TestPublishRefuses(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	client := emulators.PubSub(t)
	pub := client.Publisher("no-such-topic")
	t.Cleanup(pub.Stop)
	p, err := queue.NewPublisher(pub)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		conn      drivesync.Connection
		wantClass drivesync.Class
	}{
		{"no run", drivesync.Connection{ID: "c", CompanyID: "acme"}, drivesync.Permanent},
		{"missing topic", drivesync.Connection{ID: "c", CompanyID: "acme", InitialCopy: drivesync.InitialCopy{RunID: "r"}}, drivesync.Permanent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := p.StartCopy(ctx, tc.conn)
			if got := drivesync.ClassOf(err); err == nil || got != tc.wantClass {
				t.Errorf("err = %v (class %s), want class %s", err, got, tc.wantClass)
			}
		})
	}
}

func TestNewPublisherRejectsNil(t *testing.T) {
	t.Parallel()
	if _, err := queue.NewPublisher(nil); err == nil {
		t.Error("NewPublisher(nil) succeeded")
	}
}

func TestDecodeCopyRequest(t *testing.T) {
	t.Parallel()
	valid := `{"schemaVersion":1,"companyId":"acme","connectionId":"c1","runId":"r1","pageToken":"p"}`
	for _, tc := range []struct {
		name, data  string
		want        drivesync.CopyRequest
		unsupported bool
		wantFields  []string
	}{
		{name: "valid", data: valid, want: drivesync.CopyRequest{SchemaVersion: 1, CompanyID: "acme", ConnectionID: "c1", RunID: "r1", PageToken: "p"}},
		{name: "future version", data: `{"schemaVersion":2,"whatever":true}`, unsupported: true},
		{name: "no version", data: `{"companyId":"acme"}`},
		{name: "unknown field", data: `{"schemaVersion":1,"companyId":"acme","connectionId":"c1","runId":"r1","extra":1}`},
		{name: "two values", data: valid + valid},
		{name: "not JSON", data: `nope`},
		{name: "missing ids", data: `{"schemaVersion":1}`, wantFields: []string{"companyId", "connectionId", "runId"}},
		{name: "valid await", data: `{"schemaVersion":1,"companyId":"acme","connectionId":"c1","runId":"r1","pageToken":"","await":true}`,
			want: drivesync.CopyRequest{SchemaVersion: 1, CompanyID: "acme", ConnectionID: "c1", RunID: "r1", Await: true}},
		{name: "await with a page", data: `{"schemaVersion":1,"companyId":"acme","connectionId":"c1","runId":"r1","pageToken":"p","await":true}`,
			wantFields: []string{"pageToken"}},
		{name: "await not a bool", data: `{"schemaVersion":1,"companyId":"acme","connectionId":"c1","runId":"r1","await":"yes"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := drivesync.DecodeCopyRequest([]byte(tc.data))
			if strings.HasPrefix(tc.name, "valid") {
				if err != nil {
					t.Fatalf("DecodeCopyRequest: %v", err)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("decoded (-want +got):\n%s", diff)
				}
				return
			}
			if !errors.Is(err, drivesync.ErrInvalidCopyRequest) || drivesync.ClassOf(err) != drivesync.Permanent {
				t.Fatalf("err = %v, want ErrInvalidCopyRequest classified permanent", err)
			}
			if got, want := errors.Is(err, drivesync.ErrUnsupportedSchema), tc.unsupported; got != want {
				t.Errorf("ErrUnsupportedSchema = %v, want %v", got, want)
			}
			if tc.wantFields != nil {
				var fields []string
				for _, fe := range drivesync.FieldErrors(err) {
					fields = append(fields, fe.Field)
				}
				if diff := cmp.Diff(tc.wantFields, fields); diff != "" {
					t.Errorf("invalid fields (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// FuzzDecodeCopyRequest checks that the decoder never panics, and that whatever it accepts
// survives a round trip through the message the publisher builds.
func FuzzDecodeCopyRequest(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":1,"companyId":"acme","connectionId":"c1","runId":"r1","pageToken":""}`))
	f.Add([]byte(`{"schemaVersion":2}`))
	f.Add([]byte(`{"schemaVersion":1,"companyId":"\u0000"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := drivesync.DecodeCopyRequest(data)
		if err != nil {
			if !errors.Is(err, drivesync.ErrInvalidCopyRequest) {
				t.Fatalf("error does not wrap ErrInvalidCopyRequest: %v", err)
			}
			return
		}
		m, err := queue.Message(r)
		if err != nil {
			t.Fatalf("Message of an accepted request: %v", err)
		}
		again, err := drivesync.DecodeCopyRequest(m.Data)
		if err != nil {
			t.Fatalf("decode the published form: %v", err)
		}
		if diff := cmp.Diff(r, again); diff != "" {
			t.Errorf("round trip (-first +second):\n%s", diff)
		}
		var raw map[string]any
		if err := json.Unmarshal(m.Data, &raw); err != nil {
			t.Fatal(err)
		}
	})
}
