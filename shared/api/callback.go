package api

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/efactori/drivesync/shared/connection"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/logging"
	"github.com/efactori/drivesync/shared/problem"
	"github.com/efactori/drivesync/shared/store"
)

// maxCallbackParam bounds state, code and error: Google's are well under 512 bytes, and a
// longer one is not worth a Firestore read.
const maxCallbackParam = 2048

// CallbackOptions configure NewCallback.
type CallbackOptions struct {
	Callbacks Callbacks
	Logger    *slog.Logger
	// FrontendURL is the eFactori page the browser returns to, with ?connection=&result=.
	FrontendURL string
	// RedirectURL is the OAuth redirect URI, the public URL of this handler: the browser's
	// cookie is scoped to its path, and marked Secure unless it is plain http (local only).
	RedirectURL string
}

// Callback serves the OAuth redirect URI and the start link under it.
//
// The start link (<redirect URI>/start?state=, connection.StartPath), which the API hands the
// frontend as the authorization URL, ties the state to the browser that opens it: it sets a
// short-lived HttpOnly, SameSite=Lax cookie holding a secret only that browser has, and sends it
// on to Google's consent page with a 303.
//
// Google sends the browser back to the redirect URI after its consent screen, with
// ?state=&code= or ?state=&error=. The answer is a 303 back to the frontend; a page saying the
// link expired when the state is not one we issued and have not used yet; or a page saying the
// consent must be finished in the browser that started it when the cookie is not there or not
// the state's (RFC 6749 §10.12: a link forwarded to someone else cannot tie their Drive to the
// company's connection).
type Callback struct {
	opts       CallbackOptions
	frontend   *url.URL
	cookiePath string
	secure     bool
	handler    http.Handler
}

// NewCallback returns the callback handler; every option is required.
func NewCallback(opts CallbackOptions) (*Callback, error) {
	var errs []error
	if opts.Callbacks == nil {
		errs = append(errs, errors.New("nil callbacks"))
	}
	if opts.Logger == nil {
		errs = append(errs, errors.New("nil logger"))
	}
	u, err := url.Parse(opts.FrontendURL)
	if err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		errs = append(errs, fmt.Errorf("frontend URL %q is not an absolute http(s) URL", opts.FrontendURL))
	}
	redirect, err := url.Parse(opts.RedirectURL)
	switch {
	case err != nil || !redirect.IsAbs() || redirect.Host == "" || (redirect.Scheme != "http" && redirect.Scheme != "https"):
		errs = append(errs, fmt.Errorf("redirect URL %q is not an absolute http(s) URL", opts.RedirectURL))
	case isStart(redirect.Path):
		errs = append(errs, fmt.Errorf("redirect URL %q ends with %s, the start link's path", opts.RedirectURL, connection.StartPath))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("new callback: %w", err)
	}
	c := &Callback{opts: opts, frontend: u, secure: redirect.Scheme == "https",
		cookiePath: strings.TrimSuffix(redirect.Path, "/")}
	if c.cookiePath == "" {
		c.cookiePath = "/"
	}
	c.handler = logging.Middleware(http.HandlerFunc(c.serve))
	return c, nil
}

// ServeHTTP implements http.Handler.
func (c *Callback) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.handler.ServeHTTP(w, r) }

func (c *Callback) serve(w http.ResponseWriter, r *http.Request) {
	// The URL holds a one-time code and the state; neither may leak to the next page through
	// Referer, nor be kept by a cache.
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-store")
	// GET only: a HEAD would spend the one-time state as surely as a GET.
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		c.problem(w, r, problem.MethodNotAllowed)
		return
	}
	if isStart(r.URL.Path) {
		c.start(w, r)
		return
	}
	q := r.URL.Query()
	state, code, errParam := q.Get("state"), q.Get("code"), q.Get("error")
	if state == "" || len(state) > maxCallbackParam || len(code) > maxCallbackParam || len(errParam) > maxCallbackParam ||
		(code == "" && errParam == "") {
		c.opts.Logger.InfoContext(r.Context(), "oauth callback refused", "reason", "missing or oversized parameters")
		c.problem(w, r, problemExpiredLink)
		return
	}
	var browser string
	if ck, err := r.Cookie(c.cookieName(state)); err == nil {
		browser = ck.Value
	}
	res, err := c.opts.Callbacks.Callback(r.Context(), state, browser, code, errParam)
	switch {
	case errors.Is(err, drivesync.ErrWrongBrowser):
		// The state is kept: the browser that started the consent can still finish it.
		c.opts.Logger.InfoContext(r.Context(), "oauth callback refused", "reason", "not the browser that opened the link",
			"cookie", browser != "")
		c.problem(w, r, problemOtherBrowser)
		return
	case errors.Is(err, drivesync.ErrInvalidState):
		c.opts.Logger.InfoContext(r.Context(), "oauth callback refused", "reason", "invalid state")
		c.clearCookie(w, state)
		c.problem(w, r, problemExpiredLink)
		return
	case err != nil && res.ConnectionID == "":
		c.opts.Logger.ErrorContext(r.Context(), "oauth callback failed", "err", err)
		c.problem(w, r, problem.Internal)
		return
	case err != nil:
		// The state named a connection: the frontend can show it and offer to try again.
		c.opts.Logger.ErrorContext(r.Context(), "oauth callback failed", "connectionId", res.ConnectionID, "err", err)
		res.Result = connection.ResultError
	}
	switch res.Result {
	case connection.ResultOK, connection.ResultDenied, connection.ResultError:
	default:
		c.opts.Logger.ErrorContext(r.Context(), "oauth callback: unknown result from service", "connectionId", res.ConnectionID, "result", res.Result)
		res.Result = connection.ResultError
	}
	c.opts.Logger.InfoContext(r.Context(), "oauth callback", "connectionId", res.ConnectionID, "result", res.Result)
	c.clearCookie(w, state)
	http.Redirect(w, r, c.frontendURL(res.ConnectionID, res.Result), http.StatusSeeOther)
}

