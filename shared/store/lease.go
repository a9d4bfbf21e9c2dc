package store

import (
	"context"
	"fmt"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// leaseDoc is one lease, kept in the company document under leases.<name>.
type leaseDoc struct {
	Holder string    `firestore:"holder"`
	Until  time.Time `firestore:"until"`
}

// AcquireLease takes the company's lease name for holder until ttl from now, and reports whether
// it did: false means another holder's lease has not expired. Holding a lease again extends it.
// Leases serialise work across instances that Drive cannot make atomic (finding or creating the
// company folder); one whose holder died simply expires.
func (s *Store) AcquireLease(ctx context.Context, companyID, name, holder string, ttl time.Duration) (bool, error) {
	if err := checkIDs(companyID); err != nil {
		return false, fmt.Errorf("acquire lease %s: %w", name, err)
	}
	ref := s.company(companyID)
	var got bool
	err := s.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		got = false
		snap, err := tx.Get(ref)
		if err != nil && status.Code(err) != codes.NotFound {
			return err
		}
		now := s.now()
		if snap != nil && snap.Exists() {
			if v, err := snap.DataAt("leases." + name); err == nil {
				var l leaseDoc
				if m, ok := v.(map[string]any); ok {
					l.Holder, _ = m["holder"].(string)
					l.Until, _ = m["until"].(time.Time)
				}
				if l.Holder != holder && now.Before(l.Until) {
					return nil
				}
			}
		}
		got = true
		return tx.Set(ref, map[string]any{"leases": map[string]any{name: leaseDoc{Holder: holder, Until: now.Add(ttl)}}}, firestore.MergeAll)
	}, firestore.MaxAttempts(txAttempts))
	if err != nil {
		return false, fmt.Errorf("acquire lease %s of company %s: %w", name, companyID, err)
	}
	return got, nil
}

// ReleaseLease ends holder's lease name, if holder still holds it.
func (s *Store) ReleaseLease(ctx context.Context, companyID, name, holder string) error {
	if err := checkIDs(companyID); err != nil {
		return fmt.Errorf("release lease %s: %w", name, err)
	}
	ref := s.company(companyID)
	err := s.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		snap, err := tx.Get(ref)
		if status.Code(err) == codes.NotFound {
			return nil
		}
		if err != nil {
			return err
		}
		v, err := snap.DataAt("leases." + name)
		if err != nil {
			return nil // no such lease
		}
		if m, ok := v.(map[string]any); !ok || m["holder"] != holder {
			return nil
		}
		return tx.Update(ref, []firestore.Update{{FieldPath: []string{"leases", name}, Value: firestore.Delete}})
	}, firestore.MaxAttempts(txAttempts))
	if err != nil {
		return fmt.Errorf("release lease %s of company %s: %w", name, companyID, err)
	}
	return nil
}
