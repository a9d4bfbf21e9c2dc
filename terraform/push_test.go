package terraform_test

// The checks of how Pub/Sub feeds the event functions (subscriptions.tf, with delivery.json's
// settings) and of the production signals (slo.tf: the log fields the metrics read). check in
// drift_test.go runs them with the others.

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/efactori/drivesync/shared/logging"
)

const (
	// deliveryJSON is the one declaration of how Pub/Sub delivers to the event functions, read
	// by Terraform (local.delivery) and by the local stack.
	deliveryJSON = "delivery.json"

	// deadLetterTopic is where every subscription feeding a function gives up on a message.
	deadLetterTopic = "drivesync-dead-letter"

	// pubsubAgent is how Pub/Sub's service agent is named in an IAM member; it dead-letters
	// messages and mints the push tokens.
	pubsubAgent = "@gcp-sa-pubsub.iam.gserviceaccount.com"

	// maxAckDeadline is the longest ack deadline Pub/Sub accepts, in seconds.
	maxAckDeadline = 600
)

// loggedFields are the fields of drivesync's log lines a log-based metric may read: a metric that
// extracts anything else would stay empty.
var loggedFields = []string{logging.FieldDriveLagMs, logging.FieldRunID, logging.FieldErrorCode}

// deliveryFile is delivery.json, decoded twice: as Go values to compare with, and as the value
// Terraform's local.delivery holds, to evaluate the .tf expressions that read it.
type deliveryFile struct {
	Functions map[string]struct {
		MaxInstances   int64 `json:"max_instances"`
		Concurrency    int64 `json:"concurrency"`
		TimeoutSeconds int64 `json:"timeout_seconds"`
	} `json:"functions"`
	Subscriptions map[string]struct {
		Topic               string `json:"topic"`
		Function            string `json:"function"`
		AckDeadlineSeconds  int64  `json:"ack_deadline_seconds"`
		MinBackoffSeconds   int64  `json:"min_backoff_seconds"`
		MaxBackoffSeconds   int64  `json:"max_backoff_seconds"`
		MaxDeliveryAttempts int64  `json:"max_delivery_attempts"`
	} `json:"subscriptions"`
	value cty.Value
}

func parseDelivery(b []byte) (deliveryFile, error) {
	var d deliveryFile
	if err := json.Unmarshal(b, &d); err != nil {
		return d, fmt.Errorf("%s: %w", deliveryJSON, err)
	}
	ty, err := ctyjson.ImpliedType(b)
	if err != nil {
		return d, fmt.Errorf("%s: %w", deliveryJSON, err)
	}
	if d.value, err = ctyjson.Unmarshal(b, ty); err != nil {
		return d, fmt.Errorf("%s: %w", deliveryJSON, err)
	}
	return d, nil
}

// eval evaluates a literal, or an expression of local.delivery, the only local it resolves: the
// settings of a subscription or a function must come from delivery.json or be written out.
func (tf *terraform) eval(e hclsyntax.Expression) (cty.Value, error) {
	if e == nil {
		return cty.NilVal, errors.New("not set")
	}
	for _, tr := range e.Variables() {
		if tr.RootName() != "local" || len(tr) < 2 {
			return cty.NilVal, fmt.Errorf("it reads %s; use a literal or local.delivery (%s)", tr.RootName(), deliveryJSON)
		}
		if a, ok := tr[1].(hcl.TraverseAttr); !ok || a.Name != "delivery" {
			return cty.NilVal, fmt.Errorf("it reads another local than local.delivery (%s)", deliveryJSON)
		}
	}
	if tf.delivery.value == cty.NilVal {
		return cty.NilVal, fmt.Errorf("no %s", deliveryJSON)
	}
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{"local": cty.ObjectVal(map[string]cty.Value{"delivery": tf.delivery.value})}}
	v, diags := e.Value(ctx)
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	if !v.IsWhollyKnown() || v.IsNull() {
		return cty.NilVal, errors.New("not a known value")
	}
	return v, nil
}

// integer is eval for a whole number.
func (tf *terraform) integer(e hclsyntax.Expression) (int64, error) {
	v, err := tf.eval(e)
	if err != nil {
		return 0, err
	}
	if v.Type() != cty.Number {
		return 0, errors.New("not a number")
	}
	n, acc := v.AsBigFloat().Int64()
	if acc != big.Exact {
		return 0, errors.New("not a whole number")
	}
	return n, nil
}

// text is eval for a string.
func (tf *terraform) text(e hclsyntax.Expression) (string, error) {
	v, err := tf.eval(e)
	if err != nil {
		return "", err
	}
	if v.Type() != cty.String {
		return "", errors.New("not a string")
	}
	return v.AsString(), nil
}

