package connection

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/oauth"
	"github.com/efactori/drivesync/shared/store"
)

// CallbackResult is how a consent ended, for the frontend page the browser returns to.
type CallbackResult struct {
	ConnectionID string
	Result       string // ResultOK, ResultDenied or ResultError
}

// Plain-words messages for LastError; the frontend shows them as they are.
const (
	msgReauthorize      = "Google no longer accepts drivesync's access; reconnect the Drive."
	msgConsentFailed    = "Google did not complete the authorization; try connecting the Drive again."
	msgScopeNotGranted  = "Not every permission was granted on Google's screen; connect the Drive again and allow them all."
	msgChooseFolder     = "The Google Drive folder chosen for this connection is gone, in the trash or read-only; choose a folder again."
	codeConsentFailed   = "authorization_failed"
	codeReauthorization = "invalid_grant"
)

// StartPath is the path, under the OAuth redirect URI, of the link that starts a consent:
// <redirect URI>/start?state=<state>. The OAuthCallback function serves it (StartConsent).
const StartPath = "/start"

// ConsentStart is where StartConsent sends the browser that opened a consent's authorization
// link, and the secret that browser must keep for Callback.
type ConsentStart struct {
	// GoogleURL is Google's consent page for the state.
	GoogleURL string
	// Browser is a random secret the browser keeps (in a short-lived cookie) and presents to
	// Callback; only its hash is stored.
	Browser string
	// Lifetime is how long the state stays usable.
	Lifetime time.Duration
}

// Authorize starts a (new) consent for a connection and returns its authorization link (see
// authorize). It is how a connection whose grant is gone is reconnected.
func (s *Service) Authorize(ctx context.Context, companyID, id string) (string, error) {
	rec, err := s.store.Connection(ctx, companyID, id)
	if err != nil {
		return "", err
	}
	return s.authorize(ctx, rec.Connection)
}

// authorize saves a new state with its PKCE verifier, encrypted and bound to the state's ID, and
// returns the consent's authorization link: not Google's page itself but drivesync's start link
// (StartPath under the OAuth redirect URI), which ties the state to the browser that opens it
// and then sends it to Google. The consent can only be completed in that browser (RFC 6749
// §10.12): a link forwarded to someone else, or Google's URL copied into another browser, fails
// at the callback.
func (s *Service) authorize(ctx context.Context, conn drivesync.Connection) (string, error) {
	state, verifier := oauth.NewState(), oauth.NewVerifier()
	ct, err := s.cipher.Encrypt([]byte(verifier), []byte(store.StateID(state)))
	if err != nil {
		return "", fmt.Errorf("authorize connection %s: %w", conn.ID, err)
	}
	if _, err := s.store.SaveOAuthState(ctx, state, store.OAuthState{
		CompanyID: conn.CompanyID, ConnectionID: conn.ID, Verifier: ct,
	}); err != nil {
		return "", fmt.Errorf("authorize connection %s: %w", conn.ID, err)
	}
	return startURL(s.oauth.RedirectURL(), state)
}

