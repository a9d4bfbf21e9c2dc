package engine_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net/url"
	"testing"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"

	standin "github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/shared/config"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/statusevent"
	"github.com/efactori/drivesync/shared/store"
)

// statusEvents creates the status-event topic with a pull subscription on the emulator and
// returns the store option that publishes there.
func (e *env) statusEvents(t *testing.T, log *slog.Logger) store.Option {
	t.Helper()
	project := "projects/" + e.pubsub.Project()
	topic := project + "/topics/" + config.TopicStatusEvents
	e.statusSub = project + "/subscriptions/status-events"
	if _, err := e.pubsub.TopicAdminClient.CreateTopic(e.ctx, &pubsubpb.Topic{Name: topic}); err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
	if _, err := e.pubsub.SubscriptionAdminClient.CreateSubscription(e.ctx, &pubsubpb.Subscription{
		Name: e.statusSub, Topic: topic, AckDeadlineSeconds: 600}); err != nil {
		t.Fatalf("create subscription %s: %v", e.statusSub, err)
	}
	ps, err := statusevent.NewPubSubPublisher(e.pubsub, config.TopicStatusEvents)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ps.Stop)
	pub, err := statusevent.NewPublisher(ps, log)
	if err != nil {
		t.Fatal(err)
	}
	return store.WithStatusEvents(pub, log)
}

// received tracks the status events a subscriber got: one entry per event ID, in the order
// first seen, and a failure when a redelivery of an ID differs from the first.
type received struct {
	order []string
	raw   map[string][]byte
	byID  map[string]statusevent.Event
}

// pull drains the status subscription into r.
func (e *env) pull(t *testing.T, r *received) {
	t.Helper()
	if r.raw == nil {
		r.raw, r.byID = map[string][]byte{}, map[string]statusevent.Event{}
	}
	for _, data := range e.drain(t, e.statusSub) {
		ev, err := statusevent.Decode(data)
		if err != nil {
			t.Fatalf("status event does not decode: %v\n%s", err, data)
		}
		if first, seen := r.raw[ev.EventID]; seen {
			if !bytes.Equal(first, data) {
				t.Errorf("event %s published twice with different content:\n%s\n%s", ev.EventID, first, data)
			}
			continue
		}
		r.order = append(r.order, ev.EventID)
		r.raw[ev.EventID], r.byID[ev.EventID] = data, ev
	}
}

// summary is what a test compares of one event.
type summary struct {
	ID, Type, Status, Previous, Reason string
	Run                                *statusevent.Run
}

func (r *received) summaries() []summary {
	var out []summary
	for _, id := range r.order {
		ev := r.byID[id]
		out = append(out, summary{ID: id, Type: string(ev.Type), Status: string(ev.Status), Previous: string(ev.PreviousStatus),
			Reason: ev.ReasonCode, Run: ev.Run})
	}
	return out
}

// errRefused is what Google answers a refused grant with.
var errRefused = errors.New("oauth2: \"invalid_grant\"")

