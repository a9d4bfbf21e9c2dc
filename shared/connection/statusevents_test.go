package connection_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"

	"github.com/efactori/drivesync/local/emulators"
	"github.com/efactori/drivesync/shared/config"
	"github.com/efactori/drivesync/shared/connection"
	"github.com/efactori/drivesync/shared/drive"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/statusevent"
	"github.com/efactori/drivesync/shared/store"
)

// eventsEnv is a second instance of the service whose store publishes status events on an
// emulator topic, read through a pull subscription.
type eventsEnv struct {
	*env
	store *store.Store
	svc   *connection.Service
	sub   string
	pull  func(ctx context.Context) [][]byte
}

func newEventsEnv(t *testing.T) *eventsEnv {
	t.Helper()
	e := newEnv(t, "drive")
	ps := emulators.PubSub(t)
	project := "projects/" + ps.Project()
	topic := project + "/topics/" + config.TopicStatusEvents
	sub := project + "/subscriptions/efactori"
	if _, err := ps.TopicAdminClient.CreateTopic(e.ctx, &pubsubpb.Topic{Name: topic}); err != nil {
		t.Fatal(err)
	}
	if _, err := ps.SubscriptionAdminClient.CreateSubscription(e.ctx, &pubsubpb.Subscription{Name: sub, Topic: topic, AckDeadlineSeconds: 600}); err != nil {
		t.Fatal(err)
	}
	pp, err := statusevent.NewPubSubPublisher(ps, config.TopicStatusEvents)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pp.Stop)
	log := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	pub, err := statusevent.NewPublisher(pp, log)
	if err != nil {
		t.Fatal(err)
	}
	ev := &eventsEnv{env: e, sub: sub}
	if ev.store, err = store.New(e.fs, e.clock.Now, store.WithStatusEvents(pub, log)); err != nil {
		t.Fatal(err)
	}
	opts := e.opts
	opts.Store = ev.store
	if ev.svc, err = connection.New(opts); err != nil {
		t.Fatal(err)
	}
	ev.pull = func(ctx context.Context) [][]byte {
		var out [][]byte
		for empties := 0; empties < 3; {
			//lint:ignore SA1019 a test draining the emulator needs the empty answer at once
			resp, err := ps.SubscriptionAdminClient.Pull(ctx, &pubsubpb.PullRequest{Subscription: sub, MaxMessages: 100, ReturnImmediately: true})
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
				out = append(out, m.Message.Data)
				ids = append(ids, m.AckId)
				if got, want := m.Message.Attributes["type"], ""; got == want {
					t.Errorf("message %s has no type attribute", m.Message.MessageId)
				}
			}
			if err := ps.SubscriptionAdminClient.Acknowledge(ctx, &pubsubpb.AcknowledgeRequest{Subscription: sub, AckIds: ids}); err != nil {
				t.Fatal(err)
			}
		}
		return out
	}
	return ev
}

// seen collects received events by ID and fails when one ID comes with two contents.
type seen struct {
	order []string
	raw   map[string][]byte
}

func (s *seen) add(t *testing.T, msgs [][]byte) []statusevent.Event {
	t.Helper()
	if s.raw == nil {
		s.raw = map[string][]byte{}
	}
	var fresh []statusevent.Event
	for _, data := range msgs {
		ev, err := statusevent.Decode(data)
		if err != nil {
			t.Fatalf("undecodable status event: %v", err)
		}
		if first, ok := s.raw[ev.EventID]; ok {
			if !bytes.Equal(first, data) {
				t.Errorf("event %s published with two contents:\n%s\n%s", ev.EventID, first, data)
			}
			continue
		}
		s.raw[ev.EventID] = data
		s.order = append(s.order, ev.EventID)
		fresh = append(fresh, ev)
	}
	return fresh
}

// expect checks that exactly one new event arrived, with the given ID, status and previous
// status and reason code.
func expect(t *testing.T, stage string, fresh []statusevent.Event, id string, status, previous drivesync.Status, reason string) {
	t.Helper()
	if len(fresh) != 1 {
		t.Fatalf("%s: %d new events %+v, want 1", stage, len(fresh), fresh)
	}
	got := fresh[0]
	if got.EventID != id || got.Type != statusevent.TypeStatusChanged || got.Status != status || got.PreviousStatus != previous ||
		got.ReasonCode != reason || got.CompanyID != acme || got.ConnectionName != "Compta" {
		t.Errorf("%s: event %+v, want %s %s → %s (reason %q)", stage, got, id, previous, status, reason)
	}
}

