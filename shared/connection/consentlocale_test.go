package connection_test

import (
	"errors"
	"testing"

	"github.com/efactori/drivesync/shared/connection"
	"github.com/efactori/drivesync/shared/drivesync"
)

// TestConsentLocale checks that the callback can word its pages in the connection's language:
// the locale is read from a live state without using it, and refused once the state is used.
func TestConsentLocale(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "drive")
	ctx := e.ctx
	_, authURL, err := e.svc.Create(ctx, acme, acmeName, connection.CreateInput{
		Name: "Boekhouding", FolderLayout: drivesync.LayoutYear, Locale: drivesync.LocaleNL})
	if err != nil {
		t.Fatal(err)
	}
	state := linkState(t, authURL)
	for range 2 { // reading it twice changes nothing
		if got, err := e.svc.ConsentLocale(ctx, state); err != nil || got != drivesync.LocaleNL {
			t.Fatalf("ConsentLocale = %q, %v; want nl", got, err)
		}
	}
	// The state is still whole: the consent completes.
	state, code, _ := e.consent(t, authURL, alice, true)
	if res, err := e.callback(state, code, ""); err != nil || res.Result != connection.ResultOK {
		t.Fatalf("Callback = %+v, %v", res, err)
	}
	if _, err := e.svc.ConsentLocale(ctx, state); !errors.Is(err, drivesync.ErrInvalidState) {
		t.Errorf("used state: err = %v, want ErrInvalidState", err)
	}
	if _, err := e.svc.ConsentLocale(ctx, "never-issued"); !errors.Is(err, drivesync.ErrInvalidState) {
		t.Errorf("unknown state: err = %v, want ErrInvalidState", err)
	}
}
