package store_test

import (
	"testing"

	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/store"
)

// RunsCopyingOn counts, across companies, the connections of one Google account whose run is
// running: not those of other accounts, not finished runs.
func TestRunsCopyingOn(t *testing.T) {
	t.Parallel()
	s, _, c := newStore(t)
	ctx := t.Context()
	conn := func(company, id, subject string, state drivesync.CopyState) store.ConnectionRecord {
		r := record(company, id, id, c.Now())
		r.GoogleSubject, r.RefreshToken = subject, []byte("ct")
		r.InitialCopy.State, r.InitialCopy.RunID = state, "run-"+id
		return r
	}
	mustCreate(t, s, conn("acme", "a1", "carol", drivesync.CopyRunning))
	mustCreate(t, s, conn("globex", "g1", "carol", drivesync.CopyRunning))
	mustCreate(t, s, conn("globex", "g2", "carol", drivesync.CopyDone))
	mustCreate(t, s, conn("initech", "i1", "dave", drivesync.CopyRunning))

	for _, tc := range []struct {
		subject string
		limit   int
		want    int
	}{{"carol", 10, 2}, {"dave", 10, 1}, {"erin", 10, 0}, {"", 10, 0}, {"carol", 1, 1}} {
		got, err := s.RunsCopyingOn(ctx, tc.subject, tc.limit)
		if err != nil || got != tc.want {
			t.Errorf("RunsCopyingOn(%q, %d) = %d, %v; want %d", tc.subject, tc.limit, got, err, tc.want)
		}
	}
}