// failingPublisher stands for Pub/Sub refusing every message; it keeps what it was given.
type failingPublisher struct {
	mu  sync.Mutex
	got []string
}

func (f *failingPublisher) PublishEvents(_ context.Context, events []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, events...)
	return errors.New("pubsub unavailable")
}

// A change whose writer died before publishing is published by the next reader, under the ID
// written with it; a connection in error made active by a new target, a redelivered
// needs-customer mark, and a deletion retried after Pub/Sub refused its event each give one
// event.
func TestStatusEventsOutbox(t *testing.T) {
	t.Parallel()
	e := newEventsEnv(t)
	var s seen

	// The instance without a publisher stands for one that crashed after its write.
	conn := e.connect(t, acme, "Compta", alice)
	rec, err := e.env.store.Connection(e.ctx, acme, conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.PendingEvents) != 1 || rec.StatusSeq != 1 {
		t.Fatalf("after consent: %d pending events, seq %d; want 1 and 1", len(rec.PendingEvents), rec.StatusSeq)
	}
	if fresh := s.add(t, e.pull(e.ctx)); len(fresh) != 0 {
		t.Fatalf("events published by an instance without publisher: %+v", fresh)
	}
	if _, err := e.svc.Get(e.ctx, acme, conn.ID); err != nil {
		t.Fatal(err)
	}
	expect(t, "relayed by a read", s.add(t, e.pull(e.ctx)), statusevent.StatusEventID(conn.ID, 1),
		drivesync.StatusAwaitingFolder, drivesync.StatusAwaitingAuthorization, "")
	if rec, err = e.env.store.Connection(e.ctx, acme, conn.ID); err != nil || len(rec.PendingEvents) != 0 {
		t.Fatalf("after the relay: pending %v, %v; want none", rec.PendingEvents, err)
	}

	target := e.mkdir(t, e.rootID(t), "Cible")
	if _, err := e.svc.SetTarget(e.ctx, acme, conn.ID, target); err != nil {
		t.Fatal(err)
	}
	expect(t, "target", s.add(t, e.pull(e.ctx)), statusevent.StatusEventID(conn.ID, 2), drivesync.StatusActive, drivesync.StatusAwaitingFolder, "")

	// The target is lost; the engine marks it twice (a redelivered task).
	lost := drivesync.Classify(errors.New("folder gone"), drivesync.NeedsCustomer, drive.CodeTargetNotFound)
	for range 2 {
		if err := e.svc.MarkNeedsCustomer(e.ctx, acme, conn.ID, lost); err != nil {
			t.Fatal(err)
		}
	}
	expect(t, "target lost", s.add(t, e.pull(e.ctx)), statusevent.StatusEventID(conn.ID, 3), drivesync.StatusError, drivesync.StatusActive,
		drive.CodeTargetNotFound)

	// A new folder makes it active again.
	if _, err := e.svc.SetTarget(e.ctx, acme, conn.ID, e.mkdir(t, e.rootID(t), "Cible 2")); err != nil {
		t.Fatal(err)
	}
	expect(t, "target fixed", s.add(t, e.pull(e.ctx)), statusevent.StatusEventID(conn.ID, 4), drivesync.StatusActive, drivesync.StatusError, "")

	// Pub/Sub refuses the deletion's event: nothing is deleted, and the retry publishes the
	// very same event.
	failing := &failingPublisher{}
	down, err := store.New(e.fs, e.clock.Now, store.WithStatusEvents(failing, slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if err := down.DeleteConnection(e.ctx, acme, conn.ID); err == nil {
		t.Fatal("DeleteConnection succeeded although its event was not published")
	}
	if _, err := e.env.store.Connection(e.ctx, acme, conn.ID); err != nil {
		t.Fatalf("connection after a deletion whose event failed: %v, want it kept", err)
	}
	if err := e.svc.Delete(e.ctx, acme, conn.ID); err != nil {
		t.Fatal(err)
	}
	fresh := s.add(t, e.pull(e.ctx))
	expect(t, "deleted", fresh, statusevent.StatusEventID(conn.ID, 5), statusevent.StatusDeleted, drivesync.StatusActive, "")
	if len(failing.got) != 1 || failing.got[0] != string(s.raw[statusevent.StatusEventID(conn.ID, 5)]) {
		t.Errorf("the retried deletion published %s, the failed one tried %v: want the same event", s.raw[statusevent.StatusEventID(conn.ID, 5)], failing.got)
	}
	if _, err := e.env.store.Connection(e.ctx, acme, conn.ID); !errors.Is(err, drivesync.ErrNotFound) {
		t.Errorf("connection after deletion: %v, want not found", err)
	}
}
