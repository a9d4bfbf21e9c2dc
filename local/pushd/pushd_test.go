package pushd_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"

	"github.com/efactori/drivesync/local/emulators"
	"github.com/efactori/drivesync/local/pushd"
)

func TestMain(m *testing.M) { emulators.Main(m) }

// instance plays one function instance: it checks the push body, records every delivery and
// answers as script says for the message's data and attempt.
type instance struct {
	t      *testing.T
	mu     *sync.Mutex
	seen   map[string][]int // data → attempts delivered
	ok     map[string]int   // data → 2xx answers
	now    int
	most   int
	script func(data string, attempt int) (time.Duration, int)
}

func (in *instance) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Message struct {
			Data      string `json:"data"`
			MessageID string `json:"messageId"`
		} `json:"message"`
		Subscription    string `json:"subscription"`
		DeliveryAttempt int    `json:"deliveryAttempt"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Message.MessageID == "" || !strings.Contains(body.Subscription, "/subscriptions/") {
		in.t.Errorf("push body: %+v, %v", body, err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if !strings.Contains(r.URL.Path, "/topics/") {
		in.t.Errorf("pushed to %s, want the topic in the path", r.URL.Path)
	}
	data, _ := base64.StdEncoding.DecodeString(body.Message.Data)
	in.mu.Lock()
	in.now++
	in.most = max(in.most, in.now)
	in.seen[string(data)] = append(in.seen[string(data)], body.DeliveryAttempt)
	in.mu.Unlock()
	wait, code := in.script(string(data), body.DeliveryAttempt)
	time.Sleep(wait)
	in.mu.Lock()
	in.now--
	if code/100 == 2 {
		in.ok[string(data)]++
	}
	in.mu.Unlock()
	w.WriteHeader(code)
}

// The pusher delivers every message to two instances of two concurrent requests each, never
// more at once; a push answered 503 comes back and is acknowledged the next time; a push still
// running at the ack deadline is delivered again meanwhile; a message refused on every attempt
// goes to the dead-letter topic after MaxAttempts and is acknowledged.
func TestPusherDeliversWithPushSemantics(t *testing.T) {
	ps := emulators.PubSub(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	project := ps.Project()
	topic, dlt := "projects/"+project+"/topics/work", "projects/"+project+"/topics/work-dead"
	sub, dltSub := "projects/"+project+"/subscriptions/work-pull", "projects/"+project+"/subscriptions/work-dead-pull"
	for _, tp := range []string{topic, dlt} {
		if _, err := ps.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: tp}); err != nil {
			t.Fatal(err)
		}
	}
	for s, tp := range map[string]string{sub: topic, dltSub: dlt} {
		if _, err := ps.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{Name: s, Topic: tp, AckDeadlineSeconds: 60}); err != nil {
			t.Fatal(err)
		}
	}

	var mu sync.Mutex
	seen, ok := map[string][]int{}, map[string]int{}
	script := func(data string, attempt int) (time.Duration, int) {
		switch {
		case data == "poison":
			return 0, http.StatusInternalServerError
		case strings.HasPrefix(data, "busy") && attempt == 1:
			return 0, http.StatusServiceUnavailable
		case data == "slow" && attempt == 1:
			return 6 * time.Second, http.StatusNoContent
		}
		return 50 * time.Millisecond, http.StatusNoContent
	}
	var urls []string
	var instances []*instance
	for range 2 {
		in := &instance{t: t, mu: &mu, seen: seen, ok: ok, script: script}
		srv := httptest.NewServer(in)
		t.Cleanup(srv.Close)
		urls, instances = append(urls, srv.URL), append(instances, in)
	}
	pool, err := pushd.NewPool("Work", urls, 2)
	if err != nil {
		t.Fatal(err)
	}
	p, err := pushd.New(pushd.Options{Client: ps, Pool: pool, Subscription: pushd.Subscription{
		Name: sub, Topic: topic, DeadLetterTopic: dlt, AckDeadline: time.Second,
		MinBackoff: 200 * time.Millisecond, MaxBackoff: time.Second, MaxAttempts: 3}})
	if err != nil {
		t.Fatal(err)
	}

	var want []string
	for i := range 20 {
		want = append(want, fmt.Sprintf("ok-%02d", i))
	}
	want = append(want, "busy-1", "busy-2", "busy-3", "slow")
	pub := ps.Publisher(topic)
	for _, d := range append(want, "poison") {
		if _, err := pub.Publish(ctx, &pubsub.Message{Data: []byte(d)}).Get(ctx); err != nil {
			t.Fatal(err)
		}
	}
	pub.Stop()

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		c := p.Counters()
		mu.Lock()
		missing := 0
		for _, d := range want {
			if ok[d] == 0 {
				missing++
			}
		}
		slowTimes := len(seen["slow"])
		mu.Unlock()
		if missing == 0 && c.DeadLetters == 1 && slowTimes >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s: %d messages never answered 2xx, %d dead letters, slow delivered %d times; counters %+v", missing, c.DeadLetters, slowTimes, c)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond) // anything redelivered by mistake would show now
	stop()
	if err := <-done; err != context.Canceled {
		t.Errorf("Run = %v, want context.Canceled", err)
	}

	c := p.Counters()
	mu.Lock()
	defer mu.Unlock()
	for i, in := range instances {
		if in.most > 2 {
			t.Errorf("instance %d held %d pushes at once, want at most 2", i, in.most)
		}
	}
	if busy := pool.BusyTime(); busy < 3*time.Second || busy > 60*time.Second {
		t.Errorf("BusyTime = %v, want at least the 3 s slow ran before the redelivery, and less than the run", busy)
	}
	for i, n := range c.MaxInFlight {
		if n > 2 || n < 1 {
			t.Errorf("MaxInFlight[%d] = %d, want 1..2", i, n)
		}
	}
	for _, d := range want {
		if d == "slow" {
			continue
		}
		if got := ok[d]; got != 1 {
			t.Errorf("%s answered 2xx %d times, want once (delivered at attempts %v)", d, got, seen[d])
		}
	}
	for _, d := range []string{"busy-1", "busy-2", "busy-3"} {
		if got := seen[d]; len(got) != 2 || got[0] != 1 || got[1] != 2 {
			t.Errorf("%s delivered at attempts %v, want [1 2]", d, got)
		}
	}
	if got := seen["poison"]; len(got) != 3 {
		t.Errorf("poison delivered at attempts %v, want 3 attempts before the dead-letter topic", got)
	}
	if got, want := c.Nacks["503"], int64(3); got != want {
		t.Errorf("nacks 503 = %d, want %d", got, want)
	}
	if got, want := c.Nacks["500"], int64(3); got != want {
		t.Errorf("nacks 500 = %d, want %d", got, want)
	}
	if c.DeadlineExpiries < 1 {
		t.Errorf("deadline expiries = %d, want >= 1 (slow ran 6 s past a 1 s deadline)", c.DeadlineExpiries)
	}
	if got, want := c.Deliveries, int64(len(want)+3+3+1); got < want {
		t.Errorf("deliveries = %d, want >= %d", got, want)
	}

	//lint:ignore SA1019 a test reading the emulator needs the empty answer at once
	resp, err := ps.SubscriptionAdminClient.Pull(ctx, &pubsubpb.PullRequest{Subscription: dltSub, MaxMessages: 10, ReturnImmediately: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.GetReceivedMessages(); len(got) != 1 || string(got[0].GetMessage().GetData()) != "poison" ||
		got[0].GetMessage().GetAttributes()["CloudPubSubDeadLetterSourceSubscription"] != sub {
		t.Errorf("dead-letter topic holds %v, want the poison message from %s", got, sub)
	}
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	pool, err := pushd.NewPool("F", []string{"http://127.0.0.1:1"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	good := pushd.Subscription{Name: "projects/p/subscriptions/s", Topic: "projects/p/topics/t", AckDeadline: 10 * time.Second, MaxBackoff: time.Second}
	for _, tc := range []struct {
		name string
		edit func(*pushd.Options)
		want string
	}{
		{"no client", func(o *pushd.Options) { o.Client = nil }, "no Pub/Sub client"},
		{"bad subscription", func(o *pushd.Options) { o.Subscription.Name = "s" }, "subscription name"},
		{"bad topic", func(o *pushd.Options) { o.Subscription.Topic = "t" }, "topic"},
		{"deadline", func(o *pushd.Options) { o.Subscription.AckDeadline = time.Hour }, "ack deadline"},
		{"backoff", func(o *pushd.Options) { o.Subscription.MinBackoff = time.Minute }, "backoff"},
		{"dead letter without attempts", func(o *pushd.Options) { o.Subscription.DeadLetterTopic = "projects/p/topics/d" }, "max attempts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := pushd.Options{Client: &pubsub.Client{}, Pool: pool, Subscription: good}
			tc.edit(&o)
			if _, err := pushd.New(o); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if _, err := pushd.NewPool("F", nil, 1); err == nil {
		t.Error("NewPool without instances succeeded")
	}
}
