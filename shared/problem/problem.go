// Package problem writes HTTP error responses as RFC 9457 problem details
// (application/problem+json), the one error shape every drivesync HTTP endpoint answers with.
package problem

import (
	"encoding/json"
	"net/http"
)

// ContentType is the media type of a problem details document.
const ContentType = "application/problem+json"

// TypeBase prefixes every problem type URI. The URIs are stable identifiers that clients switch
// on; they need not resolve.
const TypeBase = "https://drivesync.efactori.example/problems/"

// Problem is an RFC 9457 problem details object.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Instance identifies this occurrence (the request path).
	Instance string `json:"instance,omitempty"`
	// Errors lists each invalid field of a validation problem.
	Errors []FieldError `json:"errors,omitempty"`
}

// FieldError is one invalid field: a JSON pointer (RFC 6901) to it in the request, and why.
type FieldError struct {
	Pointer string `json:"pointer"`
	Detail  string `json:"detail"`
}

// New returns a problem of the given type (a short slug such as "not-found"), status and title.
func New(slug string, status int, title, detail string) *Problem {
	return &Problem{Type: TypeBase + slug, Title: title, Status: status, Detail: detail}
}

func (p *Problem) Error() string { return p.Title + ": " + p.Detail }

// Write sends p as the response, with the request path as its instance.
func Write(w http.ResponseWriter, r *http.Request, p *Problem) {
	if p.Instance == "" && r != nil {
		cp := *p
		cp.Instance = r.URL.Path
		p = &cp
	}
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p) // the status is sent; a failed write has nobody left to tell
}

// Common problems, shared so every endpoint names them the same way.
var (
	NotFound         = New("not-found", http.StatusNotFound, "Not found", "No resource exists at this address.")
	MethodNotAllowed = New("method-not-allowed", http.StatusMethodNotAllowed, "Method not allowed", "This resource does not support this method.")
	Unauthorized     = New("unauthorized", http.StatusUnauthorized, "Unauthorized", "A valid eFactori bearer token is required.")
	Forbidden        = New("forbidden", http.StatusForbidden, "Forbidden", "The token lacks the role this action needs.")
	Internal         = New("internal", http.StatusInternalServerError, "Internal error", "Something went wrong on our side; it has been logged.")
	TooLarge         = New("request-too-large", http.StatusRequestEntityTooLarge, "Request too large", "The request body is larger than this endpoint accepts.")
	UnsupportedMedia = New("unsupported-media-type", http.StatusUnsupportedMediaType, "Unsupported media type", "Send the body as application/json.")
)

// Validation returns a 400 problem listing each invalid field.
func Validation(detail string, fields []FieldError) *Problem {
	p := New("validation", http.StatusBadRequest, "Invalid request", detail)
	p.Errors = fields
	return p
}
