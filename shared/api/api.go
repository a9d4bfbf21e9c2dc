// Package api serves the connection API the eFactori frontend calls: every route, its input
// checks, its tenant scoping and its problem+json errors. It is the Connections function's logic.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/efactori/drivesync/shared/auth"
	"github.com/efactori/drivesync/shared/logging"
	"github.com/efactori/drivesync/shared/problem"
	"github.com/efactori/drivesync/shared/store"
)

// MaxBodyBytes bounds every request body; the API's requests are a few hundred bytes.
const MaxBodyBytes = 16 << 10

// TokenVerifier turns a bearer token into a caller. Errors wrapping auth.ErrUnauthenticated mean
// the token is bad; others mean verification could not be done.
type TokenVerifier interface {
	Verify(ctx context.Context, raw string) (auth.Caller, error)
}

// Integrations reads and sets a company's integration switch.
type Integrations interface {
	Integration(ctx context.Context, companyID string) (store.Integration, error)
	SetIntegration(ctx context.Context, companyID string, enabled bool) error
}

var _ Integrations = (*store.Store)(nil)

// Options configure New.
type Options struct {
	Verifier        TokenVerifier
	Integrations    Integrations
	Logger          *slog.Logger
	FrontendOrigins []string
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
	if opts.Integrations == nil {
		errs = append(errs, errors.New("nil integrations"))
	}
	if opts.Logger == nil {
		errs = append(errs, errors.New("nil logger"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("new api: %w", err)
	}
	s := &Server{opts: opts}
	mux := http.NewServeMux()
	s.route(mux, "/v1/integration", map[string]handlerFunc{
		http.MethodGet: s.getIntegration,
		http.MethodPut: s.putIntegration,
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { problem.Write(w, r, problem.NotFound) })
	s.handler = logging.Middleware(s.cors(mux))
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// handlerFunc serves one authenticated route; a returned error becomes a problem response.
type handlerFunc func(w http.ResponseWriter, r *http.Request, c auth.Caller) error

// route registers the methods of one path, answering other methods with a 405 problem rather
// than ServeMux's plain-text one.
func (s *Server) route(mux *http.ServeMux, path string, methods map[string]handlerFunc) {
	allowed := make([]string, 0, len(methods))
	for m, h := range methods {
		allowed = append(allowed, m)
		mux.HandleFunc(m+" "+path, s.authenticated(h))
	}
	slices.Sort(allowed)
	mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		problem.Write(w, r, problem.MethodNotAllowed)
	})
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
		if err != nil {
			if errors.Is(err, auth.ErrUnauthenticated) {
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

// fail answers err: a *problem.Problem as itself, anything else as a logged internal error whose
// detail never reaches the client.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var p *problem.Problem
	if errors.As(err, &p) {
		problem.Write(w, r, p)
		return
	}
	s.opts.Logger.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	problem.Write(w, r, problem.Internal)
}

func (s *Server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" && slices.Contains(s.opts.FrontendOrigins, origin) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
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

// decode reads a JSON body strictly: JSON media type, size-limited, no unknown fields, one value.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return problem.UnsupportedMedia
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &tooBig):
			return problem.TooLarge
		case errors.As(err, &typeErr):
			return problem.Validation("A field has the wrong type.", []problem.FieldError{{
				Pointer: "/" + strings.ReplaceAll(typeErr.Field, ".", "/"),
				Detail:  fmt.Sprintf("must be a %s", typeErr.Type),
			}})
		case errors.Is(err, io.EOF):
			return problem.Validation("The request body is empty; send a JSON object.", nil)
		default:
			return problem.Validation("The body is not valid JSON for this request: "+err.Error(), nil)
		}
	}
	if dec.More() {
		return problem.Validation("The body holds more than one JSON value.", nil)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}
