package connection_test

import (
	"errors"
	"testing"
	"time"

	"github.com/efactori/drivesync/shared/connection"
	"github.com/efactori/drivesync/shared/drivesync"
)

// TestPickerToken: in drive.file mode a connection with a grant hands out an access token of
// its Google account, which Google accepts as the connection's; the drive mode, a connection
// without a grant and another company's connection get none.
func TestPickerToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "drive.file")
	conn := e.connect(t, acme, "Compta", alice)

	tok, err := e.svc.PickerToken(e.ctx, acme, conn.ID)
	if err != nil {
		t.Fatalf("PickerToken: %v", err)
	}
	g, err := e.emu.OAuth.Authenticate(e.ctx, tok.AccessToken)
	if err != nil {
		t.Fatalf("the token is not one Google accepts: %v", err)
	}
	if g.Account != alice || g.ClientID != clientID {
		t.Errorf("token speaks for %s via %s, want %s via %s", g.Account, g.ClientID, alice, clientID)
	}
	if !tok.Expiry.Equal(g.Expiry) || !tok.Expiry.After(e.clock.Now().Add(30*time.Minute)) {
		t.Errorf("expiry = %v, want Google's %v, about an hour away", tok.Expiry, g.Expiry)
	}

	if _, err := e.svc.PickerToken(e.ctx, globex, conn.ID); !errors.Is(err, drivesync.ErrNotFound) {
		t.Errorf("another company's connection: err = %v, want ErrNotFound", err)
	}
	pending, _, err := e.svc.Create(e.ctx, acme, acmeName, connection.CreateInput{Name: "Pending", FolderLayout: drivesync.LayoutYear})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.PickerToken(e.ctx, acme, pending.ID); !errors.Is(err, drivesync.ErrConsentRequired) {
		t.Errorf("connection awaiting consent: err = %v, want ErrConsentRequired", err)
	}

	browse := newEnv(t, "drive")
	c2 := browse.connect(t, globex, "Compta", alice) // same Firestore namespace as e
	if _, err := browse.svc.PickerToken(browse.ctx, globex, c2.ID); !errors.Is(err, connection.ErrPickerUnavailable) {
		t.Errorf("drive mode: err = %v, want ErrPickerUnavailable", err)
	}
}

// TestPickerTokenGrantLost: a grant Google no longer accepts gives no token and turns the
// connection needs_reauthorization, as any Drive call would.
func TestPickerTokenGrantLost(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "drive.file")
	conn := e.connect(t, acme, "Compta", alice)
	e.emu.OAuth.RevokeAll(alice, clientID)
	if _, err := e.svc.PickerToken(e.ctx, acme, conn.ID); !errors.Is(err, drivesync.ErrGrantLost) {
		t.Fatalf("err = %v, want ErrGrantLost", err)
	}
	got, err := e.svc.Get(e.ctx, acme, conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != drivesync.StatusNeedsReauthorization {
		t.Errorf("status = %s, want %s", got.Status, drivesync.StatusNeedsReauthorization)
	}
}