// subscriptions checks the subscriptions that push to the event functions: each CloudEvent entry
// point is fed each topic it consumes by exactly one subscription, which pushes to the
// function's URL with the topic's name as the path (the functions framework reads the topic from
// it), authenticates with an OIDC token of an account of its own, waits at least the function's
// timeout, retries with backoff and dead-letters, all as delivery.json declares; the functions'
// instances, concurrency and timeout are delivery.json's too; and Pub/Sub's service agent may
// dead-letter and mint the push tokens.
func (c *checker) subscriptions() {
	byName := map[string]function{}
	for _, f := range c.functions {
		byName[f.name] = f
	}
	for _, f := range c.functions {
		if c.code.entryPoints[f.entryPoint] != kindCloudEvent {
			continue
		}
		c.functionDelivery(f)
	}

	fed := map[string][]string{} // entry point → topics pushed to it, once per subscription
	declared := map[string]bool{}
	var pushSubs []string
	pushAccounts := map[string]bool{}
	for _, name := range sortedKeys(c.tf.resources["google_pubsub_subscription"]) {
		b := c.tf.resources["google_pubsub_subscription"][name]
		addr := "google_pubsub_subscription." + name
		pc := block(b, "push_config")
		if pc == nil {
			continue // a pull subscription, such as the dead letters'
		}
		endpoint := attr(pc, "push_endpoint")
		fns := c.tf.refs(endpoint, "google_cloudfunctions2_function")
		if len(fns) != 1 {
			c.fail("%s: push_config.push_endpoint must name one google_cloudfunctions2_function", addr)
			continue
		}
		f, ok := byName[fns[0]]
		if !ok {
			c.fail("%s pushes to google_cloudfunctions2_function.%s, which deploys no registered entry point", addr, fns[0])
			continue
		}
		if kind := c.code.entryPoints[f.entryPoint]; kind != kindCloudEvent {
			c.fail("%s pushes to %s, whose entry point %s is an %s function, not a CloudEvent one", addr, f.addr, f.entryPoint, kind)
			continue
		}
		pushSubs = append(pushSubs, name)
		topics := c.tf.topics(attr(b, "topic"))
		if len(topics) != 1 {
			c.fail("%s: topic must name one topic", addr)
			continue
		}
		topic := topics[0]
		fed[f.entryPoint] = append(fed[f.entryPoint], topic)
		if got := c.tf.topics(endpoint); !slices.Equal(got, topics) {
			c.fail("%s: the push endpoint's path names %v, want the topic %s: the functions framework reads the topic from the path", addr, got, topic)
		}

		if tok := block(pc, "oidc_token"); tok == nil {
			c.fail("%s pushes without an oidc_token: %s would have to accept unauthenticated requests", addr, f.entryPoint)
		} else {
			sas := c.tf.refs(attr(tok, "service_account_email"), "google_service_account")
			if len(sas) != 1 {
				c.fail("%s: oidc_token.service_account_email must name one google_service_account", addr)
			}
			for _, sa := range sas {
				if other, dup := c.triggerSA[sa]; dup && other != f.entryPoint {
					c.fail("google_service_account.%s pushes to both %s and %s; give each function its own push account", sa, other, f.entryPoint)
				}
				c.triggerSA[sa] = f.entryPoint
				pushAccounts[sa] = true
			}
			if aud := c.tf.refs(attr(tok, "audience"), "google_cloudfunctions2_function"); !slices.Equal(aud, fns) {
				c.fail("%s: oidc_token.audience must be the URL of %s, which Cloud Run checks", addr, f.addr)
			}
		}

		// The settings, against delivery.json.
		key := ""
		for _, k := range sortedKeys(c.tf.delivery.Subscriptions) {
			if d := c.tf.delivery.Subscriptions[k]; d.Topic == topic && d.Function == f.entryPoint {
				key = k
			}
		}
		if key == "" {
			c.fail("%s feeds %s to %s, which %s does not declare", addr, topic, f.entryPoint, deliveryJSON)
			continue
		}
		declared[key] = true
		want := c.tf.delivery.Subscriptions[key]
		c.setting(addr, "ack_deadline_seconds", attr(b, "ack_deadline_seconds"), want.AckDeadlineSeconds)
		if ack, err := c.tf.integer(attr(b, "ack_deadline_seconds")); err == nil {
			if timeout := c.tf.delivery.Functions[f.entryPoint].TimeoutSeconds; ack < timeout {
				c.fail("%s: ack_deadline_seconds %d is shorter than the timeout of %s (%d s): Pub/Sub would redeliver a message still being handled", addr, ack, f.entryPoint, timeout)
			}
			if ack > maxAckDeadline {
				c.fail("%s: ack_deadline_seconds %d is above Pub/Sub's maximum of %d", addr, ack, maxAckDeadline)
			}
		}
		if rp := block(b, "retry_policy"); rp == nil {
			c.fail("%s has no retry_policy: Pub/Sub would retry a failed delivery at once", addr)
		} else {
			c.duration(addr, "retry_policy.minimum_backoff", attr(rp, "minimum_backoff"), want.MinBackoffSeconds)
			c.duration(addr, "retry_policy.maximum_backoff", attr(rp, "maximum_backoff"), want.MaxBackoffSeconds)
		}
		if dl := block(b, "dead_letter_policy"); dl == nil {
			c.fail("%s has no dead_letter_policy: a message that always fails would be retried for 7 days, then lost", addr)
		} else {
			if got := c.tf.topics(attr(dl, "dead_letter_topic")); !slices.Equal(got, []string{deadLetterTopic}) {
				c.fail("%s dead-letters to %v, want [%s]", addr, got, deadLetterTopic)
			}
			c.setting(addr, "dead_letter_policy.max_delivery_attempts", attr(dl, "max_delivery_attempts"), want.MaxDeliveryAttempts)
		}
	}

	for _, f := range c.functions {
		want, known := triggers[f.entryPoint]
		if c.code.entryPoints[f.entryPoint] != kindCloudEvent || !known {
			continue
		}
		got := fed[f.entryPoint]
		if !sameSet(got, want) {
			c.fail("%s: %s is fed by %v, want %v", f.addr, f.entryPoint, sortedSet(got), sortedSet(want))
		}
		for _, topic := range sortedSet(got) {
			if n := countOf(got, topic); n > 1 {
				c.fail("%s: %s is fed %s by %d subscriptions, want one: each message would be handled %d times", f.addr, f.entryPoint, topic, n, n)
			}
		}
	}
	for _, k := range sortedKeys(c.tf.delivery.Subscriptions) {
		d := c.tf.delivery.Subscriptions[k]
		if _, deployed := c.code.entryPoints[d.Function]; deployed && !declared[k] {
			c.fail("%s declares the subscription %s (%s to %s), which no google_pubsub_subscription deploys", deliveryJSON, k, d.Topic, d.Function)
		}
	}
	c.pubsubAgentGrants(pushSubs, pushAccounts)
}

