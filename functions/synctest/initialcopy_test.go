package synctest

import (
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

// TestInitialCopyBulk copies eFactori's 5,000-document "bulk" company into a year/month layout.
func TestInitialCopyBulk(t *testing.T) {
	t.Parallel()
	s := newStack(t, options{companies: []efactori.CompanySpec{efactori.Bulk}})
	start := time.Now()
	conn := s.connect(efactori.Bulk.ID, "Compta", accounts[0], drivesync.LayoutYearMonth, "")
	done := s.waitDone(efactori.Bulk.ID, conn.ID, 30*time.Minute)
	elapsed := time.Since(start)
	t.Logf("initial copy of %d documents: %v (%.1f documents/s)", efactori.Bulk.Documents, elapsed.Round(time.Second),
		float64(efactori.Bulk.Documents)/elapsed.Seconds())
	checkDone(t, done, efactori.Bulk.Documents)
	if p := s.checkCopy(done, accounts[0]); len(p) > 0 {
		t.Errorf("copy:\n%s", joinProblems(p))
	}
	c := s.google.Drive.Counters(accounts[0])
	t.Logf("drive calls: %v", c)
	if got := c["files.generateIds"]; got > int64(efactori.Bulk.Documents)/100 {
		t.Errorf("files.generateIds called %d times for %d documents", got, efactori.Bulk.Documents)
	}
}

// TestInitialCopyLayouts copies one company into two Drives of two Google accounts with the
// other two layouts, at the same time: each connection gets its own complete copy.
func TestInitialCopyLayouts(t *testing.T) {
	t.Parallel()
	const n = 300
	company := efactori.CompanySpec{ID: "mid", Name: "Mid Size SRL", Documents: n}
	s := newStack(t, options{companies: []efactori.CompanySpec{company}})
	start := time.Now()
	byYear := s.connect(company.ID, "Par année", accounts[0], drivesync.LayoutYear, "")
	byKind := s.connect(company.ID, "Par type", accounts[1], drivesync.LayoutYearKind, "")
	for _, c := range []struct {
		conn    drivesync.Connection
		account string
	}{{byYear, accounts[0]}, {byKind, accounts[1]}} {
		done := s.waitDone(company.ID, c.conn.ID, 10*time.Minute)
		checkDone(t, done, n)
		if p := s.checkCopy(done, c.account); len(p) > 0 {
			t.Errorf("copy of %s (%s):\n%s", c.conn.FolderLayout, c.account, joinProblems(p))
		}
	}
	t.Logf("two initial copies of %d documents: %v", n, time.Since(start).Round(time.Second))
}

// TestInitialCopyWithDriveFaults makes 20% of Drive's writes fail (5xx, rate limits, dropped
// connections) during the copy of 1,000 documents: every document still ends up in Drive once.
func TestInitialCopyWithDriveFaults(t *testing.T) {
	t.Parallel()
	const n = 1000
	company := efactori.CompanySpec{ID: "flaky", Name: "Flaky BV", Documents: n}
	s := newStack(t, options{companies: []efactori.CompanySpec{company}})
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
	done := s.waitDone(company.ID, conn.ID, 15*time.Minute)
	t.Logf("initial copy of %d documents with 20%% failing writes: %v; drive calls %v", n,
		time.Since(start).Round(time.Second), s.google.Drive.Counters(accounts[0]))
	checkDone(t, done, n)
	if p := s.checkCopy(done, accounts[0]); len(p) > 0 {
		t.Errorf("copy:\n%s", joinProblems(p))
	}
}
