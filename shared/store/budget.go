package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// colDriveAccounts holds one document per Google account drivesync writes to, keyed by the
// SHA-256 of the account's subject: the account's Drive write budget. It is the third place
// that crosses companies on purpose (after ConnectionByID and GrantHolders): Drive's write limit
// belongs to the Google account, which several companies may have connected, so its budget
// cannot live under one of them. It holds no tenant data, only a time.
const colDriveAccounts = "driveAccounts"

// budgetAttempts bounds how many times a lease of write slots re-reads the account's budget after
// another instance leased in between: each conflict means someone else got slots, so a few
// suffice before the caller is told to come back later.
const budgetAttempts = 5

// ErrBudgetContended is returned by LeaseWriteSlots when other instances kept leasing the same
// account's budget in between every attempt.
var ErrBudgetContended = errors.New("drive write budget contended")

type driveAccountDoc struct {
	// HorizonNs is the account's theoretical arrival time (GCRA) in Unix nanoseconds: the time
	// of the first write slot nobody holds yet. Slots are spaced by the interval the leaser
	// asked for. An integer, so that the lease of a busy account is one increment.
	HorizonNs int64     `firestore:"horizonNs"`
	UpdatedAt time.Time `firestore:"updatedAt"`
}

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
// What it costs depends on what this process last saw of the account's horizon, which only
// ever moves forward:
//   - seen beyond notAfter: nothing is leased and no call is made;
//   - seen ahead of now, or passed less than busyRecently ago (the account is busy): one
//     increment of the horizon, a write whose result says which slots it took. Leased that way,
//     the first slot may lie past notAfter (another process took the budget up to it since):
//     the slots are the caller's all the same;
//   - otherwise, or when the increment's slots have passed (the account went idle): one read
//     and one write conditioned on the document's update time, which another process's lease
//     in between makes read again. A first slot past notAfter then leases nothing.
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
	return s.leaseByRead(ctx, ref, account, n, interval, now, notAfter)
}

// busyRecently is how long after the horizon last seen an account is still taken to be busy,
// and leased with one increment: an account whose horizon passed that long ago most likely
// went idle, and an increment would take slots of the past (a wasted call before the read).
const busyRecently = time.Second

// incrementHorizon leases n slots by moving the account's horizon n intervals forward in one
// write, and reports ok unless every slot it took had passed already (the horizon lagged: the
// account was idle, and the caller leases by reading instead).
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

// leaseByRead leases n slots with a read of the budget and a write conditioned on it.
func (s *Store) leaseByRead(ctx context.Context, ref *firestore.DocumentRef, account string, n int, interval time.Duration,
	now, notAfter time.Time) (WriteSlots, error) {
	for range budgetAttempts {
		snap, err := ref.Get(ctx)
		exists := err == nil
		if err != nil && status.Code(err) != codes.NotFound {
			return WriteSlots{}, fmt.Errorf("lease write slots of %s: read budget: %w", account, err)
		}
		var d driveAccountDoc
		if exists {
			if err := snap.DataTo(&d); err != nil {
				return WriteSlots{}, fmt.Errorf("lease write slots of %s: decode budget: %w", account, err)
			}
		}
		first := time.Unix(0, d.HorizonNs)
		if exists {
			s.horizons.see(account, first)
		}
		if first.Before(now) {
			first = now // unused budget of the past is not saved up: no burst above the limit
		}
		if first.After(notAfter) {
			return WriteSlots{Horizon: first}, nil
		}
		next := first.Add(time.Duration(n) * interval)
		if exists {
			_, err = ref.Update(ctx, []firestore.Update{{Path: "horizonNs", Value: next.UnixNano()}, {Path: "updatedAt", Value: now}},
				firestore.LastUpdateTime(snap.UpdateTime))
		} else {
			_, err = ref.Create(ctx, driveAccountDoc{HorizonNs: next.UnixNano(), UpdatedAt: now})
		}
		switch status.Code(err) {
		case codes.OK:
			s.horizons.see(account, next)
			return WriteSlots{First: first, N: n, Horizon: next}, nil
		case codes.FailedPrecondition, codes.AlreadyExists, codes.Aborted:
			continue // another instance leased in between: read its horizon
		default:
			return WriteSlots{}, fmt.Errorf("lease write slots of %s: write budget: %w", account, err)
		}
	}
	return WriteSlots{}, fmt.Errorf("lease write slots of %s: %w", account, ErrBudgetContended)
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
