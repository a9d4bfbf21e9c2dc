package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/firestore"
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

// RunPages is what the listed pages of one run add up to.
type RunPages struct {
	Listed  int
	Invalid int // documents no copy task was published for: failed from the start
	Matched int // documents a reconcile found right in Drive: synced from the start
	// AllListed is set once the last page was listed; the sums are final from then on.
	AllListed bool
}

// RunPages sums the pages of run runID of connection k (one query).
func (s *Store) RunPages(ctx context.Context, k ConnectionKey, runID string) (RunPages, error) {
	if err := checkIDs(k.CompanyID, k.ID); err != nil {
		return RunPages{}, fmt.Errorf("run pages: %w", err)
	}
	var p RunPages
	if runID == "" {
		return p, nil
	}
	it := s.connections(k.CompanyID).Doc(k.ID).Collection(ColCopyPages).Where("runId", "==", runID).Documents(ctx)
	defer it.Stop()
	for {
		snap, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return p, nil
		}
		if err != nil {
			return RunPages{}, fmt.Errorf("copy progress of run %s: list pages: %w", runID, err)
		}
		var d copyPageDoc
		if err := snap.DataTo(&d); err != nil {
			return RunPages{}, fmt.Errorf("copy progress of run %s: decode page: %w", runID, err)
		}
		p.Listed += d.Listed
		p.Invalid += d.Invalid
		p.Matched += d.Matched
		p.AllListed = p.AllListed || d.Last
	}
}

// CopyProgress derives the progress of run runID of connection k: listed documents summed over
// its pages, synced and failed mappings counted with aggregation queries (plus the invalid
// documents of the pages, which have no mapping).
func (s *Store) CopyProgress(ctx context.Context, k ConnectionKey, runID string) (CopyProgress, error) {
	pages, err := s.RunPages(ctx, k, runID)
	if err != nil || runID == "" {
		return CopyProgress{}, err
	}
	p := CopyProgress{Listed: pages.Listed, Synced: pages.Matched, Failed: pages.Invalid, AllListed: pages.AllListed}
	for _, c := range []struct {
		state MappingState
		n     *int
	}{{MappingSynced, &p.Synced}, {MappingFailed, &p.Failed}} {
		n, err := s.countMappings(ctx, k, runID, c.state)
		if err != nil {
			return CopyProgress{}, err
		}
		*c.n += n
	}
	return p, nil
}

// FinishedMappings counts the mappings run runID of connection k brought to a final state,
// synced or failed, with one aggregation.
func (s *Store) FinishedMappings(ctx context.Context, k ConnectionKey, runID string) (int, error) {
	if err := checkIDs(k.CompanyID, k.ID, runID); err != nil {
		return 0, fmt.Errorf("finished mappings: %w", err)
	}
	return count(ctx, s.finishedQuery(k, runID), "copy progress of run "+runID+": count finished")
}

func (s *Store) countMappings(ctx context.Context, k ConnectionKey, runID string, state MappingState) (int, error) {
	q := s.connections(k.CompanyID).Doc(k.ID).Collection(ColMappings).Where("runId", "==", runID).Where("state", "==", string(state))
	return count(ctx, q, "copy progress of run "+runID+": count "+string(state))
}

// count runs a count aggregation of q; what says what was counted, for errors.
func count(ctx context.Context, q firestore.Query, what string) (int, error) {
	res, err := q.NewAggregationQuery().WithCount("n").Get(ctx)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	n, err := countOf(res, "n")
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	return n, nil
}

// FinishedBy counts the mappings run runID of connection k brought to a final state whose last
// change is at or before at, with one aggregation. With FinishedAfter the same at, it
// partitions the run's finished mappings by that one stored time: each is counted by one or the
// other, whatever the clocks of the instances that wrote them. (A mapping that changes again
// after the first count, a newer revision, may be counted by both: the sum is an estimate, exact
// at the end, see the engine's checkDone.)
func (s *Store) FinishedBy(ctx context.Context, k ConnectionKey, runID string, at time.Time) (int, error) {
	if err := checkIDs(k.CompanyID, k.ID, runID); err != nil {
		return 0, fmt.Errorf("finished mappings: %w", err)
	}
	return count(ctx, s.finishedQuery(k, runID).Where("updatedAt", "<=", at), "copy progress of run "+runID+": count finished by "+at.String())
}

func (s *Store) finishedQuery(k ConnectionKey, runID string) firestore.Query {
	return s.connections(k.CompanyID).Doc(k.ID).Collection(ColMappings).Where("runId", "==", runID).
		Where("state", "in", []string{string(MappingSynced), string(MappingFailed)})
}

// FinishedAfter counts the mappings run runID of connection k brought to a final state whose
// last change is after after, with one aggregation: the other part of FinishedBy's partition,
// which reads only the index entries of the mappings finished since, not the whole run's.
func (s *Store) FinishedAfter(ctx context.Context, k ConnectionKey, runID string, after time.Time) (int, error) {
	if err := checkIDs(k.CompanyID, k.ID, runID); err != nil {
		return 0, fmt.Errorf("finished mappings: %w", err)
	}
	return count(ctx, s.finishedQuery(k, runID).Where("updatedAt", ">", after), "copy progress of run "+runID+": count finished after "+after.String())
}
