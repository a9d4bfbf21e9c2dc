package efactori_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/local/emulators"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/statusevent"
)

func statusEvent(t *testing.T, id string, status drivesync.Status, at time.Time) string {
	t.Helper()
	b, err := statusevent.Encode(statusevent.Event{SchemaVersion: 1, EventID: id, Type: statusevent.TypeStatusChanged,
		CompanyID: "acme", ConnectionID: "c1", ConnectionName: "Compta", Status: status,
		PreviousStatus: drivesync.StatusActive, OccurredAt: at})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The stand-in subscribes as eFactori would: a push subscription on the emulator delivers to
// it, a redelivered event counts as one, and the admin API lists the last events newest first.
func TestStatusEventsPushedToTheStandIn(t *testing.T) {
	t.Parallel()
	s, base := newServer(t, 1)
	ps := emulators.PubSub(t)
	project := "projects/" + ps.Project()
	topic := project + "/topics/status-" + strings.ToLower(t.Name()[:8])
	if _, err := ps.TopicAdminClient.CreateTopic(t.Context(), &pubsubpb.Topic{Name: topic}); err != nil {
		t.Fatal(err)
	}
	if _, err := ps.SubscriptionAdminClient.CreateSubscription(t.Context(), &pubsubpb.Subscription{
		Name: project + "/subscriptions/efactori-status", Topic: topic,
		PushConfig:         &pubsubpb.PushConfig{PushEndpoint: base + efactori.StatusEventsPushPath + "?token=" + url.QueryEscape(devToken)},
		AckDeadlineSeconds: 10,
		RetryPolicy:        &pubsubpb.RetryPolicy{MinimumBackoff: durationpb.New(100 * time.Millisecond), MaximumBackoff: durationpb.New(time.Second)},
	}); err != nil {
		t.Fatal(err)
	}
	pp, err := statusevent.NewPubSubPublisher(ps, topic)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pp.Stop)
	pub, err := statusevent.NewPublisher(pp, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	first := statusEvent(t, "c1.status.1", drivesync.StatusNeedsReauthorization, at)
	second := statusEvent(t, "c1.status.2", drivesync.StatusError, at.Add(time.Minute))
	for _, batch := range [][]string{{first}, {first, second}} { // the first one is published again
		if err := pub.PublishEvents(t.Context(), batch); err != nil {
			t.Fatal(err)
		}
	}
	// Delivery is unordered: the events are found by ID.
	deadline := time.Now().Add(30 * time.Second)
	var got efactori.StatusEventsResponse
	byID := map[string]efactori.ReceivedStatusEvent{}
	for {
		got = decode[efactori.StatusEventsResponse](t, do(t, "GET", base+"/admin/status-events?companyId=acme", devToken, nil))
		clear(byID)
		for _, r := range got.Events {
			byID[r.Event.EventID] = r
		}
		if byID["c1.status.1"].Deliveries == 2 && byID["c1.status.2"].Deliveries == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(got.Events) != 2 || byID["c1.status.1"].Deliveries != 2 || byID["c1.status.2"].Event.Status != drivesync.StatusError ||
		got.Events[0].ReceivedAt.Before(got.Events[1].ReceivedAt) {
		b, _ := json.Marshal(got)
		t.Fatalf("status events = %s, want c1.status.1 delivered twice and c1.status.2 once, newest first", b)
	}
	if other := s.StatusEvents("globex", 0); len(other) != 0 {
		t.Errorf("events of another company: %+v", other)
	}
	if one := s.StatusEvents("", 1); len(one) != 1 || one[0].Event.EventID != got.Events[0].Event.EventID {
		t.Errorf("StatusEvents(limit 1) = %+v, want the newest", one)
	}
}

func TestStatusEventsPushRefusals(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, 1)
	at := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	push := func(token string, data string, attrs map[string]string) *http.Response {
		t.Helper()
		if attrs == nil {
			e, err := statusevent.Decode([]byte(data))
			if err == nil {
				attrs = e.Attributes()
			}
		}
		body := map[string]any{"message": map[string]any{"data": []byte(data), "attributes": attrs, "messageId": "1"}, "subscription": "s"}
		return do(t, "POST", base+efactori.StatusEventsPushPath+"?token="+url.QueryEscape(token), "", body)
	}
	good := statusEvent(t, "c1.status.1", drivesync.StatusActive, at)
	tests := []struct {
		name  string
		token string
		data  string
		attrs map[string]string
		want  int
	}{
		{"no token", "", good, nil, http.StatusUnauthorized},
		{"wrong token", "nope", good, nil, http.StatusUnauthorized},
		{"not an event", devToken, `{"hello":1}`, map[string]string{}, http.StatusBadRequest},
		{"attributes disagree", devToken, good, map[string]string{"type": "run.ended"}, http.StatusBadRequest},
		{"accepted", devToken, good, nil, http.StatusNoContent},
		{"same ID, other content", devToken, statusEvent(t, "c1.status.1", drivesync.StatusError, at), nil, http.StatusConflict},
	}
	for _, tt := range tests { // in order: the last needs the accepted one
		resp := push(tt.token, tt.data, tt.attrs)
		if resp.StatusCode != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, resp.StatusCode, tt.want)
		}
		if resp.StatusCode >= 400 && resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: content type %q, want application/problem+json", tt.name, resp.Header.Get("Content-Type"))
		}
	}
	for _, q := range []string{"limit=0", "limit=201", "limit=x"} {
		if resp := do(t, "GET", base+"/admin/status-events?"+q, devToken, nil); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("GET status events ?%s: %d, want 400", q, resp.StatusCode)
		}
	}
	if resp := do(t, "GET", base+"/admin/status-events", "", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET status events without token: %d, want 401", resp.StatusCode)
	}
}
