package engine

import (
	"context"
	"fmt"
	"math"
	"sync"

	"golang.org/x/time/rate"

	"github.com/efactori/drivesync/shared/drive"
	"github.com/efactori/drivesync/shared/drivesync"
)

// pace waits for connectionID's turn to write to Drive. Drive limits writes per user; staying
// under the limit is cheaper than being told so and backing off.
func (e *Engine) pace(ctx context.Context, connectionID string) error {
	e.mu.Lock()
	l, ok := e.limiters[connectionID]
	if !ok {
		l = rate.NewLimiter(rate.Limit(e.wps), max(1, int(math.Ceil(e.wps))))
		e.limiters[connectionID] = l
	}
	e.mu.Unlock()
	if err := l.Wait(ctx); err != nil {
		return drivesync.Classify(fmt.Errorf("pace drive writes of connection %s: %w", connectionID, err), drivesync.Retryable, "paced")
	}
	return nil
}

// idPool holds file IDs reserved for one connection. Drive reserves them for the Google account
// that asked, so they are kept per connection; asking for a block at a time makes the
// reservation nearly free per document. IDs lost with the instance cost nothing.
type idPool struct {
	mu  sync.Mutex
	ids []string
}

// reserveID returns a file ID reserved in connectionID's Drive.
func (e *Engine) reserveID(ctx context.Context, connectionID string, dc *drive.Client) (string, error) {
	e.mu.Lock()
	p, ok := e.pools[connectionID]
	if !ok {
		p = &idPool{}
		e.pools[connectionID] = p
	}
	e.mu.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.ids) == 0 {
		ids, err := dc.GenerateIDs(ctx, e.idBlock)
		if err != nil {
			return "", err
		}
		p.ids = ids
	}
	id := p.ids[0]
	p.ids = p.ids[1:]
	return id, nil
}

// giveBackID returns an unused reserved ID to connectionID's pool.
func (e *Engine) giveBackID(connectionID, id string) {
	e.mu.Lock()
	p, ok := e.pools[connectionID]
	e.mu.Unlock()
	if !ok {
		return // dropped meanwhile: the ID may belong to another account
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ids = append(p.ids, id)
}

// dropIDs forgets connectionID's reserved IDs, which belong to a Google account the connection
// may no longer be using after a re-consent.
func (e *Engine) dropIDs(connectionID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.pools, connectionID)
}
