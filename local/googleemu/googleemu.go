// Package googleemu serves the OAuth 2.0 emulator, the Drive emulator and the Google Picker
// stand-in together on one handler, so the local dev stack and end-to-end tests reach "Google" at
// a single base URL, Drive accepts exactly the access tokens the OAuth emulator issued, and a
// folder picked in the Picker is granted to the app as Drive does.
package googleemu

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/efactori/drivesync/local/googleemu/driveemu"
	"github.com/efactori/drivesync/local/googleemu/oauthemu"
	"github.com/efactori/drivesync/local/googleemu/pickeremu"
)

// Account is a Google account: it can sign in on the consent page and owns a Drive.
type Account struct {
	Email       string
	DisplayName string
	QuotaBytes  int64 // Drive storage quota; 0 = unlimited
}

// Options configure an Emulator.
type Options struct {
	Accounts []Account
	Clients  []oauthemu.Client
	// Projects are the Cloud projects of the clients, with their numbers and API keys, for the
	// Google Picker: it grants a picked file only to a page that names the token's project.
	Projects []pickeremu.Project
	// AccessTokenTTL is the lifetime of access tokens; 0 means one hour.
	AccessTokenTTL time.Duration
	// Now is the clock of both emulators; nil means time.Now.
	Now func() time.Time
	// BaseURL is where the server is reached; it can be set later with SetBaseURL.
	BaseURL string
	// DataDir, if set, is where the Drive emulator keeps its files across restarts.
	// OAuth grants are never persisted.
	DataDir string
	// AutoConsent, if set, makes the consent page consent at once as this account.
	AutoConsent string
	// Logger receives OAuth grant events; nil discards them.
	Logger *slog.Logger
}

// Emulator is Google's OAuth and Drive endpoints in one process.
type Emulator struct {
	OAuth  *oauthemu.Server
	Drive  *driveemu.Emulator
	Picker *pickeremu.Server
}

// New builds both emulators over the same accounts.
func New(opts Options) (*Emulator, error) {
	oauthAccounts := make([]oauthemu.Account, 0, len(opts.Accounts))
	driveAccounts := make([]driveemu.Account, 0, len(opts.Accounts))
	for _, a := range opts.Accounts {
		oauthAccounts = append(oauthAccounts, oauthemu.Account{Email: a.Email, DisplayName: a.DisplayName})
		driveAccounts = append(driveAccounts, driveemu.Account{Email: a.Email, DisplayName: a.DisplayName, QuotaBytes: a.QuotaBytes})
	}
	o, err := oauthemu.New(oauthemu.Options{
		Accounts:       oauthAccounts,
		Clients:        opts.Clients,
		AccessTokenTTL: opts.AccessTokenTTL,
		Now:            opts.Now,
		Issuer:         opts.BaseURL,
		AutoConsent:    opts.AutoConsent,
		Logger:         opts.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("new google emulator: %w", err)
	}
	d, err := driveemu.New(driveemu.Options{
		Accounts: driveAccounts,
		Auth:     Authenticator{OAuth: o},
		Now:      opts.Now,
		DataDir:  opts.DataDir,
		BaseURL:  opts.BaseURL,
	})
	if err != nil {
		return nil, fmt.Errorf("new google emulator: %w", err)
	}
	p, err := pickeremu.New(pickeremu.Options{Auth: o, Drive: d, Projects: opts.Projects, Logger: opts.Logger})
	if err != nil {
		return nil, fmt.Errorf("new google emulator: %w", err)
	}
	return &Emulator{OAuth: o, Drive: d, Picker: p}, nil
}

// PickerScriptURL is the emulator's stand-in for https://apis.google.com/js/api.js, the script
// that loads the Google Picker.
func (e *Emulator) PickerScriptURL() string { return e.OAuth.Issuer() + pickeremu.ScriptPath }

// SetBaseURL tells both emulators where they are reached, for when the port is known only
// after listening.
func (e *Emulator) SetBaseURL(u string) error {
	if err := e.OAuth.SetIssuer(u); err != nil {
		return fmt.Errorf("set base URL: %w", err)
	}
	e.Drive.SetBaseURL(u)
	return nil
}

// DriveEndpoint is the value for option.WithEndpoint when building a drive/v3 Service.
func (e *Emulator) DriveEndpoint() string { return e.OAuth.Issuer() + "/drive/v3/" }

// drivePrefixes are the paths the Drive emulator owns; everything else is OAuth.
var drivePrefixes = []string{"/drive/", "/upload/drive/", "/emulator/drive/"}

// Handler serves the Drive paths from the Drive emulator, the Picker's script and dialog from
// the Picker stand-in, and every other path from the OAuth emulator.
func (e *Emulator) Handler() http.Handler {
	drive, oauth, picker := e.Drive.Handler(), e.OAuth.Handler(), e.Picker.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if pickeremu.Owns(r.URL.Path) {
			picker.ServeHTTP(w, r)
			return
		}
		if slices.ContainsFunc(drivePrefixes, func(p string) bool { return strings.HasPrefix(r.URL.Path, p) }) {
			drive.ServeHTTP(w, r)
			return
		}
		oauth.ServeHTTP(w, r)
	})
}

// Authenticator lets the Drive emulator accept the OAuth emulator's access tokens.
type Authenticator struct {
	OAuth *oauthemu.Server
}

var _ driveemu.Authenticator = Authenticator{}

// Authenticate returns who accessToken speaks for. It fails for unknown, expired and revoked
// tokens, which Drive answers with 401.
func (a Authenticator) Authenticate(ctx context.Context, accessToken string) (driveemu.Principal, error) {
	if a.OAuth == nil {
		return driveemu.Principal{}, errors.New("authenticate: no oauth emulator")
	}
	g, err := a.OAuth.Authenticate(ctx, accessToken)
	if err != nil {
		return driveemu.Principal{}, err
	}
	return driveemu.Principal{Account: g.Account, ClientID: g.ClientID, Scopes: g.Scopes}, nil
}
