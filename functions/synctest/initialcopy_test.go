package synctest

import (
	"fmt"
	"testing"
	"time"

	"github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/local/googleemu/driveemu"
	"github.com/efactori/drivesync/shared/drivesync"
)

// checkDone checks the progress the connection API reports once the run is over.
func checkDone(t *testing.T, c drivesync.Connection, n int) {
	t.Helper()
	ic := c.InitialCopy
	if ic.State != drivesync.CopyDone || ic.Listed != n || ic.Synced != n || ic.Failed != 0 {
		t.Errorf("initial copy = %+v, want done with %d listed and synced, none failed", ic, n)
	}
	if ic.FinishedAt.Before(ic.StartedAt) || ic.StartedAt.IsZero() {
		t.Errorf("initial copy ran from %v to %v", ic.StartedAt, ic.FinishedAt)
	}
}

// TestInitialCopyBulkIntoEveryLayout copies eFactori's 5,000-document "bulk" company into three
// Drives at once, one per folder layout, each of another Google account: each connection gets its
// own complete copy, every document once in its layout's folder with its content, and its
// progress reaches done with the right counts.
func TestInitialCopyBulkIntoEveryLayout(t *testing.T) {
	t.Parallel()
	n := efactori.Bulk.Documents
	s := newStack(t, options{companies: []efactori.CompanySpec{efactori.Bulk}})
	start := time.Now()
	layouts := []drivesync.FolderLayout{drivesync.LayoutYearMonth, drivesync.LayoutYear, drivesync.LayoutYearKind}
	conns := make([]drivesync.Connection, len(layouts))
	for i, l := range layouts {
		conns[i] = s.connect(efactori.Bulk.ID, "Drive "+string(l), accounts[i], l, "")
	}
	for i, conn := range conns {
		done := s.waitDone(efactori.Bulk.ID, conn.ID, 60*time.Minute)
		checkDone(t, done, n)
		if p := s.checkCopy(done, accounts[i]); len(p) > 0 {
			t.Errorf("copy into %s (%s):\n%s", conn.FolderLayout, accounts[i], joinProblems(p))
		}
		c := s.google.Drive.Counters(accounts[i])
		t.Logf("%s: drive calls %v", conn.FolderLayout, c)
		if got := c["files.generateIds"]; got > int64(n)/100 {
			t.Errorf("%s: files.generateIds called %d times for %d documents", conn.FolderLayout, got, n)
		}
	}
	elapsed := time.Since(start)
	t.Logf("three initial copies of %d documents: %v (%.1f documents/s)", n, elapsed.Round(time.Second),
		float64(len(conns)*n)/elapsed.Seconds())
}

