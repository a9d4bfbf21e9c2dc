package store

import (
	"context"
	"fmt"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ColRunWindows holds, under a connection, one document per run: how many of the run's copy
// tasks (in the order RecordRunTasks stored them) have been published so far. A run publishes
// its tasks in a window that follows its progress, so that one company's bulk copy never fills
// the subscription every tenant shares.
const ColRunWindows = "runWindows"

type runWindowDoc struct {
	Total     int       `firestore:"total"`
	Released  int       `firestore:"released"`
	UpdatedAt time.Time `firestore:"updatedAt"`
}

// RunWindow is how far a run has published its copy tasks.
type RunWindow struct {
	// Total is how many copy tasks the run recorded; Released how many of the first of them were
	// published. Recorded is false for a run that has not published any yet (or that predates
	// windows: its tasks were all published at once).
	Total, Released int
	Recorded        bool
}

func (s *Store) runWindow(k ConnectionKey, runID string) *firestore.DocumentRef {
	return s.connections(k.CompanyID).Doc(k.ID).Collection(ColRunWindows).Doc(runID)
}

// RunWindow reads how far run runID of connection k has published its tasks.
func (s *Store) RunWindow(ctx context.Context, k ConnectionKey, runID string) (RunWindow, error) {
	if err := checkIDs(k.CompanyID, k.ID, runID); err != nil {
		return RunWindow{}, fmt.Errorf("run window: %w", err)
	}
	snap, err := s.runWindow(k, runID).Get(ctx)
	switch {
	case status.Code(err) == codes.NotFound:
		return RunWindow{}, nil
	case err != nil:
		return RunWindow{}, fmt.Errorf("run window of %s: %w", runID, err)
	}
	var d runWindowDoc
	if err := snap.DataTo(&d); err != nil {
		return RunWindow{}, fmt.Errorf("run window of %s: decode: %w", runID, err)
	}
	return RunWindow{Total: d.Total, Released: d.Released, Recorded: true}, nil
}

// RaiseRunWindow records that run runID of connection k, of total tasks, has published its first
// released ones. The count only ever goes up: two watches of one run (a redelivered await
// request) that both publish the same tasks leave the larger count.
func (s *Store) RaiseRunWindow(ctx context.Context, k ConnectionKey, runID string, total, released int) error {
	if err := checkIDs(k.CompanyID, k.ID, runID); err != nil {
		return fmt.Errorf("raise run window: %w", err)
	}
	if released < 0 || released > total {
		return fmt.Errorf("raise run window of %s: %d of %d tasks released", runID, released, total)
	}
	// One write, whatever the stored count: the maximum transform keeps the larger of the two,
	// where a transaction would cost a begin, a read and a commit.
	_, err := s.runWindow(k, runID).Set(ctx, map[string]any{
		"total": total, "released": firestore.FieldTransformMaximum(released), "updatedAt": s.now(),
	}, firestore.MergeAll)
	if err != nil {
		return fmt.Errorf("raise run window of %s: %w", runID, err)
	}
	return nil
}
