// Package terraform holds what the deployment declares for code to read: delivery.json, how
// Pub/Sub delivers to the event functions and how many instances serve them. Terraform reads the
// same file with jsondecode, so the local stack and the fleet bench deliver as production does.
package terraform

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

//go:embed delivery.json
var deliveryJSON []byte

// Function is how Cloud Run serves one event function.
type Function struct {
	MaxInstances   int `json:"max_instances"`
	Concurrency    int `json:"concurrency"`
	TimeoutSeconds int `json:"timeout_seconds"`
}

// Timeout is the function's request timeout.
func (f Function) Timeout() time.Duration { return time.Duration(f.TimeoutSeconds) * time.Second }

// Subscription is how Pub/Sub pushes one topic to its function.
type Subscription struct {
	Topic               string `json:"topic"`
	Function            string `json:"function"`
	AckDeadlineSeconds  int    `json:"ack_deadline_seconds"`
	MinBackoffSeconds   int    `json:"min_backoff_seconds"`
	MaxBackoffSeconds   int    `json:"max_backoff_seconds"`
	MaxDeliveryAttempts int    `json:"max_delivery_attempts"`
}

// AckDeadline is how long Pub/Sub waits for a push's answer before it delivers again.
func (s Subscription) AckDeadline() time.Duration {
	return time.Duration(s.AckDeadlineSeconds) * time.Second
}

// MinBackoff and MaxBackoff bound the retry policy's exponential backoff.
func (s Subscription) MinBackoff() time.Duration {
	return time.Duration(s.MinBackoffSeconds) * time.Second
}

// MaxBackoff is the longest wait between two deliveries of a refused message.
func (s Subscription) MaxBackoff() time.Duration {
	return time.Duration(s.MaxBackoffSeconds) * time.Second
}

// Delivery is the whole of delivery.json.
type Delivery struct {
	Functions     map[string]Function     `json:"functions"`
	Subscriptions map[string]Subscription `json:"subscriptions"`
}

// LoadDelivery returns the committed declaration, validated.
func LoadDelivery() (Delivery, error) { return ParseDelivery(deliveryJSON) }

// ParseDelivery decodes and validates a delivery declaration; unknown fields are refused so a
// typo cannot silently fall back to zero.
func ParseDelivery(data []byte) (Delivery, error) {
	var d Delivery
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	var raw struct {
		Comment string `json:"_comment"`
		Delivery
	}
	if err := dec.Decode(&raw); err != nil {
		return Delivery{}, fmt.Errorf("decode delivery.json: %w", err)
	}
	d = raw.Delivery
	if err := d.Validate(); err != nil {
		return Delivery{}, fmt.Errorf("delivery.json: %w", err)
	}
	return d, nil
}

// Validate reports every problem at once, within the bounds Pub/Sub and Cloud Run accept.
func (d Delivery) Validate() error {
	var errs []error
	if len(d.Functions) == 0 {
		errs = append(errs, errors.New("no functions"))
	}
	for _, name := range slices.Sorted(maps.Keys(d.Functions)) {
		f := d.Functions[name]
		if f.MaxInstances < 1 {
			errs = append(errs, fmt.Errorf("function %s: max_instances %d, want >= 1", name, f.MaxInstances))
		}
		if f.Concurrency < 1 || f.Concurrency > 1000 {
			errs = append(errs, fmt.Errorf("function %s: concurrency %d, want 1..1000", name, f.Concurrency))
		}
		if f.TimeoutSeconds < 1 || f.TimeoutSeconds > 3600 {
			errs = append(errs, fmt.Errorf("function %s: timeout_seconds %d, want 1..3600", name, f.TimeoutSeconds))
		}
	}
	if len(d.Subscriptions) == 0 {
		errs = append(errs, errors.New("no subscriptions"))
	}
	for _, name := range slices.Sorted(maps.Keys(d.Subscriptions)) {
		s := d.Subscriptions[name]
		if s.Topic == "" {
			errs = append(errs, fmt.Errorf("subscription %s: no topic", name))
		}
		f, ok := d.Functions[s.Function]
		if !ok {
			errs = append(errs, fmt.Errorf("subscription %s: function %q is not declared", name, s.Function))
		}
		// Pub/Sub's limits: ack deadline 10..600 s, backoff 0..600 s, 5..100 attempts.
		if s.AckDeadlineSeconds < 10 || s.AckDeadlineSeconds > 600 {
			errs = append(errs, fmt.Errorf("subscription %s: ack_deadline_seconds %d, want 10..600", name, s.AckDeadlineSeconds))
		} else if ok && s.AckDeadlineSeconds < min(f.TimeoutSeconds, 600) {
			// A push still running when the deadline passes is delivered again while it runs.
			errs = append(errs, fmt.Errorf("subscription %s: ack_deadline_seconds %d is below %s's timeout %d s",
				name, s.AckDeadlineSeconds, s.Function, f.TimeoutSeconds))
		}
		if s.MinBackoffSeconds < 0 || s.MaxBackoffSeconds > 600 || s.MinBackoffSeconds > s.MaxBackoffSeconds {
			errs = append(errs, fmt.Errorf("subscription %s: backoff %d..%d s, want 0 <= min <= max <= 600",
				name, s.MinBackoffSeconds, s.MaxBackoffSeconds))
		}
		if s.MaxDeliveryAttempts < 5 || s.MaxDeliveryAttempts > 100 {
			errs = append(errs, fmt.Errorf("subscription %s: max_delivery_attempts %d, want 5..100", name, s.MaxDeliveryAttempts))
		}
	}
	return errors.Join(errs...)
}

// SubscriptionFor returns the subscription that delivers topic, by topic ID.
func (d Delivery) SubscriptionFor(topic string) (string, Subscription, bool) {
	for _, name := range slices.Sorted(maps.Keys(d.Subscriptions)) {
		if s := d.Subscriptions[name]; s.Topic == topic {
			return name, s, true
		}
	}
	return "", Subscription{}, false
}
