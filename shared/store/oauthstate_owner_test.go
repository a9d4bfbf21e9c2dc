package store_test

import (
	"errors"
	"testing"

	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/store"
)

// TestOAuthStateOwner checks that the owner of a state is read without using the state, and that
// unknown, used and expired states are refused.
func TestOAuthStateOwner(t *testing.T) {
	t.Parallel()
	s, _, c := newStore(t)
	ctx := t.Context()
	if _, err := s.SaveOAuthState(ctx, "owned", store.OAuthState{CompanyID: "acme", ConnectionID: "c1"}); err != nil {
		t.Fatal(err)
	}
	company, id, err := s.OAuthStateOwner(ctx, "owned")
	if err != nil || company != "acme" || id != "c1" {
		t.Fatalf("OAuthStateOwner = %q, %q, %v; want acme, c1", company, id, err)
	}
	// Reading the owner left the state usable.
	if _, err := s.BindOAuthState(ctx, "owned", "browser"); err != nil {
		t.Fatalf("BindOAuthState after OAuthStateOwner: %v", err)
	}
	if _, err := s.ConsumeOAuthState(ctx, "owned", "browser"); err != nil {
		t.Fatalf("ConsumeOAuthState after OAuthStateOwner: %v", err)
	}
	if _, _, err := s.OAuthStateOwner(ctx, "owned"); !errors.Is(err, drivesync.ErrInvalidState) {
		t.Errorf("used state: err = %v, want ErrInvalidState", err)
	}
	for _, state := range []string{"", "never-issued"} {
		if _, _, err := s.OAuthStateOwner(ctx, state); !errors.Is(err, drivesync.ErrInvalidState) {
			t.Errorf("state %q: err = %v, want ErrInvalidState", state, err)
		}
	}
	if _, err := s.SaveOAuthState(ctx, "old", store.OAuthState{CompanyID: "acme", ConnectionID: "c2"}); err != nil {
		t.Fatal(err)
	}
	c.Advance(store.OAuthStateTTL + 1)
	if _, _, err := s.OAuthStateOwner(ctx, "old"); !errors.Is(err, drivesync.ErrInvalidState) {
		t.Errorf("expired state: err = %v, want ErrInvalidState", err)
	}
}
