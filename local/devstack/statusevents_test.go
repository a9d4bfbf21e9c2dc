package devstack_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"

	"github.com/efactori/drivesync/local/devstack"
	"github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/shared/config"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/statusevent"
)

// checkStatusEvents checks that the eFactori stand-in subscribes to the status-event topic: an
// event published there shows on its admin API.
func checkStatusEvents(ctx context.Context, t *testing.T, stack *devstack.Stack, ps *pubsub.Client) {
	t.Helper()
	sub, err := ps.SubscriptionAdminClient.GetSubscription(ctx, &pubsubpb.GetSubscriptionRequest{Subscription: devstack.StatusEventsSubscription})
	if err != nil {
		t.Fatalf("status events subscription: %v", err)
	}
	if got, want := sub.GetTopic(), "projects/"+devstack.ProjectID+"/topics/"+config.TopicStatusEvents; got != want {
		t.Errorf("the stand-in subscribes to %s, want %s", got, want)
	}
	pp, err := statusevent.NewPubSubPublisher(ps, config.TopicStatusEvents)
	if err != nil {
		t.Fatal(err)
	}
	defer pp.Stop()
	pub, err := statusevent.NewPublisher(pp, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := statusevent.Encode(statusevent.Event{SchemaVersion: 1, EventID: "probe.status.1", Type: statusevent.TypeStatusChanged,
		CompanyID: efactori.Acme.ID, ConnectionID: "probe", ConnectionName: "Probe", Status: drivesync.StatusAwaitingFolder,
		PreviousStatus: drivesync.StatusAwaitingAuthorization, OccurredAt: time.Now().UTC()})
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.PublishEvents(ctx, []string{string(raw)}); err != nil {
		t.Fatal(err)
	}
	admin, err := efactori.NewAdminClient(stack.EFactoriURL, devstack.DevToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		got, err := admin.StatusEvents(ctx, efactori.Acme.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Events) == 1 && got.Events[0].Event.EventID == "probe.status.1" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stand-in received %+v, want the probe event", got.Events)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
