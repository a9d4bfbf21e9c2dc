// Package queue publishes drivesync's own Pub/Sub messages: the copy requests that start a
// connection's initial copy (topic config.TopicCopyRequests), read by the copy engine.
package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"cloud.google.com/go/pubsub/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/efactori/drivesync/shared/connection"
	"github.com/efactori/drivesync/shared/drivesync"
)

// Codes this package puts on classified errors.
const (
	CodeInvalidRequest = "invalid_copy_request" // the request would not pass DecodeCopyRequest
	CodePublish        = "publish_failed"       // Pub/Sub did not take the message
)

// Publisher publishes copy requests. It is safe for concurrent use.
type Publisher struct {
	pub *pubsub.Publisher
}

var _ connection.CopyStarter = (*Publisher)(nil)

// NewPublisher returns a Publisher sending to pub, a Pub/Sub publisher for the copy-request topic
// (client.Publisher(config.TopicCopyRequests)). The caller stops pub and closes its client.
func NewPublisher(pub *pubsub.Publisher) (*Publisher, error) {
	if pub == nil {
		return nil, errors.New("new copy request publisher: nil pubsub publisher")
	}
	return &Publisher{pub: pub}, nil
}

// Message builds the Pub/Sub message for r: the request as JSON, and r.Attributes(). It refuses a
// request DecodeCopyRequest would reject, since the copy engine could only drop it.
func Message(r drivesync.CopyRequest) (*pubsub.Message, error) {
	if err := r.Validate(); err != nil {
		return nil, drivesync.Classify(fmt.Errorf("copy request message: %w", err), drivesync.Permanent, CodeInvalidRequest)
	}
	data, err := json.Marshal(r)
	if err != nil {
		return nil, drivesync.Classify(fmt.Errorf("copy request message: %w", err), drivesync.Permanent, CodeInvalidRequest)
	}
	if len(data) > drivesync.MaxCopyRequestBytes {
		return nil, drivesync.Classify(fmt.Errorf("copy request message: %d bytes, the limit is %d", len(data), drivesync.MaxCopyRequestBytes),
			drivesync.Permanent, CodeInvalidRequest)
	}
	return &pubsub.Message{Data: data, Attributes: r.Attributes()}, nil
}

// Publish publishes r and waits for Pub/Sub's message ID. Errors are classified:
// drivesync.Permanent for an invalid request, a missing topic or a refused permission;
// drivesync.Retryable otherwise (the message may or may not have been published).
func (p *Publisher) Publish(ctx context.Context, r drivesync.CopyRequest) (string, error) {
	msg, err := Message(r)
	if err != nil {
		return "", err
	}
	id, err := p.pub.Publish(ctx, msg).Get(ctx)
	if err != nil {
		class := drivesync.Retryable
		switch status.Code(err) {
		case codes.NotFound, codes.PermissionDenied, codes.InvalidArgument, codes.FailedPrecondition:
			class = drivesync.Permanent
		}
		return "", drivesync.Classify(fmt.Errorf("publish copy request for connection %s run %s: %w", r.ConnectionID, r.RunID, err), class, CodePublish)
	}
	return id, nil
}

// StartCopy publishes the first copy request of conn's current run (an empty page token).
func (p *Publisher) StartCopy(ctx context.Context, conn drivesync.Connection) error {
	_, err := p.Publish(ctx, drivesync.CopyRequest{
		SchemaVersion: drivesync.CopyRequestSchemaVersion,
		CompanyID:     conn.CompanyID,
		ConnectionID:  conn.ID,
		RunID:         conn.InitialCopy.RunID,
	})
	return err
}