// Status events of the engine's changes: a run's end, the grant Google refuses, the re-consent
// that reactivates the connection and the run it starts; each is published at least once under
// one stable ID, and redelivering the message that caused it never makes a second event.
func TestStatusEventsOfRunsAndGrants(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{documents: 3, topics: true, statusEvents: true})
	var got received
	e.pull(t, &got)
	id := e.conn.ID
	firstRun := e.conn.InitialCopy.RunID
	want := []summary{
		{ID: statusevent.StatusEventID(id, 1), Type: "connection.status_changed", Status: "awaiting_folder", Previous: "awaiting_authorization"},
		{ID: statusevent.StatusEventID(id, 2), Type: "connection.status_changed", Status: "active", Previous: "awaiting_folder"},
	}
	check := func(stage string) {
		t.Helper()
		sums := got.summaries()
		if len(sums) != len(want) {
			t.Fatalf("%s: got %d events %+v, want %d %+v", stage, len(sums), sums, len(want), want)
		}
		for i := range want {
			g, w := sums[i], want[i]
			if g.ID != w.ID || g.Type != w.Type || g.Status != w.Status || g.Previous != w.Previous || g.Reason != w.Reason {
				t.Errorf("%s: event %d = %+v, want %+v", stage, i, g, w)
			}
			if (g.Run == nil) != (w.Run == nil) {
				t.Errorf("%s: event %d run = %+v, want %+v", stage, i, g.Run, w.Run)
				continue
			}
			if w.Run != nil && (g.Run.ID != w.Run.ID || g.Run.Kind != w.Run.Kind || g.Run.Outcome != w.Run.Outcome ||
				g.Run.Listed != w.Run.Listed || g.Run.Synced != w.Run.Synced || g.Run.Failed != w.Run.Failed ||
				g.Run.StartedAt.IsZero() || g.Run.EndedAt.Before(g.Run.StartedAt)) {
				t.Errorf("%s: event %d run = %+v, want %+v", stage, i, g.Run, w.Run)
			}
		}
	}
	check("connected")

	// The first copy ends.
	e.run(t)
	e.pull(t, &got)
	want = append(want, summary{ID: statusevent.RunEventID(id, firstRun), Type: "run.ended", Status: "active",
		Run: &statusevent.Run{ID: firstRun, Kind: drivesync.RunFirstCopy, Outcome: statusevent.OutcomeSucceeded, Listed: 3, Synced: 3}})
	check("first copy done")
	runEnded := got.byID[statusevent.RunEventID(id, firstRun)]
	if runEnded.CompanyID != company || runEnded.ConnectionName != "Compta" || runEnded.OccurredAt.IsZero() {
		t.Errorf("run event = %+v, want company %s, name Compta and a time", runEnded, company)
	}

	// Redelivered: the run's first request and an await request of the ended run.
	for _, await := range []bool{false, true} {
		req := drivesync.CopyRequest{SchemaVersion: drivesync.CopyRequestSchemaVersion, CompanyID: company,
			ConnectionID: id, RunID: firstRun, Await: await}
		retry(t, "redelivered copy request", func() error { return e.engine.HandleCopyRequest(e.ctx, req) })
	}
	e.drain(t, e.taskSub)
	e.drain(t, e.reqSub)
	e.pull(t, &got)
	check("ended run redelivered")

	// The customer revokes drivesync; the next document event meets the refused grant.
	e.emu.OAuth.RevokeAll(alice, clientID)
	ev := e.upsert(t, "acme-new", standin.Upsert{Kind: drivesync.KindSalesInvoice, Number: "F-9", Date: "2026-03-14"})
	retry(t, "document event", func() error { return e.engine.HandleEvent(e.ctx, ev) })
	if st := e.get(t).Status; st != drivesync.StatusNeedsReauthorization {
		t.Fatalf("status after the refused grant = %s, want needs_reauthorization", st)
	}
	// Redelivered: the same event, and the same refusal marked again.
	retry(t, "redelivered document event", func() error { return e.engine.HandleEvent(e.ctx, ev) })
	rec, err := e.store.Connection(e.ctx, company, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.MarkNeedsReauthorization(e.ctx, rec, drivesync.Classify(errRefused, drivesync.NeedsReauthorization, "invalid_grant")); err != nil {
		t.Fatal(err)
	}
	e.pull(t, &got)
	want = append(want, summary{ID: statusevent.StatusEventID(id, 3), Type: "connection.status_changed", Status: "needs_reauthorization",
		Previous: "active", Reason: "invalid_grant"})
	check("grant refused")

	// The customer consents again: active, and a new run; replaying Google's redirect to the
	// callback changes nothing.
	authURL, err := e.svc.Authorize(e.ctx, company, id)
	if err != nil {
		t.Fatal(err)
	}
	link, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	start, err := e.svc.StartConsent(e.ctx, link.Query().Get("state"))
	if err != nil {
		t.Fatal(err)
	}
	loc, err := e.emu.OAuth.Consent(e.ctx, start.GoogleURL, alice, true)
	if err != nil {
		t.Fatal(err)
	}
	q := loc.Query()
	for i := range 2 {
		res, err := e.svc.Callback(e.ctx, q.Get("state"), start.Browser, q.Get("code"), "")
		if i == 0 && (err != nil || res.Result != "ok") {
			t.Fatalf("Callback = %+v, %v; want ok", res, err)
		}
	}
	e.pull(t, &got)
	want = append(want, summary{ID: statusevent.StatusEventID(id, 4), Type: "connection.status_changed", Status: "active",
		Previous: "needs_reauthorization"})
	check("consented again")

	reconsent := e.get(t).InitialCopy.RunID
	e.run(t)
	e.pull(t, &got)
	want = append(want, summary{ID: statusevent.RunEventID(id, reconsent), Type: "run.ended", Status: "active",
		Run: &statusevent.Run{ID: reconsent, Kind: drivesync.RunReconsent, Outcome: statusevent.OutcomeSucceeded, Listed: 4, Synced: 4}})
	check("re-consent run done")
}