// functionDelivery checks an event function's instances, concurrency and timeout against
// delivery.json.
func (c *checker) functionDelivery(f function) {
	want, ok := c.tf.delivery.Functions[f.entryPoint]
	if !ok {
		c.fail("%s declares no function %s", deliveryJSON, f.entryPoint)
		return
	}
	sc := block(f.block, "service_config")
	c.setting(f.addr, "service_config.max_instance_count", attr(sc, "max_instance_count"), want.MaxInstances)
	c.setting(f.addr, "service_config.max_instance_request_concurrency", attr(sc, "max_instance_request_concurrency"), want.Concurrency)
	c.setting(f.addr, "service_config.timeout_seconds", attr(sc, "timeout_seconds"), want.TimeoutSeconds)
}

// setting checks that a whole-number setting is delivery.json's.
func (c *checker) setting(addr, name string, e hclsyntax.Expression, want int64) {
	got, err := c.tf.integer(e)
	switch {
	case err != nil:
		c.fail("%s: %s cannot be read: %v", addr, name, err)
	case got != want:
		c.fail("%s: %s is %d, %s declares %d", addr, name, got, deliveryJSON, want)
	}
}

// duration checks that a duration setting ("10s") is delivery.json's number of seconds.
func (c *checker) duration(addr, name string, e hclsyntax.Expression, wantSeconds int64) {
	got, err := c.tf.text(e)
	switch want := fmt.Sprintf("%ds", wantSeconds); {
	case err != nil:
		c.fail("%s: %s cannot be read: %v", addr, name, err)
	case got != want:
		c.fail("%s: %s is %q, %s declares %q", addr, name, got, deliveryJSON, want)
	}
}

