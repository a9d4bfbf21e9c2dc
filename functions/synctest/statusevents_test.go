package synctest

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"

	"github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/shared/config"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/statusevent"
)

// TestStatusEventsThroughTheFunctions runs the copy path as deployed, with eFactori subscribed
// to the status-event topic. The test's own connection service has no publisher, standing for
// an instance that died right after its write: the functions that read the connection next
// publish its pending events. The first copy's end, the refused grant met by SyncDocument (its
// document event delivered twice), the re-consent and the run it starts each reach eFactori
// under one stable ID, the same bytes however often.
func TestStatusEventsThroughTheFunctions(t *testing.T) {
	t.Parallel()
	company := efactori.CompanySpec{ID: "events", Name: "Events SA", Documents: 12}
	s := newStack(t, options{companies: []efactori.CompanySpec{company}})
	ctx := t.Context()
	sub := "projects/" + s.project + "/subscriptions/efactori-status"
	if _, err := s.ps.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name: sub, Topic: s.topic(config.TopicStatusEvents), AckDeadlineSeconds: 60}); err != nil {
		t.Fatal(err)
	}
	raw := map[string][]byte{}
	pull := func() {
		//lint:ignore SA1019 a test draining the emulator needs the empty answer at once
		resp, err := s.ps.SubscriptionAdminClient.Pull(ctx, &pubsubpb.PullRequest{Subscription: sub, MaxMessages: 100, ReturnImmediately: true})
		if err != nil {
			t.Fatalf("pull: %v", err)
		}
		var acks []string
		for _, m := range resp.ReceivedMessages {
			acks = append(acks, m.AckId)
			ev, err := statusevent.Decode(m.Message.Data)
			if err != nil {
				t.Fatalf("status event does not decode: %v", err)
			}
			if first, seen := raw[ev.EventID]; seen && !bytes.Equal(first, m.Message.Data) {
				t.Errorf("event %s published with two contents:\n%s\n%s", ev.EventID, first, m.Message.Data)
			}
			raw[ev.EventID] = m.Message.Data
		}
		if len(acks) > 0 {
			if err := s.ps.SubscriptionAdminClient.Acknowledge(ctx, &pubsubpb.AcknowledgeRequest{Subscription: sub, AckIds: acks}); err != nil {
				t.Fatal(err)
			}
		}
	}
	await := func(what string, ids ...string) {
		t.Helper()
		s.eventually(what, 2*time.Minute, func() string {
			pull()
			for _, id := range ids {
				if raw[id] == nil {
					return "without " + id
				}
			}
			return ""
		})
	}

	conn := s.connect(company.ID, "Compta", accounts[0], drivesync.LayoutYear, "")
	firstRun := conn.InitialCopy.RunID
	s.waitDone(company.ID, conn.ID, 5*time.Minute)
	await("first copy", statusevent.StatusEventID(conn.ID, 1), statusevent.StatusEventID(conn.ID, 2), statusevent.RunEventID(conn.ID, firstRun))

	s.google.OAuth.RevokeAll(accounts[0], clientID)
	ev, err := s.ef.Upsert(company.ID, "events-new", efactori.Upsert{Kind: drivesync.KindSalesInvoice, Number: "F-99", Date: "2026-03-14"})
	if err != nil {
		t.Fatal(err)
	}
	s.publish(ev, 2)
	s.eventually("needs reauthorization", 2*time.Minute, func() string {
		if c := s.get(company.ID, conn.ID); c.Status != drivesync.StatusNeedsReauthorization {
			return string(c.Status)
		}
		return ""
	})
	s.reconsent(company.ID, conn.ID, accounts[0])
	second := s.get(company.ID, conn.ID).InitialCopy.RunID
	s.waitDone(company.ID, conn.ID, 5*time.Minute)
	await("re-consent", statusevent.StatusEventID(conn.ID, 3), statusevent.StatusEventID(conn.ID, 4), statusevent.RunEventID(conn.ID, second))
	time.Sleep(2 * time.Second) // stragglers: a second event would show now
	pull()

	want := []string{
		statusevent.StatusEventID(conn.ID, 1) + " awaiting_authorization→awaiting_folder",
		statusevent.StatusEventID(conn.ID, 2) + " awaiting_folder→active",
		statusevent.RunEventID(conn.ID, firstRun) + " first_copy succeeded 12/12",
		statusevent.StatusEventID(conn.ID, 3) + " active→needs_reauthorization",
		statusevent.StatusEventID(conn.ID, 4) + " needs_reauthorization→active",
		statusevent.RunEventID(conn.ID, second) + " reconsent succeeded 13/13",
	}
	var got []string
	for id, data := range raw {
		ev, _ := statusevent.Decode(data)
		if ev.Run != nil {
			got = append(got, fmt.Sprintf("%s %s %s %d/%d", id, ev.Run.Kind, ev.Run.Outcome, ev.Run.Synced, ev.Run.Listed))
		} else {
			got = append(got, fmt.Sprintf("%s %s→%s", id, ev.PreviousStatus, ev.Status))
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("status events eFactori received:\n%q\nwant\n%q", got, want)
	}
}
