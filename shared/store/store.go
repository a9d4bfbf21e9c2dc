// Package store keeps drivesync's state in Firestore. Everything a company owns lives under its
// own document, companies/{companyId}, so a query can only ever reach one tenant's data:
// connections at companies/{companyId}/connections/{connectionId}, with the mappings, folder
// cache and file name claims of each under it. The exceptions are oauthStates/{sha256(state)},
// since an OAuth callback arrives before anyone knows which company it is for, and
// driveAccounts/{sha256}, the Drive write budget of a Google account that several companies may
// share (budget.go). Two lookups cross companies on
// purpose and say why (ConnectionByID, GrantHolders).
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"cloud.google.com/go/firestore"
	apiv1 "cloud.google.com/go/firestore/apiv1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Collection names. Every index the queries need is declared in Indexes (indexes.go).
const (
	colCompanies   = "companies"
	colConnections = "connections"
	colOAuthStates = "oauthStates"
)

// Integration is a company's "Synchronisation et sauvegarde avec Google Drive" switch.
type Integration struct {
	Enabled         bool
	ConnectionCount int
	UpdatedAt       time.Time
}

// Store reads and writes drivesync's Firestore documents.
type Store struct {
	fs  *firestore.Client
	now func() time.Time

	events EventPublisher // nil: status events are recorded on connections, never published
	log    *slog.Logger

	horizons horizonMemo   // the Drive write budgets' horizons this process last saw (budget.go)
	api      *apiv1.Client // nil: one per process, made like the client library's (increment.go)
}

// New returns a Store on fs. now is the clock; nil means time.Now.
func New(fs *firestore.Client, now func() time.Time, opts ...Option) (*Store, error) {
	if fs == nil {
		return nil, errors.New("new store: nil firestore client")
	}
	if now == nil {
		now = time.Now
	}
	s := &Store{fs: fs, now: now, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, fmt.Errorf("new store: %w", err)
		}
	}
	return s, nil
}

type companyDoc struct {
	Enabled   bool      `firestore:"enabled"`
	Name      string    `firestore:"name"`
	UpdatedAt time.Time `firestore:"updatedAt"`
	// ConnectionsVersion goes up with every new connection (and rename), in the same
	// transaction: a list of connection IDs read at one version is the whole set while the
	// version stays.
	ConnectionsVersion int64 `firestore:"connectionsVersion"`
}

func (s *Store) company(id string) *firestore.DocumentRef {
	return s.fs.Collection(colCompanies).Doc(id)
}

// Integration returns the company's switch and how many connections it has. A company never seen
// before has the integration disabled.
func (s *Store) Integration(ctx context.Context, companyID string) (Integration, error) {
	if err := checkIDs(companyID); err != nil {
		return Integration{}, fmt.Errorf("get integration: %w", err)
	}
	var doc companyDoc
	snap, err := s.company(companyID).Get(ctx)
	switch {
	case status.Code(err) == codes.NotFound:
	case err != nil:
		return Integration{}, fmt.Errorf("get company %s: %w", companyID, err)
	default:
		if err := snap.DataTo(&doc); err != nil {
			return Integration{}, fmt.Errorf("decode company %s: %w", companyID, err)
		}
	}
	res, err := s.company(companyID).Collection(colConnections).NewAggregationQuery().WithCount("n").Get(ctx)
	if err != nil {
		return Integration{}, fmt.Errorf("count connections of %s: %w", companyID, err)
	}
	n, err := countOf(res, "n")
	if err != nil {
		return Integration{}, fmt.Errorf("count connections of %s: %w", companyID, err)
	}
	return Integration{Enabled: doc.Enabled, ConnectionCount: n, UpdatedAt: doc.UpdatedAt}, nil
}

// SetIntegration switches the integration on or off. Connections and mappings are kept either way.
func (s *Store) SetIntegration(ctx context.Context, companyID string, enabled bool) error {
	if err := checkIDs(companyID); err != nil {
		return fmt.Errorf("set integration: %w", err)
	}
	_, err := s.company(companyID).Set(ctx, map[string]any{"enabled": enabled, "updatedAt": s.now()}, firestore.MergeAll)
	if err != nil {
		return fmt.Errorf("set integration of %s: %w", companyID, err)
	}
	return nil
}

func countOf(res firestore.AggregationResult, alias string) (int, error) {
	switch v := res[alias].(type) {
	case int64:
		return int(v), nil
	case interface{ GetIntegerValue() int64 }:
		return int(v.GetIntegerValue()), nil
	default:
		return 0, fmt.Errorf("unexpected count type %T", res[alias])
	}
}
