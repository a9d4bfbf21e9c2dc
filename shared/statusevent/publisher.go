package statusevent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"cloud.google.com/go/pubsub/v2"
)

// PubSub publishes Pub/Sub messages; *pubsub.Publisher is one.
type PubSub interface {
	Publish(ctx context.Context, msg *pubsub.Message) *pubsub.PublishResult
}

var _ PubSub = (*pubsub.Publisher)(nil)

// Publisher publishes encoded status events on the status-event topic. It is safe for concurrent
// use; store.WithStatusEvents takes it.
type Publisher struct {
	pub PubSub
	log *slog.Logger
}

// NewPublisher returns a Publisher sending with pub, a publisher on config.TopicStatusEvents
// (NewPubSubPublisher makes one), logging to log the events it refuses.
func NewPublisher(pub PubSub, log *slog.Logger) (*Publisher, error) {
	if pub == nil || log == nil {
		return nil, errors.New("new status event publisher: nil pubsub publisher or logger")
	}
	return &Publisher{pub: pub, log: log}, nil
}

// NewPubSubPublisher returns a Pub/Sub publisher on topic that sends each event at once: events
// are few and each is awaited, so batching would only delay them.
func NewPubSubPublisher(client *pubsub.Client, topic string) (*pubsub.Publisher, error) {
	if client == nil || topic == "" {
		return nil, errors.New("new status event publisher: nil pubsub client or empty topic")
	}
	p := client.Publisher(topic)
	p.PublishSettings.CountThreshold = 1
	p.PublishSettings.DelayThreshold = time.Millisecond
	return p, nil
}

// Message returns the Pub/Sub message of encoded event raw: raw itself as the data, so a
// republished event is byte for byte the first one, and the event's attributes.
func Message(raw string) (*pubsub.Message, error) {
	e, err := Decode([]byte(raw))
	if err != nil {
		return nil, err
	}
	return &pubsub.Message{Data: []byte(raw), Attributes: e.Attributes()}, nil
}

// PublishEvents publishes each encoded event of events and waits until Pub/Sub has taken them
// all. An event that does not decode can never be published: it is logged and dropped rather
// than blocking the ones after it for ever.
func (p *Publisher) PublishEvents(ctx context.Context, events []string) error {
	results := make([]*pubsub.PublishResult, 0, len(events))
	for _, raw := range events {
		msg, err := Message(raw)
		if err != nil {
			p.log.ErrorContext(ctx, "stored status event does not decode; dropped", "err", err)
			continue
		}
		results = append(results, p.pub.Publish(ctx, msg))
	}
	failed := 0
	var first error
	for _, r := range results {
		if _, err := r.Get(ctx); err != nil {
			failed++
			if first == nil {
				first = err
			}
		}
	}
	if first != nil {
		return fmt.Errorf("publish status events: %d of %d failed, first: %w", failed, len(results), first)
	}
	return nil
}
