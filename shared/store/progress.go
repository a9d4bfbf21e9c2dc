package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"google.golang.org/api/iterator"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ColCopyPages holds, under a connection, one document per listed page of an initial-copy run.
const ColCopyPages = "copyPages"

// CopyPage is one page of an initial-copy run, as the fan-out listed it.
type CopyPage struct {
	RunID     string
	PageToken string // the token the page was listed with; empty for the first
	Listed    int    // documents on the page, usable or not
	Invalid   int    // documents no copy task was published for: failed from the start
	// Matched counts the documents a reconcile found already right in Drive, with their
	// mappings: the run counts them synced without writing anything for them.
	Matched int
	Last    bool // no page follows
}

type copyPageDoc struct {
	RunID     string    `firestore:"runId"`
	PageToken string    `firestore:"pageToken"`
	Listed    int       `firestore:"listed"`
	Invalid   int       `firestore:"invalid"`
	Matched   int       `firestore:"matched"`
	Last      bool      `firestore:"last"`
	CreatedAt time.Time `firestore:"createdAt"`
}

// CopyProgress is the derived progress of one run: nothing counts it in a single hot document
// (Firestore sustains about one write per second per document), it is summed from the pages and
// counted from the mappings.
type CopyProgress struct {
	Listed    int
	Synced    int
	Failed    int
	AllListed bool // the last page was listed
}

// Done reports whether every listed document of the run reached a final state.
func (p CopyProgress) Done() bool { return p.AllListed && p.Synced+p.Failed >= p.Listed }

// RecordCopyPage records page p of connection k once, and reports whether this call recorded it:
// a redelivered page finds its document and is not counted again.
func (s *Store) RecordCopyPage(ctx context.Context, k ConnectionKey, p CopyPage) (bool, error) {
	if err := checkIDs(k.CompanyID, k.ID); err != nil {
		return false, fmt.Errorf("record copy page: %w", err)
	}
	sum := sha256.Sum256([]byte(p.RunID + "\x00" + p.PageToken))
	ref := s.connections(k.CompanyID).Doc(k.ID).Collection(ColCopyPages).Doc(hex.EncodeToString(sum[:16]))
	_, err := ref.Create(ctx, copyPageDoc{RunID: p.RunID, PageToken: p.PageToken, Listed: p.Listed, Invalid: p.Invalid,
		Matched: p.Matched, Last: p.Last, CreatedAt: s.now()})
	switch {
	case status.Code(err) == codes.AlreadyExists:
		return false, nil
	case err != nil:
		return false, fmt.Errorf("record copy page of run %s: %w", p.RunID, err)
	}
	return true, nil
}

// CopyProgress derives the progress of run runID of connection k: listed documents summed over
// its pages, synced and failed mappings counted with aggregation queries (plus the invalid
// documents of the pages, which have no mapping).
func (s *Store) CopyProgress(ctx context.Context, k ConnectionKey, runID string) (CopyProgress, error) {
	if err := checkIDs(k.CompanyID, k.ID); err != nil {
		return CopyProgress{}, fmt.Errorf("copy progress: %w", err)
	}
	var p CopyProgress
	if runID == "" {
		return p, nil
	}
	conn := s.connections(k.CompanyID).Doc(k.ID)
	it := conn.Collection(ColCopyPages).Where("runId", "==", runID).Documents(ctx)
	defer it.Stop()
	for {
		snap, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			return CopyProgress{}, fmt.Errorf("copy progress of run %s: list pages: %w", runID, err)
		}
		var d copyPageDoc
		if err := snap.DataTo(&d); err != nil {
			return CopyProgress{}, fmt.Errorf("copy progress of run %s: decode page: %w", runID, err)
		}
		p.Listed += d.Listed
		p.Failed += d.Invalid
		p.Synced += d.Matched
		p.AllListed = p.AllListed || d.Last
	}
	for _, c := range []struct {
		state MappingState
		n     *int
	}{{MappingSynced, &p.Synced}, {MappingFailed, &p.Failed}} {
		q := conn.Collection(ColMappings).Where("runId", "==", runID).Where("state", "==", string(c.state))
		res, err := q.NewAggregationQuery().WithCount("n").Get(ctx)
		if err != nil {
			return CopyProgress{}, fmt.Errorf("copy progress of run %s: count %s: %w", runID, c.state, err)
		}
		n, err := countOf(res, "n")
		if err != nil {
			return CopyProgress{}, fmt.Errorf("copy progress of run %s: count %s: %w", runID, c.state, err)
		}
		*c.n += n
	}
	return p, nil
}
