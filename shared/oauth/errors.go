package oauth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/oauth2"

	"github.com/efactori/drivesync/shared/drivesync"
)

// Error codes this package puts on classified errors besides Google's own OAuth error codes
// (invalid_grant, invalid_client, …).
const (
	CodeNetwork         = "network"           // no answer from Google
	CodeNoRefreshToken  = "no_refresh_token"  // Google issued, or we hold, no refresh token
	CodeInvalidIDToken  = "invalid_id_token"  // the ID token is missing or does not verify
	CodeEmailUnverified = "email_unverified"  // the ID token has no verified email
	CodeScopeNotGranted = "scope_not_granted" // the customer unticked a scope drivesync needs
	CodeInvalidRequest  = "invalid_request"   // the caller passed an empty code, verifier or token
	CodeInvalidGrant    = "invalid_grant"     // Google's code for a dead grant, code or verifier
)

// googleError is an error answer from an OAuth endpoint. Its message holds only the HTTP status
// and Google's error code and description: golang.org/x/oauth2's own message can include the
// response body, which we do not control. The original error stays reachable with errors.As.
type googleError struct {
	op          string
	status      int
	code        string
	description string
	err         error
}

func (e *googleError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: google answered %d", e.op, e.status)
	if e.code != "" {
		fmt.Fprintf(&b, " %s", e.code)
	}
	if e.description != "" {
		d := e.description
		if len(d) > 200 {
			d = d[:200] + "…"
		}
		fmt.Fprintf(&b, " (%q)", d)
	}
	return b.String()
}

func (e *googleError) Unwrap() error { return e.err }

// classifyAnswer classifies an error answer (status, OAuth error code): deadGrant is the class
// for invalid_grant, which means different things at the code exchange (a used or expired code)
// and at a refresh (the customer's grant is gone).
func classifyAnswer(err *googleError, deadGrant drivesync.Class) error {
	code := err.code
	if code == "" {
		code = fmt.Sprintf("http_%d", err.status)
	}
	switch {
	case err.code == CodeInvalidGrant:
		return drivesync.Classify(err, deadGrant, code)
	case err.status == http.StatusTooManyRequests || err.status >= 500:
		return drivesync.Classify(err, drivesync.Retryable, code)
	default:
		return drivesync.Classify(err, drivesync.Permanent, code)
	}
}

// classifyToken classifies an error from golang.org/x/oauth2's calls to the token endpoint.
func classifyToken(op string, err error, deadGrant drivesync.Class) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		ge := &googleError{op: op, code: re.ErrorCode, description: re.ErrorDescription, err: err}
		if re.Response != nil {
			ge.status = re.Response.StatusCode
		}
		return classifyAnswer(ge, deadGrant)
	}
	// Anything else failed before Google answered, or answered 2xx with a body we cannot read;
	// neither says anything about the grant. x/oauth2 keeps request bodies (which hold the
	// code or refresh token) out of these messages.
	return drivesync.Classify(fmt.Errorf("%s: %w", op, err), drivesync.Retryable, CodeNetwork)
}
