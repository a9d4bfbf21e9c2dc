package connection_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/store"
)

// activate connects alice for acme and chooses a target, and returns the active connection.
func (e *env) activate(t *testing.T) drivesync.Connection {
	t.Helper()
	conn := e.connect(t, acme, "Compta", alice)
	active, err := e.svc.SetTarget(e.ctx, acme, conn.ID, e.mkdir(t, e.rootID(t), "Cible"))
	if err != nil {
		t.Fatal(err)
	}
	return active
}

func TestDriveClientIsCachedPerGrant(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "drive")
	conn := e.activate(t)
	rec, err := e.store.Connection(e.ctx, acme, conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.svc.DriveClient(e.ctx, rec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.About(e.ctx); err != nil {
		t.Fatalf("About with the engine's client: %v", err)
	}
	b, err := e.svc.DriveClient(e.ctx, rec)
	if err != nil || b != a {
		t.Errorf("second DriveClient = %p, %v; want the cached %p", b, err, a)
	}
	rec.RefreshToken = append([]byte(nil), rec.RefreshToken...)
	rec.RefreshToken[len(rec.RefreshToken)-1] ^= 1 // another grant (this one does not decrypt)
	if _, err := e.svc.DriveClient(e.ctx, rec); drivesync.ClassOf(err) != drivesync.NeedsReauthorization {
		t.Errorf("DriveClient with an undecryptable grant: %v, want needs_reauthorization", err)
	}
	rec.RefreshToken = nil
	if _, err := e.svc.DriveClient(e.ctx, rec); drivesync.ClassOf(err) != drivesync.NeedsReauthorization {
		t.Errorf("DriveClient without a grant: %v, want needs_reauthorization", err)
	}
}

func TestMarkNeedsCustomer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code, wantIn string
	}{
		{"target_trashed", "choose a folder again"},
		{"storageQuotaExceeded", "full"},
		{"insufficientFilePermissions", "can no longer write"},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, "drive")
			conn := e.activate(t)
			cause := drivesync.Classify(errors.New("drive said no"), drivesync.NeedsCustomer, tt.code)
			if err := e.svc.MarkNeedsCustomer(e.ctx, acme, conn.ID, cause); err != nil {
				t.Fatal(err)
			}
			got, err := e.svc.Get(e.ctx, acme, conn.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != drivesync.StatusError || got.LastError == nil || got.LastError.Code != tt.code ||
				!strings.Contains(got.LastError.Message, tt.wantIn) {
				t.Errorf("connection = %s %+v; want error %s saying %q", got.Status, got.LastError, tt.code, tt.wantIn)
			}
		})
	}
}

func TestReconsentRestartsTheCopy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "drive")
	conn := e.activate(t)
	stale, err := e.store.Connection(e.ctx, acme, conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.MarkNeedsReauthorization(e.ctx, stale, errors.New("invalid_grant")); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.svc.Get(e.ctx, acme, conn.ID); got.Status != drivesync.StatusNeedsReauthorization {
		t.Fatalf("status = %s", got.Status)
	}
	started := len(e.copies.calls())
	authURL, err := e.svc.Authorize(e.ctx, acme, conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	state, code, _ := e.consent(t, authURL, alice, true)
	if _, err := e.callback(state, code, ""); err != nil {
		t.Fatal(err)
	}
	calls := e.copies.calls()
	if got, want := len(calls), started+1; got != want {
		t.Fatalf("%d copies started, want %d", got, want)
	}
	restarted := calls[len(calls)-1]
	if restarted.Status != drivesync.StatusActive || restarted.InitialCopy.State != drivesync.CopyPending ||
		restarted.InitialCopy.RunID == conn.InitialCopy.RunID {
		t.Errorf("restarted copy = %s %+v; want a new pending run of an active connection", restarted.Status, restarted.InitialCopy)
	}
	// A delivery that still held the old grant reports Google's refusal after the new consent:
	// the new consent stands.
	if err := e.svc.MarkNeedsReauthorization(e.ctx, stale, errors.New("invalid_grant")); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.svc.Get(e.ctx, acme, conn.ID); got.Status != drivesync.StatusActive {
		t.Errorf("status after a late refusal of the old grant = %s, want active", got.Status)
	}
}

func TestGetDerivesCopyProgress(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "drive")
	conn := e.activate(t)
	run := conn.InitialCopy.RunID
	k := store.ConnectionKey{CompanyID: acme, ID: conn.ID}
	if _, err := e.store.RecordCopyPage(e.ctx, k, store.CopyPage{RunID: run, Listed: 4, Invalid: 1}); err != nil {
		t.Fatal(err)
	}
	for i, state := range []store.MappingState{store.MappingSynced, store.MappingSynced, store.MappingPending} {
		doc := string(rune('a' + i))
		m, _, err := e.store.LockMapping(e.ctx, k, store.Mapping{DocumentID: doc}, "h", time.Minute, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.UpdateMapping(e.ctx, k, m, "h", func(m *store.Mapping) error { m.RunID, m.State = run, state; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	want := drivesync.InitialCopy{State: drivesync.CopyPending, RunID: run, Kind: drivesync.RunFirstCopy, Listed: 4, Synced: 2, Failed: 1}
	got, err := e.svc.Get(e.ctx, acme, conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got.InitialCopy); diff != "" {
		t.Errorf("Get's initial copy (-want +got):\n%s", diff)
	}
	list, err := e.svc.List(e.ctx, acme)
	if err != nil || len(list) != 1 {
		t.Fatal(err, len(list))
	}
	if diff := cmp.Diff(want, list[0].InitialCopy); diff != "" {
		t.Errorf("List's initial copy (-want +got):\n%s", diff)
	}
}

// Events are ignored while the integration is off; switching it back on starts a new run of
// every active connection, so what changed meanwhile is copied.
func TestSwitchingBackOnCatchesUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "drive")
	conn := e.activate(t)
	started := len(e.copies.calls())
	if _, err := e.svc.SetIntegration(e.ctx, acme, false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetIntegration(e.ctx, acme, false); err != nil { // off again: nothing to do
		t.Fatal(err)
	}
	if got := len(e.copies.calls()); got != started {
		t.Fatalf("switching off started %d copies", got-started)
	}
	in, err := e.svc.SetIntegration(e.ctx, acme, true)
	if err != nil || !in.Enabled {
		t.Fatalf("SetIntegration(true) = %+v, %v", in, err)
	}
	calls := e.copies.calls()
	if got, want := len(calls), started+1; got != want {
		t.Fatalf("%d copies started after switching back on, want %d", got-started, 1)
	}
	if c := calls[len(calls)-1]; c.ID != conn.ID || c.InitialCopy.State != drivesync.CopyPending || c.InitialCopy.RunID == conn.InitialCopy.RunID {
		t.Errorf("copy started = %s %+v; want a new pending run of %s", c.ID, c.InitialCopy, conn.ID)
	}
	if _, err := e.svc.SetIntegration(e.ctx, acme, true); err != nil { // on again: nothing to do
		t.Fatal(err)
	}
	if got := len(e.copies.calls()); got != started+1 {
		t.Errorf("switching on an integration already on started %d more copies", got-started-1)
	}
}
