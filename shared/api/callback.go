package api

import (
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/efactori/drivesync/shared/connection"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/logging"
	"github.com/efactori/drivesync/shared/problem"
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
}

// Callback serves the OAuth redirect URI: Google sends the browser there after its consent
// screen, with ?state=&code= or ?state=&error=. The answer is a 303 back to the frontend, or a
// page saying the link expired when the state is not one we issued and have not used yet.
type Callback struct {
	opts     CallbackOptions
	frontend *url.URL
	handler  http.Handler
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
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("new callback: %w", err)
	}
	c := &Callback{opts: opts, frontend: u}
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
	q := r.URL.Query()
	state, code, errParam := q.Get("state"), q.Get("code"), q.Get("error")
	if state == "" || len(state) > maxCallbackParam || len(code) > maxCallbackParam || len(errParam) > maxCallbackParam ||
		(code == "" && errParam == "") {
		c.opts.Logger.InfoContext(r.Context(), "oauth callback refused", "reason", "missing or oversized parameters")
		c.problem(w, r, problemExpiredLink)
		return
	}
	res, err := c.opts.Callbacks.Callback(r.Context(), state, code, errParam)
	switch {
	case errors.Is(err, drivesync.ErrInvalidState):
		c.opts.Logger.InfoContext(r.Context(), "oauth callback refused", "reason", "invalid state")
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
	http.Redirect(w, r, c.frontendURL(res.ConnectionID, res.Result), http.StatusSeeOther)
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

var problemExpiredLink = problem.New("invalid-authorization-state", http.StatusBadRequest, "Link expired",
	"This authorization link has expired or was already used. Go back to eFactori and connect Google Drive again.")

// problem answers p as problem+json to clients that ask for JSON, and as a small HTML page to
// browsers, which is what lands here after Google's consent screen.
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
	if err := problemPage.Execute(w, p); err != nil {
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

var problemPage = template.Must(template.New("problem").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{.Title}} – Google Drive for eFactori</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
<p>{{.Detail}}</p>
</main>
</body>
</html>
`))
