package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/api/iterator"
)

// MappingQuery selects a page of one connection's mappings, for the document history.
//
// Without NumberPrefix the page is ordered by last change, newest first (updatedAt, then
// document ID, descending); with it, by number (numberKey, then document ID, ascending), since
// Firestore orders a range filter's field first. Either way a page costs one query and one read
// per mapping returned, plus the one read that tells whether another page follows.
type MappingQuery struct {
	State MappingState // only mappings in this state; "" for every state
	// NumberPrefix keeps the mappings whose NumberKey starts with it; give it in NumberKey form.
	// Mappings written before the number was stored are not found by it.
	NumberPrefix string
	Limit        int            // 1 to MaxMappingPage
	After        *MappingCursor // where the previous page ended; nil for the first
}

// MaxMappingPage bounds MappingQuery.Limit.
const MaxMappingPage = 100

// MappingCursor is where a page of mappings ended: the order values of its last mapping.
type MappingCursor struct {
	UpdatedAt  time.Time // ordering by last change
	NumberKey  string    // ordering by number
	DocumentID string
}

// upperBound ends a prefix range: U+10FFFF is the largest code point, and its UTF-8 encoding
// sorts after that of every other one, as Firestore compares strings by their UTF-8 bytes.
const upperBound = "\U0010FFFF"

// ListMappings returns the page of connection k's mappings q selects, and the cursor of the next
// page (nil on the last page). The queries use the composite indexes declared in Indexes when
// q.State is set, Firestore's automatic single-field indexes otherwise.
func (s *Store) ListMappings(ctx context.Context, k ConnectionKey, q MappingQuery) ([]Mapping, *MappingCursor, error) {
	if err := checkIDs(k.CompanyID, k.ID); err != nil {
		return nil, nil, fmt.Errorf("list mappings: %w", err)
	}
	if q.Limit < 1 || q.Limit > MaxMappingPage {
		return nil, nil, fmt.Errorf("list mappings: limit %d is not between 1 and %d", q.Limit, MaxMappingPage)
	}
	query := s.connections(k.CompanyID).Doc(k.ID).Collection(ColMappings).Query
	if q.State != "" {
		query = query.Where("state", "==", string(q.State))
	}
	byNumber := q.NumberPrefix != ""
	if byNumber {
		query = query.Where("numberKey", ">=", q.NumberPrefix).Where("numberKey", "<", q.NumberPrefix+upperBound).
			OrderBy("numberKey", firestore.Asc).OrderBy(firestore.DocumentID, firestore.Asc)
	} else {
		query = query.OrderBy("updatedAt", firestore.Desc).OrderBy(firestore.DocumentID, firestore.Desc)
	}
	if a := q.After; a != nil {
		if err := checkIDs(a.DocumentID); err != nil {
			return nil, nil, fmt.Errorf("list mappings: cursor: %w", err)
		}
		if byNumber {
			query = query.StartAfter(a.NumberKey, a.DocumentID)
		} else {
			query = query.StartAfter(a.UpdatedAt, a.DocumentID)
		}
	}
	// One more than the page: whether it exists says if a next page does, without an empty
	// last page the client would have to ask for.
	out, err := readMappings(query.Limit(q.Limit + 1).Documents(ctx))
	if err != nil {
		return nil, nil, fmt.Errorf("list mappings of connection %s: %w", k.ID, err)
	}
	if len(out) <= q.Limit {
		return out, nil, nil
	}
	out, last := out[:q.Limit], out[q.Limit-1]
	// numberKey is written from Source's number with every change (docOf), so this is the
	// value the query ordered by.
	return out, &MappingCursor{UpdatedAt: last.UpdatedAt, NumberKey: NumberKey(last.Source.Number), DocumentID: last.DocumentID}, nil
}

// FailedMappings returns up to limit mappings of connection k in the failed state, and whether
// more are left: one query and a read per mapping (plus one), through the automatic index on
// state.
func (s *Store) FailedMappings(ctx context.Context, k ConnectionKey, limit int) ([]Mapping, bool, error) {
	if err := checkIDs(k.CompanyID, k.ID); err != nil {
		return nil, false, fmt.Errorf("failed mappings: %w", err)
	}
	if limit < 1 {
		return nil, false, fmt.Errorf("failed mappings: limit %d is not positive", limit)
	}
	out, err := readMappings(s.connections(k.CompanyID).Doc(k.ID).Collection(ColMappings).
		Where("state", "==", string(MappingFailed)).Limit(limit + 1).Documents(ctx))
	if err != nil {
		return nil, false, fmt.Errorf("failed mappings of connection %s: %w", k.ID, err)
	}
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// readMappings decodes every mapping a query returns, and stops the iterator.
func readMappings(it *firestore.DocumentIterator) ([]Mapping, error) {
	defer it.Stop()
	var out []Mapping
	for {
		snap, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		m, err := decodeMapping(snap, snap.Ref.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
}
