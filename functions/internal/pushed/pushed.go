// Package pushed decodes the Pub/Sub message inside the CloudEvent a Pub/Sub trigger delivers to
// an event function (type google.cloud.pubsub.topic.v1.messagePublished, data
// MessagePublishedData), so the function packages only decode their own payloads.
package pushed

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"
)

// EventType is the CloudEvent type of a published Pub/Sub message.
const EventType = "google.cloud.pubsub.topic.v1.messagePublished"

// sourcePrefix starts the source of a Pub/Sub CloudEvent:
// //pubsub.googleapis.com/projects/P/topics/T.
const sourcePrefix = "//pubsub.googleapis.com/"

// maxDataBytes bounds the CloudEvent data read: Pub/Sub's own limit is 10 MB of message data,
// and drivesync's messages are at most 64 KiB, base64 in JSON.
const maxDataBytes = 1 << 20

// ErrMalformed marks a CloudEvent that is not a readable Pub/Sub message; redelivering it cannot
// help.
var ErrMalformed = errors.New("malformed pub/sub cloudevent")

// Message is one Pub/Sub message as a push delivered it.
type Message struct {
	// Topic is the topic ID (the last segment of the topic name), or "" when the event's
	// source names none.
	Topic string
	// ID is Pub/Sub's message ID, for logs.
	ID         string
	Data       []byte
	Attributes map[string]string
}

// messagePublishedData is google.events.cloud.pubsub.v1.MessagePublishedData, the fields read.
type messagePublishedData struct {
	Message *struct {
		Data        []byte            `json:"data"` // base64 in JSON
		Attributes  map[string]string `json:"attributes"`
		MessageID   string            `json:"messageId"`
		MessageID2  string            `json:"message_id"`
		PublishTime string            `json:"publishTime"`
	} `json:"message"`
	Subscription string `json:"subscription"`
}

// Decode returns the Pub/Sub message e carries. Every error wraps ErrMalformed.
func Decode(e event.Event) (Message, error) {
	data := e.Data()
	if len(data) == 0 {
		return Message{}, fmt.Errorf("%w: no data", ErrMalformed)
	}
	if len(data) > maxDataBytes {
		return Message{}, fmt.Errorf("%w: data is %d bytes, the limit is %d", ErrMalformed, len(data), maxDataBytes)
	}
	var d messagePublishedData
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&d); err != nil {
		return Message{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if d.Message == nil {
		return Message{}, fmt.Errorf("%w: no message", ErrMalformed)
	}
	m := Message{Topic: TopicOf(e.Source()), ID: d.Message.MessageID, Data: d.Message.Data, Attributes: d.Message.Attributes}
	if m.ID == "" {
		m.ID = d.Message.MessageID2
	}
	if m.ID == "" {
		m.ID = e.ID()
	}
	if m.Attributes == nil {
		m.Attributes = map[string]string{}
	}
	return m, nil
}

// TopicOf returns the topic ID named by a Pub/Sub CloudEvent source
// (//pubsub.googleapis.com/projects/P/topics/T), or "" for any other source.
func TopicOf(source string) string {
	rest, ok := strings.CutPrefix(source, sourcePrefix)
	if !ok {
		return ""
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 4 || parts[0] != "projects" || parts[2] != "topics" || parts[1] == "" || parts[3] == "" {
		return ""
	}
	return parts[3]
}
