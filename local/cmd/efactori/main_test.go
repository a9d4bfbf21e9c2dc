package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/go-cmp/cmp"

	"github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/local/emulators"
	"github.com/efactori/drivesync/shared/drivesync"
)

func TestMain(m *testing.M) { emulators.Main(m) }

// syncBuffer lets the test read what the server goroutine prints.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var bannerRE = regexp.MustCompile(`listening on (http://\S+)\n(?s:.*)valid 1h\):\n(\S+)\n`)

// startServe runs the serve subcommand until the test ends and returns its URL and the sample
// token it printed.
func startServe(t *testing.T, args ...string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "-addr", "127.0.0.1:0"}, args...), &out, slog.New(slog.DiscardHandler))
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve returned %v after cancellation, want nil", err)
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := bannerRE.FindStringSubmatch(out.String()); m != nil {
			return m[1], m[2]
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended early: %v\n%s", err, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("serve printed no banner:\n%s", out.String())
	return "", ""
}

func TestServeMintAndPublish(t *testing.T) {
	t.Parallel()
	const token = "cmd-test-token"
	base, sample := startServe(t, "-dev-token", token, "-seed", "acme,tiny=3", "-audience", "aud-x")
	ctx := t.Context()

	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/v1/companies/tiny/documents", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var list efactori.ListResponse
	err = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if err != nil || len(list.Documents) != 3 {
		t.Fatalf("list tiny: %d documents, %v; want 3", len(list.Documents), err)
	}

	provider, err := oidc.NewProvider(ctx, base)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: "aud-x"})
	if _, err := verifier.Verify(ctx, sample); err != nil {
		t.Errorf("the printed sample token does not verify: %v", err)
	}
	var minted bytes.Buffer
	if err := run(ctx, []string{"mint", "-url", base, "-dev-token", token, "-company", "tiny", "-roles", "a,b"}, &minted, nil); err != nil {
		t.Fatalf("mint: %v", err)
	}
	idt, err := verifier.Verify(ctx, strings.TrimSpace(minted.String()))
	if err != nil {
		t.Fatalf("the minted token does not verify: %v", err)
	}
	var claims efactori.Claims
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if got, want := claims.CompanyID, "tiny"; got != want {
		t.Errorf("company_id = %s, want %s", got, want)
	}
	if diff := cmp.Diff([]string{"a", "b"}, claims.Roles); diff != "" {
		t.Errorf("roles (-want +got):\n%s", diff)
	}

	// publish: subscribe first, so the message has somewhere to go.
	client := emulators.PubSub(t)
	project := client.Project()
	topic := "projects/" + project + "/topics/" + efactori.Topic
	sub := "projects/" + project + "/subscriptions/cmd-test"
	if _, err := client.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: topic}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{Name: sub, Topic: topic}); err != nil {
		t.Fatal(err)
	}
	var published bytes.Buffer
	err = run(ctx, []string{"publish", "-url", base, "-dev-token", token, "-project", project,
		"-company", "tiny", "-document", "tiny-000002", "-title", "Révisée 🚀"}, &published, nil)
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	var out struct {
		MessageID string          `json:"messageId"`
		Event     drivesync.Event `json:"event"`
	}
	if err := json.Unmarshal(published.Bytes(), &out); err != nil {
		t.Fatalf("publish output %q: %v", published.String(), err)
	}

	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var got *pubsub.Message
	err = client.Subscriber(sub).Receive(rctx, func(_ context.Context, m *pubsub.Message) {
		m.Ack()
		got = m
		cancel()
	})
	if err != nil || got == nil {
		t.Fatalf("receive: message %v, error %v", got, err)
	}
	e, err := drivesync.DecodeEvent(got.Data)
	if err != nil {
		t.Fatalf("DecodeEvent: %v", err)
	}
	if diff := cmp.Diff(out.Event, e); diff != "" {
		t.Errorf("received event differs from the printed one (-printed +received):\n%s", diff)
	}
	if got, want := e.Document.Title, "Révisée 🚀"; got != want {
		t.Errorf("title = %q, want %q", got, want)
	}
	if diff := cmp.Diff(e.Attributes(), got.Attributes); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
	if got, want := got.ID, out.MessageID; got != want {
		t.Errorf("message id %s, printed %s", got, want)
	}
}

func TestRunRejectsBadInvocations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown subcommand", []string{"frobnicate"}, "unknown subcommand"},
		{"serve without dev token", []string{"serve", "-dev-token", "", "-addr", "127.0.0.1:0"}, "DevToken"},
		{"serve with a bad seed", []string{"serve", "-dev-token", "x", "-seed", "nobody"}, "unknown"},
		{"stray argument", []string{"serve", "-dev-token", "x", "extra"}, "unexpected arguments"},
		{"publish without project or document", []string{"publish", "-dev-token", "x"}, "-project is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := run(t.Context(), tt.args, io.Discard, slog.New(slog.DiscardHandler))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run(%q) = %v, want an error mentioning %q", tt.args, err, tt.want)
			}
		})
	}
}
