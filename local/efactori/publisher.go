package efactori

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"cloud.google.com/go/pubsub/v2"

	"github.com/efactori/drivesync/shared/drivesync"
)

// Topic is the Pub/Sub topic ID eFactori publishes document events to.
const Topic = "efactori-document-events"

// Publisher publishes document events to a Pub/Sub topic the way eFactori does: the data is the
// event JSON, the attributes are Event.Attributes().
type Publisher struct {
	pub *pubsub.Publisher
}

// NewPublisher returns a Publisher for a topic ID or full topic name of client's project. The
// client is the caller's to close; call Stop first.
func NewPublisher(client *pubsub.Client, topic string) (*Publisher, error) {
	if client == nil {
		return nil, errors.New("new publisher: nil pubsub client")
	}
	if topic == "" {
		return nil, errors.New("new publisher: empty topic")
	}
	return &Publisher{pub: client.Publisher(topic)}, nil
}

// EventMessage builds the message eFactori publishes for e. It fails if e would not pass
// drivesync.DecodeEvent, since eFactori never publishes an event drivesync must reject.
func EventMessage(e drivesync.Event) (*pubsub.Message, error) {
	if err := e.Validate(); err != nil {
		return nil, fmt.Errorf("event message %s: %w", e.EventID, err)
	}
	data, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("event message %s: %w", e.EventID, err)
	}
	if len(data) > drivesync.MaxEventDataBytes {
		return nil, fmt.Errorf("event message %s: data is %d bytes, the limit is %d", e.EventID, len(data), drivesync.MaxEventDataBytes)
	}
	return &pubsub.Message{Data: data, Attributes: e.Attributes()}, nil
}

// Publish publishes e and waits for the server's message id.
func (p *Publisher) Publish(ctx context.Context, e drivesync.Event) (string, error) {
	msg, err := EventMessage(e)
	if err != nil {
		return "", fmt.Errorf("publish: %w", err)
	}
	id, err := p.pub.Publish(ctx, msg).Get(ctx)
	if err != nil {
		return "", fmt.Errorf("publish event %s to %s: %w", e.EventID, p.pub, err)
	}
	return id, nil
}

// Stop flushes pending messages and releases the publisher's goroutines.
func (p *Publisher) Stop() { p.pub.Stop() }
