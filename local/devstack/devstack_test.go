package devstack_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"

	"github.com/efactori/drivesync/local/devstack"
	"github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/shared/config"
	"github.com/efactori/drivesync/shared/problem"
)

// The stack comes up with every part answering, serves the API through the real functions
// framework with a token from the eFactori stand-in, and leaves no process behind when stopped.
func TestStackServesAndStopsCleanly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	stack, err := devstack.Start(ctx, devstack.Options{
		Dir:                   t.TempDir(),
		Companies:             []efactori.CompanySpec{efactori.Acme},
		SyncDocumentInstances: 2,
	})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			stack.Stop()
		}
	})
	pids := stack.PIDs()
	if got, want := len(pids), 5; got != want {
		t.Fatalf("stack runs %d function processes, want %d (two SyncDocument instances)", got, want)
	}
	if got := len(stack.SyncDocumentURLs); got != 2 {
		t.Fatalf("SyncDocumentURLs = %v, want 2 instances", stack.SyncDocumentURLs)
	}
	// Each topic has a subscription on the emulator that pushd delivers from; none is a push
	// subscription, which would deliver a second time behind pushd's back.
	ps, err := pubsub.NewClient(ctx, devstack.ProjectID)
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	for _, topic := range []string{config.TopicDocumentEvents, config.TopicCopyTasks, config.TopicCopyRequests} {
		sub, err := ps.SubscriptionAdminClient.GetSubscription(ctx, &pubsubpb.GetSubscriptionRequest{Subscription: devstack.Subscription(topic)})
		if err != nil {
			t.Fatalf("subscription of %s: %v", topic, err)
		}
		if got := sub.GetPushConfig().GetPushEndpoint(); got != "" {
			t.Errorf("%s is pushed by the emulator to %s, want pushd alone", topic, got)
		}
		if stack.Pushers[topic] == nil {
			t.Errorf("no pusher delivers %s", topic)
		}
	}
	checkStatusEvents(ctx, t, stack, ps)
	// A malformed copy task published to its topic reaches SyncDocument through pushd, in the
	// push format the functions framework accepts, and is acknowledged. (Its full path is
	// covered by functions/synctest.)
	if _, err := ps.Publisher(config.TopicCopyTasks).Publish(ctx, &pubsub.Message{Data: []byte("not json")}).Get(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the copy task acknowledged through pushd", func() bool { return stack.Pushers[config.TopicCopyTasks].Counters().Acks == 1 })
	if c := stack.Pushers[config.TopicCopyTasks].Counters(); c.Deliveries != 1 || len(c.Nacks) != 0 {
		t.Errorf("copy-task pusher counters %+v, want one delivery, acknowledged", c)
	}
	// A killed SyncDocument instance is restarted on its port, as Cloud Run replaces it.
	sd := stack.Functions[config.FunctionSyncDocument]
	killed := sd.PID()
	if err := sd.Kill(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "SyncDocument restarted", func() bool { return sd.Restarts() == 1 })
	if sd.PID() == killed {
		t.Errorf("SyncDocument runs as the killed process %d", killed)
	}
	resp0, err := http.Post(stack.SyncDocumentURL+"/projects/"+devstack.ProjectID+"/topics/"+config.TopicCopyTasks,
		"application/json", strings.NewReader(`{"message":{"data":"bm90IGpzb24=","messageId":"1"},"subscription":"projects/`+devstack.ProjectID+`/subscriptions/x"}`))
	if err != nil {
		t.Fatalf("the restarted SyncDocument does not answer: %v", err)
	}
	resp0.Body.Close()
	if resp0.StatusCode/100 != 2 {
		t.Errorf("a malformed copy task pushed to the restarted SyncDocument answered %d, want 2xx (acknowledged)", resp0.StatusCode)
	}
	pids = stack.PIDs()

	token, err := stack.EFactori.MintToken(efactori.Claims{
		Subject: "u1", Email: "u1@acme.example", CompanyID: efactori.Acme.ID, CompanyName: efactori.Acme.Name,
		Roles: []string{efactori.RoleIntegrationsManage},
	})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, stack.ConnectionsURL+"/v1/integration", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Enabled         bool `json:"enabled"`
		ConnectionCount int  `json:"connectionCount"`
	}
	err = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/integration = %d (%v), want 200 JSON", resp.StatusCode, err)
	}
	if body.Enabled || body.ConnectionCount != 0 {
		t.Errorf("a new company reads %+v, want disabled with no connections", body)
	}

	// Without a token the API refuses with a problem document, proving the request reached our code.
	resp, err = http.Get(stack.ConnectionsURL + "/v1/integration")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusUnauthorized; got != want {
		t.Errorf("GET without token = %d, want %d", got, want)
	}
	if got, want := resp.Header.Get("Content-Type"), problem.ContentType; got != want {
		t.Errorf("Content-Type = %q, want %q", got, want)
	}

	if err := stack.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	stopped = true
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process %d is still there after Stop (kill 0: %v)", pid, err)
		}
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
			t.Errorf("/proc/%d still exists after Stop", pid)
		}
	}
	if _, err := http.Get(stack.ConnectionsURL + "/v1/integration"); err == nil {
		t.Errorf("the Connections function still answers after Stop")
	}
}

// waitFor polls cond for up to 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 30 s", what)
		}
	}
}
