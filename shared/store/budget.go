package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
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
	// Horizon is the account's theoretical arrival time (GCRA): the time of the first write slot
	// nobody holds yet. Slots are spaced by the interval the leaser asked for.
	Horizon   time.Time `firestore:"horizon"`
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
// one Firestore document per account. It costs one read and one write conditioned on the
// document's update time; another instance's lease in between makes it read again. When the
// first free slot would be after notAfter it leases nothing and writes nothing, so a saturated
// account costs its callers one read. Slots are only ever handed out once across all instances,
// which is what keeps the account under its limit however many instances write to it.
func (s *Store) LeaseWriteSlots(ctx context.Context, account string, n int, interval time.Duration, now, notAfter time.Time) (WriteSlots, error) {
	if err := checkIDs(account); err != nil {
		return WriteSlots{}, fmt.Errorf("lease write slots: %w", err)
	}
	if n < 1 || interval <= 0 {
		return WriteSlots{}, fmt.Errorf("lease write slots of %s: %d slots every %v is not a lease", account, n, interval)
	}
	ref := s.fs.Collection(colDriveAccounts).Doc(account)
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
		first := d.Horizon
		if first.Before(now) {
			first = now // unused budget of the past is not saved up: no burst above the limit
		}
		if first.After(notAfter) {
			return WriteSlots{Horizon: first}, nil
		}
		next := driveAccountDoc{Horizon: first.Add(time.Duration(n) * interval), UpdatedAt: now}
		if exists {
			_, err = ref.Update(ctx, []firestore.Update{{Path: "horizon", Value: next.Horizon}, {Path: "updatedAt", Value: now}},
				firestore.LastUpdateTime(snap.UpdateTime))
		} else {
			_, err = ref.Create(ctx, next)
		}
		switch status.Code(err) {
		case codes.OK:
			return WriteSlots{First: first, N: n, Horizon: next.Horizon}, nil
		case codes.FailedPrecondition, codes.AlreadyExists, codes.Aborted:
			continue // another instance leased in between: read its horizon
		default:
			return WriteSlots{}, fmt.Errorf("lease write slots of %s: write budget: %w", account, err)
		}
	}
	return WriteSlots{}, fmt.Errorf("lease write slots of %s: %w", account, ErrBudgetContended)
}
