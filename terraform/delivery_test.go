package terraform_test

import (
	"strings"
	"testing"
	"time"

	"github.com/efactori/drivesync/shared/config"
	tf "github.com/efactori/drivesync/terraform"
)

// The committed declaration loads, names the event functions and topics the code knows, and
// gives every subscription an ack deadline no shorter than its function's timeout (capped at
// Pub/Sub's 600 s).
func TestLoadDeliveryCommitted(t *testing.T) {
	t.Parallel()
	d, err := tf.LoadDelivery()
	if err != nil {
		t.Fatalf("LoadDelivery: %v", err)
	}
	for _, fn := range []string{config.FunctionSyncDocument, config.FunctionInitialCopy} {
		if _, ok := d.Functions[fn]; !ok {
			t.Errorf("delivery.json does not declare function %s", fn)
		}
	}
	for topic, fn := range map[string]string{
		config.TopicDocumentEvents: config.FunctionSyncDocument,
		config.TopicCopyTasks:      config.FunctionSyncDocument,
		config.TopicCopyRequests:   config.FunctionInitialCopy,
	} {
		_, s, ok := d.SubscriptionFor(topic)
		if !ok {
			t.Errorf("no subscription delivers %s", topic)
			continue
		}
		if s.Function != fn {
			t.Errorf("%s is delivered to %s, want %s", topic, s.Function, fn)
		}
		if got, want := s.AckDeadline(), min(d.Functions[fn].Timeout(), 600*time.Second); got < want {
			t.Errorf("%s: ack deadline %v below %v", topic, got, want)
		}
		if s.MinBackoff() > s.MaxBackoff() {
			t.Errorf("%s: min backoff %v above max %v", topic, s.MinBackoff(), s.MaxBackoff())
		}
	}
}

func TestParseDeliveryRejects(t *testing.T) {
	t.Parallel()
	const fn = `"functions":{"F":{"max_instances":2,"concurrency":4,"timeout_seconds":60}}`
	for _, tc := range []struct {
		name, json, want string
	}{
		{"unknown field", `{` + fn + `,"subscriptions":{"s":{"topic":"t","function":"F","ack_deadline_seconds":60,"min_backoff_seconds":1,"max_backoff_seconds":2,"max_delivery_attempts":5,"ack":1}}}`, "unknown field"},
		{"undeclared function", `{` + fn + `,"subscriptions":{"s":{"topic":"t","function":"G","ack_deadline_seconds":60,"min_backoff_seconds":1,"max_backoff_seconds":2,"max_delivery_attempts":5}}}`, `function "G" is not declared`},
		{"deadline below timeout", `{` + fn + `,"subscriptions":{"s":{"topic":"t","function":"F","ack_deadline_seconds":10,"min_backoff_seconds":1,"max_backoff_seconds":2,"max_delivery_attempts":5}}}`, "below F's timeout"},
		{"backoff reversed", `{` + fn + `,"subscriptions":{"s":{"topic":"t","function":"F","ack_deadline_seconds":60,"min_backoff_seconds":5,"max_backoff_seconds":2,"max_delivery_attempts":5}}}`, "backoff 5..2"},
		{"too few attempts", `{` + fn + `,"subscriptions":{"s":{"topic":"t","function":"F","ack_deadline_seconds":60,"min_backoff_seconds":1,"max_backoff_seconds":2,"max_delivery_attempts":4}}}`, "max_delivery_attempts 4"},
		{"no instances", `{"functions":{"F":{"max_instances":0,"concurrency":4,"timeout_seconds":60}},"subscriptions":{"s":{"topic":"t","function":"F","ack_deadline_seconds":60,"min_backoff_seconds":1,"max_backoff_seconds":2,"max_delivery_attempts":5}}}`, "max_instances 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := tf.ParseDelivery([]byte(tc.json))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseDelivery = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	good := `{` + fn + `,"subscriptions":{"s":{"topic":"t","function":"F","ack_deadline_seconds":60,"min_backoff_seconds":1,"max_backoff_seconds":2,"max_delivery_attempts":5}}}`
	d, err := tf.ParseDelivery([]byte(good))
	if err != nil {
		t.Fatalf("ParseDelivery(good) = %v", err)
	}
	if got, want := d.Functions["F"].Concurrency, 4; got != want {
		t.Errorf("concurrency = %d, want %d", got, want)
	}
}
