package devstack

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/shared/config"
)

// StatusEventsSubscription names the push subscription through which the eFactori stand-in
// receives drivesync's status events, as eFactori's own subscription would in production.
const StatusEventsSubscription = "projects/" + ProjectID + "/subscriptions/efactori-status-events"

// subscribeEFactori pushes the status-event topic to the stand-in at efactoriURL, which lists
// what it received on GET /admin/status-events. The emulator pushes without an OIDC token, so
// the endpoint carries the stand-in's dev token.
func subscribeEFactori(ctx context.Context, efactoriURL string) error {
	c, err := pubsub.NewClient(ctx, ProjectID)
	if err != nil {
		return fmt.Errorf("pubsub client: %w", err)
	}
	defer c.Close()
	sub := &pubsubpb.Subscription{
		Name:               StatusEventsSubscription,
		Topic:              "projects/" + ProjectID + "/topics/" + config.TopicStatusEvents,
		PushConfig:         &pubsubpb.PushConfig{PushEndpoint: efactoriURL + efactori.StatusEventsPushPath + "?token=" + url.QueryEscape(DevToken)},
		AckDeadlineSeconds: 60,
		RetryPolicy: &pubsubpb.RetryPolicy{
			MinimumBackoff: durationpb.New(time.Second),
			MaximumBackoff: durationpb.New(time.Minute),
		},
	}
	_, err = c.SubscriptionAdminClient.CreateSubscription(ctx, sub)
	if status.Code(err) == codes.AlreadyExists {
		err = c.SubscriptionAdminClient.ModifyPushConfig(ctx, &pubsubpb.ModifyPushConfigRequest{
			Subscription: sub.Name, PushConfig: sub.PushConfig})
	}
	if err != nil {
		return fmt.Errorf("status events subscription of the eFactori stand-in: %w", err)
	}
	return nil
}
