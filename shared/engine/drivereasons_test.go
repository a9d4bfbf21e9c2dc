package engine_test

import (
	"errors"
	"strings"
	"testing"

	standin "github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/local/googleemu/driveemu"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/store"
)

// A full shared drive or folder, or an administrator who blocked Drive apps, puts the connection
// in error with a sentence the settings page shows, and leaves the document pending for the run
// that follows the customer's fix; it is not a silent per-document failure.
func TestDriveReasonsNeedTheCustomer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind    driveemu.FaultKind
		message string // a part of the connection's lastError message
	}{
		{driveemu.FaultSharedDriveFileLimit, "shared drive of this connection holds as many files"},
		{driveemu.FaultFolderChildLimit, "holds too many items"},
		{driveemu.FaultDomainPolicy, "administrator"},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{})
			if err := e.emu.Drive.FailNext("upload:multipart", 1, driveemu.Fault{Kind: tt.kind}); err != nil {
				t.Fatal(err)
			}
			ev := e.upsert(t, "acme-a", standin.Upsert{Kind: drivesync.KindSalesInvoice, Number: "F-1", Date: "2026-03-14"})
			if err := e.engine.HandleEvent(e.ctx, ev); err != nil {
				t.Fatalf("HandleEvent: %v, want it acknowledged", err)
			}
			got := e.get(t)
			if got.Status != drivesync.StatusError || got.LastError == nil || got.LastError.Code != string(tt.kind) ||
				!strings.Contains(got.LastError.Message, tt.message) {
				t.Errorf("connection = %s %+v, want error %s saying %q", got.Status, got.LastError, tt.kind, tt.message)
			}
			if m := e.mapping(t, "acme-a"); m.State != store.MappingPending || m.Code != string(tt.kind) {
				t.Errorf("document = %s %q, want pending %s", m.State, m.Code, tt.kind)
			}
		})
	}
}

// The project's daily quota is waited out: the delivery is retried, the document never failed
// and the connection not put in error.
func TestDailyLimitIsRetried(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	if err := e.emu.Drive.FailNext("upload:multipart", 100, driveemu.Fault{Kind: driveemu.FaultDailyLimit}); err != nil {
		t.Fatal(err)
	}
	ev := e.upsert(t, "acme-a", standin.Upsert{Kind: drivesync.KindSalesInvoice, Number: "F-1", Date: "2026-03-14"})
	err := e.engine.HandleEvent(e.ctx, ev)
	var ce *drivesync.ClassifiedError
	if !errors.As(err, &ce) || ce.Class != drivesync.Retryable || ce.Code != "dailyLimitExceeded" {
		t.Fatalf("HandleEvent: %v, want retryable dailyLimitExceeded", err)
	}
	if m := e.mapping(t, "acme-a"); m.State != store.MappingPending {
		t.Errorf("document = %s %q, want pending", m.State, m.Code)
	}
	if got := e.get(t); got.Status != drivesync.StatusActive || got.LastError != nil {
		t.Errorf("connection = %s %+v, want active without error", got.Status, got.LastError)
	}
	e.emu.Drive.ClearFaults()
	retry(t, "event", func() error { return e.engine.HandleEvent(e.ctx, ev) })
	if m := e.mapping(t, "acme-a"); m.State != store.MappingSynced {
		t.Errorf("after the quota came back: %s, want synced", m.State)
	}
}
