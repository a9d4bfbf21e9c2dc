package emulators_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/efactori/drivesync/local/emulators"
	"github.com/efactori/drivesync/local/emulators/pushprobe"
	"github.com/efactori/drivesync/shared/drivesync"
)

func TestMain(m *testing.M) { emulators.Main(m) }

// TestFirestoreTransactionsDoNotLoseUpdates makes every transaction's first attempt read the
// counter before any of them commits, so all but one must be aborted and retried; a lost
// update would leave the counter short. Three contenders prove that as well as fifty and
// take seconds instead of a minute: the emulator needs about two seconds to break each lock
// conflict, and the client backs off exponentially (from one second) after each abort.
func TestFirestoreTransactionsDoNotLoseUpdates(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	client := emulators.Firestore(t)
	counter := client.Collection("counters").Doc("c")
	if _, err := counter.Set(ctx, map[string]any{"n": 0}); err != nil {
		t.Fatalf("create counter: %v", err)
	}

	const workers = 3
	var attempts atomic.Int64
	var firstReads sync.WaitGroup
	firstReads.Add(workers)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			first := true
			errs <- client.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
				attempts.Add(1)
				snap, err := tx.Get(counter)
				if err != nil {
					return err
				}
				if first {
					first = false
					firstReads.Done()
					firstReads.Wait()
				}
				n, err := snap.DataAt("n")
				if err != nil {
					return err
				}
				return tx.Set(counter, map[string]any{"n": n.(int64) + 1})
			}, firestore.MaxAttempts(20))
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("transaction: %v", err)
		}
	}

	snap, err := counter.Get(ctx)
	if err != nil {
		t.Fatalf("read counter: %v", err)
	}
	if got, want := snap.Data()["n"], int64(workers); got != want {
		t.Errorf("counter = %v, want %v", got, want)
	}
	// Every first attempt read 0, so at most one of them could commit.
	if got, min := attempts.Load(), int64(2*workers-1); got < min {
		t.Errorf("transactions ran %d attempts, want at least %d", got, min)
	}
}

func TestProjectsIsolateTests(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	mine := emulators.Firestore(t)
	doc := "isolation/doc"
	if _, err := mine.Doc(doc).Set(ctx, map[string]any{"owner": "parent"}); err != nil {
		t.Fatalf("write %s: %v", doc, err)
	}
	myTopic := emulators.PushSubscription(t, emulators.PubSub(t), "http://127.0.0.1:9").Topic

	t.Run("other test", func(t *testing.T) {
		theirs := emulators.Firestore(t)
		if _, err := theirs.Doc(doc).Get(ctx); status.Code(err) != codes.NotFound {
			t.Errorf("get %s in another project: err = %v, want NotFound", doc, err)
		}
		if _, err := theirs.Doc(doc).Set(ctx, map[string]any{"owner": "child"}); err != nil {
			t.Fatalf("write %s: %v", doc, err)
		}
		ps := emulators.PubSub(t)
		it := ps.TopicAdminClient.ListTopics(ctx, &pubsubpb.ListTopicsRequest{Project: "projects/" + ps.Project()})
		for topic, err := range it.All() {
			if err != nil {
				t.Fatalf("list topics: %v", err)
			}
			t.Errorf("another test's project lists topic %s (the parent created %s)", topic.GetName(), myTopic)
		}
	})

	snap, err := mine.Doc(doc).Get(ctx)
	if err != nil {
		t.Fatalf("read %s: %v", doc, err)
	}
	if got, want := snap.Data()["owner"], "parent"; got != want {
		t.Errorf("owner = %v, want %v", got, want)
	}
}

