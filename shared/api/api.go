// Package api serves drivesync's HTTP surface: the connection API the eFactori frontend calls
// (every route, its input checks, its tenant scoping, its problem+json errors) and the OAuth
// callback Google sends the browser back to. It holds no domain logic: each handler decodes the
// request, calls the connection service and encodes the answer or maps its error to a problem.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/efactori/drivesync/shared/auth"
	"github.com/efactori/drivesync/shared/logging"
	"github.com/efactori/drivesync/shared/problem"
)

// MaxBodyBytes bounds every request body; the API's requests are a few hundred bytes.
const MaxBodyBytes = 16 << 10

// TokenVerifier turns a bearer token into a caller. Errors wrapping auth.ErrUnauthenticated mean
// the token is bad; others mean verification could not be done.
type TokenVerifier interface {
	Verify(ctx context.Context, raw string) (auth.Caller, error)
}

var _ TokenVerifier = (*auth.Verifier)(nil)

// Options configure New.
type Options struct {
	Verifier        TokenVerifier
	Service         Service
	Documents       Documents // the document history (shared/history)
	Logger          *slog.Logger
	FrontendOrigins []string
	// Picker, when set, makes customers choose target folders with the Google Picker (the
	// drive.file scope) instead of browsing them in the app.
	Picker *PickerOptions
}

// Server is the connection API.
type Server struct {
	opts    Options
	handler http.Handler
}

// New returns the API server; every dependency is required.
func New(opts Options) (*Server, error) {
	var errs []error
	if opts.Verifier == nil {
		errs = append(errs, errors.New("nil verifier"))
	}
	if opts.Service == nil {
		errs = append(errs, errors.New("nil service"))
	}
	if opts.Documents == nil {
		errs = append(errs, errors.New("nil documents"))
	}
	if opts.Logger == nil {
		errs = append(errs, errors.New("nil logger"))
	}
	if opts.Picker != nil {
		errs = append(errs, opts.Picker.check())
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("new api: %w", err)
	}
	s := &Server{opts: opts}
	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		s.route(mux, rt)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { problem.Write(w, r, problem.NotFound) })
	s.handler = logging.Middleware(s.cors(mux))
	return s, nil
}

// Routes lists the paths the server serves and their methods.
func (s *Server) Routes() []Route {
	var out []Route
	for _, rt := range s.routes() {
		methods := make([]string, 0, len(rt.handlers))
		for m := range rt.handlers {
			methods = append(methods, m)
		}
		slices.Sort(methods)
		out = append(out, Route{Path: rt.Path, Methods: methods})
	}
	return out
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// handlerFunc serves one authenticated route; a returned error becomes a problem response.
type handlerFunc func(w http.ResponseWriter, r *http.Request, c auth.Caller) error

// route registers the methods of one path, answering other methods with a 405 problem rather
// than ServeMux's plain-text one.
func (s *Server) route(mux *http.ServeMux, rt route) {
	allowed := make([]string, 0, len(rt.handlers))
	for m, h := range rt.handlers {
		allowed = append(allowed, m)
		if rt.public {
			mux.HandleFunc(m+" "+rt.Path, s.anonymous(h))
		} else {
			mux.HandleFunc(m+" "+rt.Path, s.authenticated(h))
		}
	}
	slices.Sort(allowed)
	mux.HandleFunc(rt.Path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		problem.Write(w, r, problem.MethodNotAllowed)
	})
}

// anonymous serves a route that needs no token; h gets no caller.
func (s *Server) anonymous(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r, auth.Caller{}); err != nil {
			s.fail(w, r, err)
		}
	}
}

func (s *Server) authenticated(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		raw := auth.BearerToken(r)
		if raw == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="drivesync"`)
			problem.Write(w, r, problem.Unauthorized)
			return
		}
		caller, err := s.opts.Verifier.Verify(r.Context(), raw)
		if err == nil && !auth.ValidCompanyID(caller.CompanyID) {
			// auth.Verifier refuses such a token already; this holds for any TokenVerifier, since
			// the company ID becomes a Firestore path and a Drive query value.
			err = fmt.Errorf("%w: company_id is not a valid ID", auth.ErrUnauthenticated)
		}
		if err != nil {
			if errors.Is(err, auth.ErrUnauthenticated) {
				// The reason names the failed check (expiry, audience, signature); go-oidc keeps
				// the token itself out of it, and the logger redacts JWT shapes besides.
				s.opts.Logger.InfoContext(r.Context(), "token rejected", "reason", err.Error())
				w.Header().Set("WWW-Authenticate", `Bearer realm="drivesync", error="invalid_token"`)
				problem.Write(w, r, problem.Unauthorized)
				return
			}
			s.fail(w, r, fmt.Errorf("verify token: %w", err))
			return
		}
		if err := h(w, r, caller); err != nil {
			s.fail(w, r, err)
		}
	}
}

// fail answers err with the problem it maps to; see problemFor.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	p, log := problemFor(err)
	switch log {
	case logWarn:
		s.opts.Logger.WarnContext(r.Context(), "google unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
	case logError:
		s.opts.Logger.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if errors.Is(err, errResponseStarted) {
		return
	}
	p.write(w, r)
}

func (s *Server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" && slices.Contains(s.opts.FrontendOrigins, origin) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			h.Set("Access-Control-Expose-Headers", "Location, Retry-After")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		// The status is sent; only the log can learn of this.
		return fmt.Errorf("%w: encode response: %w", errResponseStarted, err)
	}
	return nil
}