// startURL is the start link of state under redirectURI: the redirect URI's path with StartPath
// added, and state in the query.
func startURL(redirectURI, state string) (string, error) {
	u, err := url.Parse(redirectURI)
	if err != nil {
		return "", fmt.Errorf("start link: redirect URI: %w", err)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + StartPath
	u.RawPath, u.Fragment = "", ""
	q := u.Query()
	q.Set("state", state)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// StartConsent is what the start link does: it ties state to the browser that opened it, with
// a new random secret that browser must keep and present to Callback, and returns Google's
// consent page for the state. A state is started once: an unknown, expired or already started
// state is drivesync.ErrInvalidState and changes nothing.
func (s *Service) StartConsent(ctx context.Context, state string) (ConsentStart, error) {
	browser := oauth.NewState() // 256 random bits, URL-safe: fit for a cookie value
	st, err := s.store.BindOAuthState(ctx, state, browser)
	if err != nil {
		return ConsentStart{}, err
	}
	verifier, err := s.cipher.Decrypt(st.Verifier, []byte(store.StateID(state)))
	if err != nil {
		return ConsentStart{}, fmt.Errorf("start consent: verifier: %w: %w", drivesync.ErrInvalidState, err)
	}
	return ConsentStart{
		GoogleURL: s.oauth.AuthorizationURL(state, string(verifier)),
		Browser:   browser,
		Lifetime:  st.ExpireAt.Sub(s.now()),
	}, nil
}

// Callback completes a consent from the parameters Google sent the browser back with, and
// browser, the secret of the browser that came back (ConsentStart.Browser). A browser other than
// the one that opened the authorization link (another secret, or none) is
// drivesync.ErrWrongBrowser: nothing changes and the state stays usable by the right browser
// until it expires. A state that is unknown, expired, already used, tampered with, or whose
// connection is gone is drivesync.ErrInvalidState, and changes nothing. A refusal (error=access_denied) is
// ResultDenied and leaves the connection as it was. A failed code exchange is ResultError with
// the connection's LastError set. On success the refresh token is stored encrypted with the
// account's email and the connection waits for its folder, or, when it was reconnected after
// losing its grant and has a target, is active again.
func (s *Service) Callback(ctx context.Context, state, browser, code, errParam string) (CallbackResult, error) {
	st, err := s.store.ConsumeOAuthState(ctx, state, browser)
	if err != nil {
		return CallbackResult{}, err
	}
	verifier, err := s.cipher.Decrypt(st.Verifier, []byte(store.StateID(state)))
	if err != nil {
		return CallbackResult{}, fmt.Errorf("oauth callback: verifier: %w: %w", drivesync.ErrInvalidState, err)
	}
	rec, err := s.store.Connection(ctx, st.CompanyID, st.ConnectionID)
	if errors.Is(err, drivesync.ErrNotFound) {
		return CallbackResult{}, fmt.Errorf("oauth callback: connection %s was deleted: %w", st.ConnectionID, drivesync.ErrInvalidState)
	}
	if err != nil {
		return CallbackResult{}, err
	}
	res := CallbackResult{ConnectionID: rec.ID}
	log := s.log.With("companyId", rec.CompanyID, "connectionId", rec.ID)

	switch {
	case errParam == "access_denied":
		log.InfoContext(ctx, "consent refused")
		res.Result = ResultDenied
		return res, nil
	case errParam != "" || code == "":
		// errParam comes from the browser's URL: it is logged, quoted, but never stored.
		log.WarnContext(ctx, "consent failed at google", "error", fmt.Sprintf("%q", truncate(errParam, 64)))
		return s.callbackFailed(ctx, rec, res, codeConsentFailed, msgConsentFailed)
	}

	grant, err := s.oauth.Exchange(ctx, code, string(verifier))
	if err != nil {
		log.WarnContext(ctx, "code exchange failed", "err", err, "class", drivesync.ClassOf(err).String())
		var ce *drivesync.ClassifiedError
		if errors.As(err, &ce) && ce.Code == oauth.CodeScopeNotGranted {
			return s.callbackFailed(ctx, rec, res, ce.Code, msgScopeNotGranted)
		}
		return s.callbackFailed(ctx, rec, res, codeConsentFailed, msgConsentFailed)
	}
	ct, err := s.cipher.Encrypt([]byte(grant.RefreshToken), []byte(rec.ID))
	if err != nil {
		return CallbackResult{}, fmt.Errorf("oauth callback for connection %s: %w", rec.ID, err)
	}
	runID := s.newID()
	var restarted bool
	updated, err := s.store.UpdateConnection(ctx, rec.CompanyID, rec.ID, func(r *store.ConnectionRecord) error {
		restarted = false
		if r.GoogleSubject != "" && r.GoogleSubject != grant.Subject && r.Target.FolderID != "" {
			// Another Google account: nothing says it can see the old target.
			r.Target = drivesync.Target{}
			r.Status = drivesync.StatusAwaitingFolder
		}
		switch r.Status {
		case drivesync.StatusAwaitingAuthorization:
			r.Status = drivesync.StatusAwaitingFolder
		case drivesync.StatusNeedsReauthorization:
			// The grant was all that was missing: a connection with a target copies again. A
			// target problem from before the grant was lost shows again at the next Drive call.
			r.Status = drivesync.StatusAwaitingFolder
			if r.Target.FolderID != "" {
				// Documents that waited for the grant are copied by a new run, which
				// re-visits everything; those already in Drive cost no Drive call.
				r.Status = drivesync.StatusActive
				r.InitialCopy = drivesync.InitialCopy{State: drivesync.CopyPending, RunID: runID, Kind: drivesync.RunReconsent}
				restarted = true
			}
		}
		r.PreviousStatus = ""
		r.GoogleAccountEmail, r.GoogleSubject = grant.Email, grant.Subject
		r.RefreshToken, r.TokenExpiry = ct, grant.Expiry
		r.LastError = nil
		return nil
	})
	if errors.Is(err, drivesync.ErrNotFound) {
		// Deleted while the browser was at Google. The new refresh token is not revoked: its
		// grant may be another connection's too (see revoke).
		return CallbackResult{}, fmt.Errorf("oauth callback: connection %s was deleted: %w", rec.ID, drivesync.ErrInvalidState)
	}
	if err != nil {
		return CallbackResult{}, err
	}
	log.InfoContext(ctx, "consent completed", "status", string(updated.Status))
	if restarted {
		if _, err := s.startCopy(ctx, updated.Connection); err != nil {
			// The consent itself succeeded; the run stays pending and Resync requests it again.
			log.WarnContext(ctx, "copy not restarted after consent", "runId", runID, "err", err)
		}
	}
	res.Result = ResultOK
	return res, nil
}

// callbackFailed records a failed consent on the connection, whose status stays as it was.
func (s *Service) callbackFailed(ctx context.Context, rec store.ConnectionRecord, res CallbackResult, code, msg string) (CallbackResult, error) {
	_, err := s.store.UpdateConnection(ctx, rec.CompanyID, rec.ID, func(r *store.ConnectionRecord) error {
		r.LastError = &drivesync.LastError{Code: code, Message: msg, At: s.now()}
		return nil
	})
	if err != nil && !errors.Is(err, drivesync.ErrNotFound) {
		return CallbackResult{}, err
	}
	res.Result = ResultError
	return res, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
