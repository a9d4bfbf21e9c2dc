package engine_test

import (
	"errors"
	"strings"
	"testing"

	standin "github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/efactori"
	"github.com/efactori/drivesync/shared/store"
)

// mismatchDeliveries is the engine's maxMismatches: the deliveries in a row that may find a
// revision's content other than announced before it is recorded failed.
const mismatchDeliveries = 5

// Content that is not what eFactori announced is retried (a replica catching up), but not
// forever: after a few deliveries the revision is recorded failed with the mismatch's code, and
// a newer revision with the right content is copied.
func TestContentMismatchFailsAfterRepeatedDeliveries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		spoil func(*drivesync.Document)
		code  string
	}{
		{"checksum", func(d *drivesync.Document) { d.SHA256 = strings.Repeat("ab", 32) }, efactori.CodeChecksumMismatch},
		{"size", func(d *drivesync.Document) { d.Size++ }, efactori.CodeSizeMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{})
			ev := e.upsert(t, "acme-a", standin.Upsert{Kind: drivesync.KindSalesInvoice, Number: "F-1", Date: "2026-03-14"})
			tt.spoil(&ev.Document)
			for i := 1; i < mismatchDeliveries; i++ {
				err := e.engine.HandleEvent(e.ctx, ev)
				var ce *drivesync.ClassifiedError
				if !errors.As(err, &ce) || ce.Class != drivesync.Retryable || ce.Code != tt.code {
					t.Fatalf("delivery %d: %v, want retryable %s", i, err, tt.code)
				}
				m := e.mapping(t, "acme-a")
				if m.State != store.MappingPending || m.Mismatches != i || m.MismatchRevision != ev.Document.Revision {
					t.Fatalf("delivery %d: mapping %s, %d mismatches of revision %d; want pending, %d of %d",
						i, m.State, m.Mismatches, m.MismatchRevision, i, ev.Document.Revision)
				}
			}
			if err := e.engine.HandleEvent(e.ctx, ev); err != nil {
				t.Fatalf("delivery %d: %v, want the failure recorded and the message acknowledged", mismatchDeliveries, err)
			}
			if m := e.mapping(t, "acme-a"); m.State != store.MappingFailed || m.Code != tt.code {
				t.Errorf("mapping = %s %q, want failed %s", m.State, m.Code, tt.code)
			}
			// Its redeliveries are skipped without a call to eFactori or Drive.
			before, contentBefore := e.calls(), e.efa.Requests(standin.EndpointContent)
			if err := e.engine.HandleEvent(e.ctx, ev); err != nil {
				t.Fatalf("redelivery: %v", err)
			}
			if d, c := e.calls()-before, e.efa.Requests(standin.EndpointContent)-contentBefore; d != 0 || c != 0 {
				t.Errorf("redelivery of a failed revision made %d Drive calls and %d content requests", d, c)
			}
			if n := countFiles(contents(e.companyFolder(t))); n != 0 {
				t.Errorf("%d files from content that never matched", n)
			}
			// A newer revision, with the right content, is copied and clears the count.
			ev = e.upsert(t, "acme-a", standin.Upsert{AmountCents: 10})
			retry(t, "event", func() error { return e.engine.HandleEvent(e.ctx, ev) })
			if m := e.mapping(t, "acme-a"); m.State != store.MappingSynced || m.Mismatches != 0 {
				t.Errorf("newer revision: %s with %d mismatches, want synced with none", m.State, m.Mismatches)
			}
		})
	}
}

// A message whose contentUrl names another document's content (on eFactori's own API) is not
// followed: the document is recorded failed and nothing is fetched or written.
func TestContentURLOfAnotherDocumentIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	other := e.upsert(t, "acme-b", standin.Upsert{Kind: drivesync.KindSalesInvoice, Number: "F-2", Date: "2026-03-14"})
	ev := e.upsert(t, "acme-a", standin.Upsert{Kind: drivesync.KindSalesInvoice, Number: "F-1", Date: "2026-03-14"})
	ev.Document.ContentURL = other.Document.ContentURL
	ev.Document.Size, ev.Document.SHA256 = other.Document.Size, other.Document.SHA256
	contentBefore := e.efa.Requests(standin.EndpointContent)
	if err := e.engine.HandleEvent(e.ctx, ev); err != nil {
		t.Fatalf("HandleEvent: %v, want a recorded failure", err)
	}
	if m := e.mapping(t, "acme-a"); m.State != store.MappingFailed || m.Code != efactori.CodeForeignURL {
		t.Errorf("mapping = %s %q, want failed %s", m.State, m.Code, efactori.CodeForeignURL)
	}
	if got := e.efa.Requests(standin.EndpointContent) - contentBefore; got != 0 {
		t.Errorf("%d content requests for another document's URL", got)
	}
	if n := countFiles(contents(e.companyFolder(t))); n != 0 {
		t.Errorf("%d files copied from another document's content", n)
	}
}