func TestProjectID(t *testing.T) {
	t.Parallel()
	valid := regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]$`)
	first := emulators.ProjectID(t)
	if !valid.MatchString(first) {
		t.Errorf("ProjectID = %q, not a valid project ID", first)
	}
	if got := emulators.ProjectID(t); got != first {
		t.Errorf("second ProjectID = %q, want the same %q within one test", got, first)
	}
	t.Run("Sub test With A Very Long Name That Must Be Cut", func(t *testing.T) {
		got := emulators.ProjectID(t)
		if !valid.MatchString(got) {
			t.Errorf("ProjectID = %q, not a valid project ID", got)
		}
		if got == first {
			t.Errorf("subtest ProjectID = parent's %q, want its own", got)
		}
	})
}

// delivery is what PushProbe saw: the CloudEvent attributes and the decoded Pub/Sub message.
type delivery struct {
	Type       string
	Source     string
	MessageID  string
	Data       string
	Attributes map[string]string
}

// messagePublishedData is the data of a google.cloud.pubsub.topic.v1.messagePublished event.
// Its subscription field is left out: the framework drops it when it converts a push body.
type messagePublishedData struct {
	Message struct {
		Data       []byte            `json:"data"`
		Attributes map[string]string `json:"attributes"`
		MessageID  string            `json:"messageId"`
	} `json:"message"`
}

func TestPushPathThroughFunctionsFramework(t *testing.T) {
	t.Parallel()
	ctx := t.Context()

	// The report server fails each message's first delivery, so the only way the probe
	// reports twice is a redelivery by the emulator.
	var mu sync.Mutex
	var got []delivery
	delivered := make(chan struct{}, 10)
	report := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var e event.Event
		if err := json.Unmarshal(body, &e); err != nil {
			t.Errorf("decode reported event: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var data messagePublishedData
		if err := e.DataAs(&data); err != nil {
			t.Errorf("decode event data: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		first := true
		for _, d := range got {
			if d.MessageID == data.Message.MessageID {
				first = false
			}
		}
		got = append(got, delivery{
			Type:       e.Type(),
			Source:     e.Source(),
			MessageID:  data.Message.MessageID,
			Data:       string(data.Message.Data),
			Attributes: data.Message.Attributes,
		})
		mu.Unlock()
		select {
		case delivered <- struct{}{}:
		default: // far more deliveries than the test waits for; the diff below reports them
		}
		if first {
			http.Error(w, "first delivery fails", http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(report.Close)

	start := time.Now()
	base := emulators.ServeFunction(t, "github.com/efactori/drivesync/local/emulators/pushprobe",
		pushprobe.Name, pushprobe.ReportURLEnv+"="+report.URL)
	t.Logf("function serving after %v", time.Since(start))
	client := emulators.PubSub(t)
	push := emulators.PushSubscription(t, client, base)

	payload := `{"schemaVersion":1,"eventType":"document.upserted"}`
	attrs := map[string]string{"eventType": drivesync.EventUpserted, "tenant": "acme"}
	publisher := client.Publisher(push.Topic)
	t.Cleanup(publisher.Stop)
	id, err := publisher.Publish(ctx, &pubsub.Message{Data: []byte(payload), Attributes: attrs}).Get(ctx)
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	t.Logf("published after %v", time.Since(start))

	for i := range 2 {
		select {
		case <-delivered:
			t.Logf("delivery %d after %v", i+1, time.Since(start))
		case <-time.After(30 * time.Second):
			t.Fatalf("delivery %d did not arrive within 30s", i+1)
		}
	}
	// A 2xx acknowledges the message: nothing more may arrive.
	select {
	case <-delivered:
		t.Errorf("message delivered again after the function succeeded")
	case <-time.After(1500 * time.Millisecond):
	}

	want := delivery{
		Type:       "google.cloud.pubsub.topic.v1.messagePublished",
		Source:     "//pubsub.googleapis.com/" + push.Topic,
		MessageID:  id,
		Data:       payload,
		Attributes: attrs,
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]delivery{want, want}, got); diff != "" {
		t.Errorf("deliveries mismatch (-want +got):\n%s", diff)
	}
}
