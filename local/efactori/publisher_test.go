package efactori_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/google/go-cmp/cmp"

	"github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/local/emulators"
	"github.com/efactori/drivesync/shared/drivesync"
)

func sampleEvent(t *testing.T) drivesync.Event {
	t.Helper()
	s, err := efactori.New(efactori.Options{
		DevToken: devToken, Audience: audience, SigningKey: signingKey(), BaseURL: "http://127.0.0.1:9",
		Companies: []efactori.CompanySpec{efactori.Empty},
	})
	if err != nil {
		t.Fatal(err)
	}
	e, err := s.Upsert("empty", "doc-1", efactori.Upsert{Kind: drivesync.KindQuote, Number: "D-2026/1", Date: "2026-02-03", Title: "Devis été ☀️"})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestEventMessage(t *testing.T) {
	t.Parallel()
	e := sampleEvent(t)
	msg, err := efactori.EventMessage(e)
	if err != nil {
		t.Fatalf("EventMessage: %v", err)
	}
	want := map[string]string{"companyId": "empty", "eventType": "document.upserted", "schemaVersion": "1"}
	if diff := cmp.Diff(want, msg.Attributes); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
	got, err := drivesync.DecodeEvent(msg.Data)
	if err != nil {
		t.Fatalf("DecodeEvent(data): %v", err)
	}
	if diff := cmp.Diff(e, got); diff != "" {
		t.Errorf("data (-want +got):\n%s", diff)
	}

	e.Document.Kind = "invoice"
	if _, err := efactori.EventMessage(e); err == nil {
		t.Error("EventMessage accepted an event drivesync would reject")
	}
}

func TestPublisherOnEmulator(t *testing.T) {
	t.Parallel()
	client := emulators.PubSub(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	project := client.Project()
	topic := "projects/" + project + "/topics/" + efactori.Topic
	sub := "projects/" + project + "/subscriptions/efactori-test"
	if _, err := client.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: topic}); err != nil {
		t.Fatalf("create topic: %v", err)
	}
	if _, err := client.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{Name: sub, Topic: topic}); err != nil {
		t.Fatalf("create subscription: %v", err)
	}
	p, err := efactori.NewPublisher(client, efactori.Topic)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	e := sampleEvent(t)
	id, err := p.Publish(ctx, e)
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if strings.TrimSpace(id) == "" {
		t.Error("Publish returned an empty message id")
	}

	rctx, rcancel := context.WithCancel(ctx)
	var got *pubsub.Message
	err = client.Subscriber(sub).Receive(rctx, func(_ context.Context, m *pubsub.Message) {
		m.Ack()
		got = m
		rcancel()
	})
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	if got == nil {
		t.Fatal("no message received")
	}
	if got, want := got.ID, id; got != want {
		t.Errorf("message id = %s, Publish returned %s", got, want)
	}
	if diff := cmp.Diff(e.Attributes(), got.Attributes); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
	decoded, err := drivesync.DecodeEvent(got.Data)
	if err != nil {
		t.Fatalf("DecodeEvent: %v", err)
	}
	if diff := cmp.Diff(e, decoded); diff != "" {
		t.Errorf("event (-published +received):\n%s", diff)
	}
}

func TestNewPublisherRejectsNil(t *testing.T) {
	t.Parallel()
	if _, err := efactori.NewPublisher(nil, efactori.Topic); err == nil {
		t.Error("NewPublisher(nil) succeeded")
	}
}