// TestInitialCopyWithDriveFaults makes 20% of Drive's writes fail (5xx, rate limits, dropped
// connections) during the copy of 1,000 documents, and crashes the SyncDocument instance while a
// document's file ID is reserved and its create has not reached Drive: every document still ends
// up in Drive once, the crashed one with the ID reserved before the crash.
func TestInitialCopyWithDriveFaults(t *testing.T) {
	t.Parallel()
	const n = 1000
	company := efactori.CompanySpec{ID: "flaky", Name: "Flaky BV", Documents: n}
	// A short lease, so that the crashed delivery's document is free again within the test.
	s := newStack(t, options{companies: []efactori.CompanySpec{company}, documentLease: "10s"})
	start := time.Now()
	// Faults start once the target is chosen (the connection service's own Drive calls are the
	// customer's to repeat): the copy starts at that moment, so nearly every write meets them.
	conn := s.connect(company.ID, "Compta", accounts[0], drivesync.LayoutYearKind, "")
	err := s.google.Drive.SetRandomFaults(driveemu.RandomFaults{
		Seed: 7, Probability: 0.2, Methods: []string{"files.create", "files.update", "files.delete"},
		Faults: []driveemu.Fault{
			{Kind: driveemu.FaultBackendError500}, {Kind: driveemu.FaultBackendError503},
			{Kind: driveemu.FaultRateLimit429}, {Kind: driveemu.FaultRateLimit403},
			{Kind: driveemu.FaultUserRateLimit}, {Kind: driveemu.FaultConnectionReset},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The next document upload hangs in Drive until its client goes away; the instance is
	// killed meanwhile.
	if err := s.google.Drive.FailNext("upload:multipart", 1, driveemu.Fault{Kind: driveemu.FaultSlow, Delay: 10 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	s.eventually("uploads under way", 5*time.Minute, func() string {
		if got := s.google.Drive.Counters(accounts[0])["upload:multipart"]; got < 20 {
			return fmt.Sprintf("%d uploads", got)
		}
		return ""
	})
	docs, err := s.ef.Documents(company.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Documents with a reserved, uncreated file ID, twice a second apart: the hung one stays,
	// one merely in flight on the other push loop has moved on.
	pending := func() map[string]string {
		out := map[string]string{} // document ID → file ID
		for _, d := range docs {
			m, ok, err := s.store.Mapping(t.Context(), keyOf(conn), d.ID)
			if err != nil {
				t.Fatal(err)
			}
			if ok && m.FileID != "" && !m.Created {
				out[d.ID] = m.FileID
			}
		}
		return out
	}
	first := pending()
	time.Sleep(time.Second)
	reserved := map[string]string{}
	for doc, id := range pending() {
		if first[doc] == id {
			reserved[doc] = id
		}
	}
	s.crashSync()
	if len(reserved) == 0 {
		t.Fatal("no document had a reserved, uncreated file ID when the instance crashed")
	}
	for doc, id := range reserved {
		if _, err := s.google.Drive.Content(accounts[0], id); err == nil {
			t.Errorf("document %s: file %s exists right after the crash; the hung create went through", doc, id)
		}
	}
	done := s.waitDone(company.ID, conn.ID, 15*time.Minute)
	t.Logf("initial copy of %d documents with 20%% failing writes and a crash (%d documents reserved, not created): %v; drive calls %v",
		n, len(reserved), time.Since(start).Round(time.Second), s.google.Drive.Counters(accounts[0]))
	checkDone(t, done, n)
	if p := s.checkCopy(done, accounts[0]); len(p) > 0 {
		t.Errorf("copy:\n%s", joinProblems(p))
	}
	for doc, id := range reserved {
		if m, _, err := s.store.Mapping(t.Context(), keyOf(conn), doc); err != nil || m.FileID != id {
			t.Errorf("document %s ended in file %s (%v), want the ID reserved before the crash, %s", doc, m.FileID, err, id)
		}
	}
}

// TestRevokedGrantMidCopy revokes drivesync's access in the customer's Google account while the
// initial copy runs: the connection turns needs_reauthorization, and once the customer consents
// again the copy completes, every document once.
func TestRevokedGrantMidCopy(t *testing.T) {
	t.Parallel()
	const n = 400
	company := efactori.CompanySpec{ID: "revoked", Name: "Revoked SA", Documents: n}
	// Paced at 20 writes a second, so that the revocation lands in the middle of the copy.
	s := newStack(t, options{companies: []efactori.CompanySpec{company}, writesPerSecond: 20})
	conn := s.connect(company.ID, "Compta", accounts[0], drivesync.LayoutYearMonth, "")
	ctx := t.Context()
	get := func() drivesync.Connection {
		c, err := s.svc.Get(ctx, company.ID, conn.ID)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		return c
	}
	s.eventually("copy under way", 5*time.Minute, func() string {
		if c := get(); c.InitialCopy.Synced < 50 {
			return fmt.Sprintf("%d synced", c.InitialCopy.Synced)
		}
		return ""
	})
	s.google.OAuth.RevokeAll(accounts[0], clientID)
	s.eventually("needs reauthorization", 2*time.Minute, func() string {
		if c := get(); c.Status != drivesync.StatusNeedsReauthorization {
			return string(c.Status)
		}
		return ""
	})
	if c := get(); c.InitialCopy.State == drivesync.CopyDone {
		t.Fatalf("the copy ended although the grant was revoked: %+v", c.InitialCopy)
	}
	authURL, err := s.svc.Authorize(ctx, company.ID, conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := consentAs(ctx, s.svc, s.google, authURL, accounts[0]); err != nil {
		t.Fatal(err)
	}
	done := s.waitDone(company.ID, conn.ID, 10*time.Minute)
	checkDone(t, done, n)
	if p := s.checkCopy(done, accounts[0]); len(p) > 0 {
		t.Errorf("copy after re-consent:\n%s", joinProblems(p))
	}
}
