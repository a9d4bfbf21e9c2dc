package store

import (
	"context"
	"fmt"

	"github.com/efactori/drivesync/shared/drivesync"
)

// RunsCopyingOn counts the connections, in any company, of Google account subject whose initial
// copy or reconcile run is running, looking at most at limit connections. It crosses tenants on
// purpose, as GrantHolders does and on the same index: the account's Drive write budget is
// shared by every run copying to it, so each run sizes its window by its share. Callers learn a
// count, never another company's data.
func (s *Store) RunsCopyingOn(ctx context.Context, subject string, limit int) (int, error) {
	if subject == "" || limit < 1 {
		return 0, nil
	}
	snaps, err := s.fs.CollectionGroup(colConnections).Where("googleSubject", "==", subject).
		Select("initialCopy.state").Limit(limit).Documents(ctx).GetAll()
	if err != nil {
		return 0, fmt.Errorf("count runs copying to a google account: %w", err)
	}
	n := 0
	for _, snap := range snaps {
		if parent := snap.Ref.Parent.Parent; parent == nil || parent.Parent.ID != colCompanies {
			continue
		}
		if st, _ := snap.DataAt("initialCopy.state"); st == string(drivesync.CopyRunning) {
			n++
		}
	}
	return n, nil
}