// isStart reports whether path is the start link's. The redirect URI's own path may or may not
// reach the function (Cloud Functions strips the function's name from a cloudfunctions.net
// URL), so only the last segment is compared; NewCallback refuses a redirect URI that ends so.
func isStart(path string) bool { return strings.HasSuffix(path, connection.StartPath) }

// start serves the start link: it binds the state to this browser with a cookie and sends the
// browser on to Google's consent page.
func (c *Callback) start(w http.ResponseWriter, r *http.Request) {
	state := r.URL.Query().Get("state")
	if state == "" || len(state) > maxCallbackParam {
		c.opts.Logger.InfoContext(r.Context(), "consent start refused", "reason", "missing or oversized state")
		c.problem(w, r, problemExpiredLink)
		return
	}
	st, err := c.opts.Callbacks.StartConsent(r.Context(), state)
	switch {
	case errors.Is(err, drivesync.ErrInvalidState):
		c.opts.Logger.InfoContext(r.Context(), "consent start refused", "reason", "unknown, expired or already opened")
		c.problem(w, r, problemExpiredLink)
		return
	case err != nil:
		c.opts.Logger.ErrorContext(r.Context(), "consent start failed", "err", err)
		c.problem(w, r, problem.Internal)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: c.cookieName(state), Value: st.Browser, Path: c.cookiePath,
		MaxAge:   max(1, int(math.Ceil(st.Lifetime.Seconds()))),
		HttpOnly: true, Secure: c.secure,
		// Lax: sent on the top-level GET Google's consent screen redirects to, never on a
		// cross-site subrequest.
		SameSite: http.SameSiteLaxMode,
	})
	c.opts.Logger.InfoContext(r.Context(), "consent started")
	http.Redirect(w, r, st.GoogleURL, http.StatusSeeOther)
}

// cookieName is the name of the cookie that binds state to a browser: one per state, so that
// consents started in two tabs do not undo each other. The __Secure- prefix makes browsers
// refuse it unless it is Secure, which it is except on plain http (local only).
func (c *Callback) cookieName(state string) string {
	name := "drivesync-consent-" + store.StateID(state)[:16]
	if c.secure {
		name = "__Secure-" + name
	}
	return name
}

// clearCookie asks the browser to drop the cookie of state, which is of no more use.
func (c *Callback) clearCookie(w http.ResponseWriter, state string) {
	http.SetCookie(w, &http.Cookie{Name: c.cookieName(state), Value: "", Path: c.cookiePath, MaxAge: -1,
		HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteLaxMode})
}

// frontendURL is FrontendURL with connection and result added to whatever query it has.
func (c *Callback) frontendURL(connectionID, result string) string {
	u := *c.frontend
	q := u.Query()
	q.Set("connection", connectionID)
	q.Set("result", result)
	u.RawQuery = q.Encode()
	return u.String()
}

var (
	problemExpiredLink = problem.New(slugExpiredLink, http.StatusBadRequest, "Link expired",
		"This authorization link has expired or was already used. Go back to eFactori and connect Google Drive again.")
	problemOtherBrowser = problem.New(slugOtherBrowser, http.StatusForbidden, "Opened in another browser",
		"This Google authorization was started in another browser, or this browser does not keep cookies. "+
			"Nothing was changed. Connect Google Drive from eFactori in this browser, with cookies allowed, and finish there.")
)

// problem answers p as problem+json to clients that ask for JSON, and as a small HTML page to
// browsers, which is what lands here after Google's consent screen, in the customer's language
// (pageFor).
func (c *Callback) problem(w http.ResponseWriter, r *http.Request, p *problem.Problem) {
	if !wantsHTML(r.Header.Get("Accept")) {
		problem.Write(w, r, p)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	w.WriteHeader(p.Status)
	if err := problemPage.Execute(w, c.pageFor(r, p)); err != nil {
		c.opts.Logger.ErrorContext(r.Context(), "write problem page", "err", err)
	}
}

// wantsHTML reports whether an Accept header prefers HTML over JSON. Browsers list text/html;
// API clients list a JSON type; no header at all is most likely a person too.
func wantsHTML(accept string) bool {
	if strings.TrimSpace(accept) == "" {
		return true
	}
	best, bestQ := "", -1.0
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if _, err := fmt.Sscanf(v, "%g", &q); err != nil {
				continue
			}
		}
		switch mt {
		case "text/html", "application/xhtml+xml", "application/json", problem.ContentType:
		default:
			continue
		}
		if q > bestQ {
			best, bestQ = mt, q
		}
	}
	return best == "" || best == "text/html" || best == "application/xhtml+xml"
}
