package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"cloud.google.com/go/firestore"
)

// colDriveAccounts holds one document per Google account drivesync writes to, keyed by the
// SHA-256 of the account's subject: the account's Drive write budget. It is the third place
// that crosses companies on purpose (after ConnectionByID and GrantHolders): Drive's write limit
// belongs to the Google account, which several companies may have connected, so its budget
// cannot live under one of them. It holds no tenant data, only a time: horizonNs, the account's
// theoretical arrival time (GCRA) in Unix nanoseconds, the time of the first write slot nobody
// holds yet (an integer, so that a lease is one increment), and updatedAt.
const colDriveAccounts = "driveAccounts"

// WriteSlots is what one LeaseWriteSlots call obtained for an account.
type WriteSlots struct {
	// First is the time of the first leased slot; the others follow every interval.
	First time.Time
	// N is how many slots were leased: 0 when the account's budget is taken beyond notAfter.
	N int
	// Horizon is the account's horizon after the call: the earliest a next lease can start.
	Horizon time.Time
}

// AccountKey is the document ID of a Google account's budget: the subject is hashed, as it is a
// personal identifier and not needed in clear to share a budget.
func AccountKey(subject string) string {
	sum := sha256.Sum256([]byte("drive-account\x00" + subject))
	return hex.EncodeToString(sum[:])
}

// AccountOf is the AccountKey of the write budget rec's Drive writes draw from: its Google
// account's.
func AccountOf(rec ConnectionRecord) string {
	if rec.GoogleSubject == "" {
		// Not consented yet (nothing is written then) or a record from before subjects were
		// kept: the connection is its own account.
		return AccountKey("connection\x00" + rec.CompanyID + "\x00" + rec.ID)
	}
	return AccountKey(rec.GoogleSubject)
}

// LeaseWriteSlots leases n Drive write slots of account (an AccountKey), interval apart, starting
// at the account's horizon or at now if that has passed: the generic cell rate algorithm, kept in
// one Firestore document per account. Slots are only ever handed out once across all instances,
// which is what keeps the account under its limit however many instances write to it.
//
// A lease is an increment of the horizon by n intervals: a write whose result (a transform
// result) says where the horizon got to, and so which slots it took, atomically, however many
// instances lease at once. Nothing is read and no write conflicts. What it costs depends on what
// this process last saw of the account's horizon, which only ever moves forward:
//   - seen beyond notAfter: nothing is leased and no call is made;
//   - seen ahead of now, or passed less than busyRecently ago (the account is busy): the
//     increment alone, one write;
//   - otherwise (idle, or never seen): first a write that raises the horizon to now if it is
//     behind (a maximum transform: unused budget of the past is not saved up, so there is no
//     burst above the limit, and the horizon never moves back), then the increment. The same
//     two follow a busy lease whose slots all turned out past.
//
// The first slot may lie past notAfter when other processes took the budget up to there since
// this one last saw it: the slots are the caller's all the same.
func (s *Store) LeaseWriteSlots(ctx context.Context, account string, n int, interval time.Duration, now, notAfter time.Time) (WriteSlots, error) {
	if err := checkIDs(account); err != nil {
		return WriteSlots{}, fmt.Errorf("lease write slots: %w", err)
	}
	if n < 1 || interval <= 0 {
		return WriteSlots{}, fmt.Errorf("lease write slots of %s: %d slots every %v is not a lease", account, n, interval)
	}
	ref := s.fs.Collection(colDriveAccounts).Doc(account)
	seen, known := s.horizons.seen(account)
	if known && seen.After(notAfter) {
		return WriteSlots{Horizon: seen}, nil
	}
	if known && seen.After(now.Add(-busyRecently)) {
		ws, ok, err := s.incrementHorizon(ctx, ref, account, n, interval, now)
		if err != nil || ok {
			return ws, err
		}
	}
	// Idle: the horizon is brought up to now, then the slots are taken after it.
	if _, err := ref.Set(ctx, map[string]any{"horizonNs": firestore.FieldTransformMaximum(now.UnixNano()), "updatedAt": now},
		firestore.MergeAll); err != nil {
		return WriteSlots{}, fmt.Errorf("lease write slots of %s: raise budget to now: %w", account, err)
	}
	ws, ok, err := s.incrementHorizon(ctx, ref, account, n, interval, now)
	if err == nil && !ok {
		// Only a clock far behind the other instances' could see its slots past right after
		// raising the horizon to its own now.
		err = fmt.Errorf("lease write slots of %s: slots already past after raising the budget to now", account)
	}
	return ws, err
}

// busyRecently is how long after the horizon last seen an account is still taken to be busy,
// and leased with the increment alone: an account whose horizon passed that long ago most
// likely went idle, and the increment alone would take slots of the past (a wasted call).
const busyRecently = time.Second

// incrementHorizon leases n slots by moving the account's horizon n intervals forward in one
// write, and reports ok unless every slot it took had passed already (the horizon lagged: the
// account was idle, and the caller raises it to now first).
func (s *Store) incrementHorizon(ctx context.Context, ref *firestore.DocumentRef, account string, n int, interval time.Duration,
	now time.Time) (WriteSlots, bool, error) {
	span := int64(n) * int64(interval)
	horizon, err := s.incrementField(ctx, ref, "horizonNs", span)
	if err != nil {
		return WriteSlots{}, false, fmt.Errorf("lease write slots of %s: increment budget: %w", account, err)
	}
	end := time.Unix(0, horizon)
	s.horizons.see(account, end)
	first := time.Unix(0, horizon-span)
	// A slot more than an interval in the past is lost: writing it now would bunch writes.
	late := 0
	if cut := now.Add(-interval); first.Before(cut) {
		late = int((cut.Sub(first) + interval - 1) / interval)
	}
	if late >= n {
		return WriteSlots{}, false, nil
	}
	return WriteSlots{First: first.Add(time.Duration(late) * interval), N: n - late, Horizon: end}, true, nil
}

// horizonMemo is what this process last saw of each account's horizon: a lower bound of it, as a
// horizon only moves forward.
type horizonMemo struct {
	mu sync.Mutex
	at map[string]time.Time
}

// maxSeenHorizons bounds the accounts a process remembers; past it the memory starts over, which
// costs each account one lease by reading.
const maxSeenHorizons = 10000

func (h *horizonMemo) seen(account string) (time.Time, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	at, ok := h.at[account]
	return at, ok
}

func (h *horizonMemo) see(account string, at time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.at == nil || len(h.at) >= maxSeenHorizons {
		h.at = map[string]time.Time{}
	}
	if at.After(h.at[account]) {
		h.at[account] = at
	}
}