// pubsubAgentGrants checks what Pub/Sub's service agent needs to dead-letter (subscriber on each
// push subscription, publisher on the dead-letter topic) and to push with a token (token creator
// on each push account).
func (c *checker) pubsubAgentGrants(subs []string, accounts map[string]bool) {
	subscriber, creator := map[string]bool{}, map[string]bool{}
	var publisher bool
	for _, typ := range []string{"google_pubsub_subscription_iam_member", "google_service_account_iam_member", "google_pubsub_topic_iam_member"} {
		for _, name := range sortedKeys(c.tf.resources[typ]) {
			b := c.tf.resources[typ][name]
			if !c.tf.mentions(attr(b, "member"), pubsubAgent) {
				continue
			}
			role, _ := literal(attr(b, "role"))
			switch {
			case typ == "google_pubsub_subscription_iam_member" && role == "roles/pubsub.subscriber":
				for _, s := range c.tf.eachRefs(b, "subscription", "google_pubsub_subscription") {
					subscriber[s] = true
				}
			case typ == "google_service_account_iam_member" && role == "roles/iam.serviceAccountTokenCreator":
				for _, sa := range c.tf.eachRefs(b, "service_account_id", "google_service_account") {
					creator[sa] = true
				}
			case typ == "google_pubsub_topic_iam_member" && role == "roles/pubsub.publisher":
				publisher = publisher || slices.Contains(c.tf.topics(attr(b, "topic")), deadLetterTopic)
			}
		}
	}
	for _, s := range subs {
		if !subscriber[s] {
			c.fail("Pub/Sub's service agent is not granted roles/pubsub.subscriber on google_pubsub_subscription.%s: it could not dead-letter its messages", s)
		}
	}
	for _, sa := range sortedKeys(accounts) {
		if !creator[sa] {
			c.fail("Pub/Sub's service agent is not granted roles/iam.serviceAccountTokenCreator on google_service_account.%s, the push account it mints tokens for", sa)
		}
	}
	if len(subs) > 0 && !publisher {
		c.fail("Pub/Sub's service agent is not granted roles/pubsub.publisher on %s: dead letters could not be forwarded", deadLetterTopic)
	}
}

// signals checks that the log-based metrics read fields the code logs, and that an SLO on
// document events cuts a lag distribution of document events (not copy tasks) and is watched by a
// burn-rate alert.
func (c *checker) signals() {
	lagMetrics := map[string]bool{} // google_logging_metric names of document events' lag
	for _, name := range sortedKeys(c.tf.resources["google_logging_metric"]) {
		b := c.tf.resources["google_logging_metric"][name]
		addr := "google_logging_metric." + name
		if e := attr(b, "value_extractor"); e != nil {
			got, ok := literal(e)
			field, extracted := jsonPayloadField(got)
			switch {
			case !ok:
				c.fail("%s: value_extractor must be a literal", addr)
			case !extracted || !slices.Contains(loggedFields, field):
				c.fail("%s: value_extractor %s reads no field drivesync logs; want EXTRACT(jsonPayload.F) with F one of %v (shared/logging)", addr, got, loggedFields)
			}
			filter := attr(b, "filter")
			if field == logging.FieldDriveLagMs && c.tf.mentions(filter, "jsonPayload."+logging.FieldDriveLagMs+":*") &&
				c.tf.mentions(filter, "NOT jsonPayload."+logging.FieldRunID+":*") {
				lagMetrics[name] = true
			}
		}
		if le, ok := attr(b, "label_extractors").(*hclsyntax.ObjectConsExpr); ok {
			for _, it := range le.Items {
				got, ok := literal(it.ValueExpr)
				if field, extracted := jsonPayloadField(got); ok && strings.Contains(got, "jsonPayload.") && (!extracted || !slices.Contains(loggedFields, field)) {
					c.fail("%s: label extractor %s reads no field drivesync logs; want one of %v (shared/logging)", addr, got, loggedFields)
				}
			}
		}
	}

	slos := c.tf.resources["google_monitoring_slo"]
	if len(slos) == 0 {
		c.fail("no google_monitoring_slo: document events have no objective")
	}
	for _, name := range sortedKeys(slos) {
		addr := "google_monitoring_slo." + name
		cut := block(block(slos[name], "request_based_sli"), "distribution_cut")
		metrics := c.tf.refs(attr(cut, "distribution_filter"), "google_logging_metric")
		if len(metrics) != 1 || !lagMetrics[metrics[0]] {
			c.fail("%s must cut the distribution of a google_logging_metric extracting jsonPayload.%s from document events only (filter with jsonPayload.%s:* and NOT jsonPayload.%s:*); it reads %v",
				addr, logging.FieldDriveLagMs, logging.FieldDriveLagMs, logging.FieldRunID, metrics)
		}
		var watched bool
		for _, pn := range sortedKeys(c.tf.resources["google_monitoring_alert_policy"]) {
			for _, cond := range blocks(c.tf.resources["google_monitoring_alert_policy"][pn], "conditions") {
				f := attr(block(cond, "condition_threshold"), "filter")
				if c.tf.mentions(f, "select_slo_burn_rate(") && slices.Contains(c.tf.refs(f, "google_monitoring_slo"), name) {
					watched = true
				}
			}
		}
		if !watched {
			c.fail("%s has no burn-rate alert (a google_monitoring_alert_policy on select_slo_burn_rate of it)", addr)
		}
	}
}

// jsonPayloadField returns F of "EXTRACT(jsonPayload.F)".
func jsonPayloadField(extractor string) (string, bool) {
	f, ok := strings.CutPrefix(extractor, "EXTRACT(jsonPayload.")
	if !ok {
		return "", false
	}
	return strings.CutSuffix(f, ")")
}

func countOf(s []string, v string) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}
