package emulators

import (
	"context"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Push settings chosen so redelivery tests take seconds: the shortest ack deadline Pub/Sub
// accepts, and a retry backoff far below the production default.
const (
	PushAckDeadline    = 10 * time.Second
	PushMinimumBackoff = 100 * time.Millisecond
	PushMaximumBackoff = time.Second
)

// Push names a topic and the push subscription that delivers it.
type Push struct {
	// Topic is the full topic name, projects/<project>/topics/<id>; pass it to
	// pubsub.Client.Publisher.
	Topic string
	// Subscription is the full subscription name, projects/<project>/subscriptions/<id>.
	Subscription string
	// Endpoint is the push endpoint: the base URL followed by the topic name.
	Endpoint string
}

// PushSubscription creates a topic and a push subscription that posts every message to
// baseURL + "/" + topic name, so that the functions framework, which reads the topic only from
// the request path, can turn the emulator's push body into a Pub/Sub CloudEvent. The
// subscription uses PushAckDeadline and a retry policy between PushMinimumBackoff and
// PushMaximumBackoff; both are deleted when the test ends, so the emulator stops pushing.
func PushSubscription(tb testing.TB, client *pubsub.Client, baseURL string) Push {
	tb.Helper()
	ctx := context.Background()
	project := client.Project()
	id := "push-" + randomHex(4)
	topic := "projects/" + project + "/topics/" + id
	p := Push{
		Topic:        topic,
		Subscription: "projects/" + project + "/subscriptions/" + id,
		Endpoint:     strings.TrimRight(baseURL, "/") + "/" + topic,
	}
	if _, err := client.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: p.Topic}); err != nil {
		tb.Fatalf("emulators: create topic %s: %v", p.Topic, err)
	}
	tb.Cleanup(func() {
		if err := client.TopicAdminClient.DeleteTopic(context.Background(), &pubsubpb.DeleteTopicRequest{Topic: p.Topic}); err != nil {
			tb.Errorf("emulators: delete topic %s: %v", p.Topic, err)
		}
	})
	_, err := client.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name:               p.Subscription,
		Topic:              p.Topic,
		PushConfig:         &pubsubpb.PushConfig{PushEndpoint: p.Endpoint},
		AckDeadlineSeconds: int32(PushAckDeadline / time.Second),
		RetryPolicy: &pubsubpb.RetryPolicy{
			MinimumBackoff: durationpb.New(PushMinimumBackoff),
			MaximumBackoff: durationpb.New(PushMaximumBackoff),
		},
	})
	if err != nil {
		tb.Fatalf("emulators: create push subscription %s: %v", p.Subscription, err)
	}
	tb.Cleanup(func() {
		req := &pubsubpb.DeleteSubscriptionRequest{Subscription: p.Subscription}
		if err := client.SubscriptionAdminClient.DeleteSubscription(context.Background(), req); err != nil {
			tb.Errorf("emulators: delete subscription %s: %v", p.Subscription, err)
		}
	})
	return p
}
