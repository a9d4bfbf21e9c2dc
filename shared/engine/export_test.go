package engine

import "context"

// SetAfterReserve makes e call f once a new file ID is stored in a mapping and before the file
// is created, to stand in for a crash at the worst moment.
func SetAfterReserve(e *Engine, f func(ctx context.Context, documentID string) error) {
	e.afterReserve = f
}
