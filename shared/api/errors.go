package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/efactori/drivesync/shared/connection"
	"github.com/efactori/drivesync/shared/drive"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/problem"
)

// errResponseStarted marks a failure after the status line went out: nothing more can be sent.
var errResponseStarted = errors.New("response already started")

// Problems specific to this API, named once so the OpenAPI document and the tests agree with the
// handlers.
var (
	problemConflict = problem.New("conflict", http.StatusConflict, "Conflict",
		"The request clashes with the connection's current state; reload it and try again.")
	problemNameTaken = problem.New("name-taken", http.StatusConflict, "Name already used",
		"Another Google Drive connection of this company already has this name (capitals and surrounding spaces aside); choose another name.")
	problemConsentRequired = problem.New("consent-required", http.StatusConflict, "Google consent not finished",
		"This connection is not authorized by Google yet: send the browser to its authorization URL (POST /v1/connections/{id}/authorization gives a new one) and finish Google's consent screen, then try again.")
	problemNoTarget = problem.New("no-target", http.StatusConflict, "No folder chosen",
		"This connection has no folder to copy into, or its folder can no longer be used: choose one (PUT /v1/connections/{id}/target), then try again.")
	problemFolderBrowsing = problem.New("folder-browsing-unavailable", http.StatusConflict, "Folder browsing unavailable",
		"This deployment only has access to the folders a customer picks: folders are picked with the Google Picker in drive.file mode.")
	problemPickerUnavailable = problem.New("folder-picker-unavailable", http.StatusConflict, "Google Picker unavailable",
		"This deployment has access to the whole Drive: folders are browsed in the app (GET /v1/connections/{id}/folders), not picked with the Google Picker.")
	problemReauthorize = problem.New("needs-reauthorization", http.StatusConflict, "Google access lost",
		"Google no longer accepts this connection's authorization; authorize the connection again.")
	problemDriveUnavailable = problem.New("drive-unavailable", http.StatusServiceUnavailable, "Google Drive unavailable",
		"Google Drive did not answer or asked us to slow down; try again shortly.")
	problemFolderNotFound = problem.New("not-found", http.StatusNotFound, "Not found",
		"No such folder in this Google Drive, or the connection cannot see it.")
	problemUnavailable = problem.New("unavailable", http.StatusServiceUnavailable, "Service unavailable",
		"The service is misconfigured or starting; try again shortly.")
)

// targetInUse is the 409 problem for a target folder another connection of the company already
// copies into; its detail names that connection and connectionId carries its ID.
func targetInUse(e *drivesync.TargetInUseError) response {
	p := problem.New("target-in-use", http.StatusConflict, "Folder already used by another connection",
		fmt.Sprintf("Google Drive connection %q (id %s) already copies into this folder; choose another folder or remove that connection.",
			e.ConnectionName, e.ConnectionID))
	return response{problem: p, connectionID: e.ConnectionID}
}

// connectionLimit is the 409 problem for a new connection of a company that has as many as it
// may; limit carries the number, for the frontend's own sentence.
func connectionLimit(e *drivesync.ConnectionLimitError) response {
	p := problem.New("connection-limit-reached", http.StatusConflict, "Too many connections",
		fmt.Sprintf("This company already has %d Google Drive connections, the most allowed; remove one before adding another.", e.Limit))
	return response{problem: p, limit: e.Limit}
}

// extended is a problem with this API's extension members: code, for a Drive failure only the
// customer can fix (quota, permissions, a target folder gone), is Drive's code so the frontend can
// say what to do; connectionId, for target-in-use, is the connection that holds the folder;
// limit, for connection-limit-reached, is how many connections a company may have.
type extended struct {
	*problem.Problem
	Code         string `json:"code,omitempty"`
	ConnectionID string `json:"connectionId,omitempty"`
	Limit        int    `json:"limit,omitempty"`
}

// customerMessages says, for the codes the frontend is likely to see, what the customer should
// do. Other codes get a generic sentence; the code is always sent.
var customerMessages = map[string]string{
	drive.CodeTargetNotFound:            "The chosen folder no longer exists or this Google account cannot see it; choose another folder.",
	drive.CodeTargetNotFolder:           "The chosen item is a file, not a folder; choose a folder.",
	drive.CodeTargetTrashed:             "The chosen folder is in the trash; restore it or choose another folder.",
	drive.CodeTargetReadOnly:            "This Google account cannot add files to the chosen folder; choose another folder or ask for edit access.",
	"storageQuotaExceeded":              "The Google account's storage is full; free up space or buy more storage.",
	"insufficientFilePermissions":       "This Google account cannot write there; choose another folder or ask for edit access.",
	"numChildrenInNonRootLimitExceeded": "The folder holds as many items as Google Drive allows; choose another folder.",
	"teamDriveFileLimitExceeded":        "The shared drive holds as many files as Google Drive allows; delete files from it or choose a folder in another drive.",
	"domainPolicy":                      "The Google Workspace administrator of this Google account has blocked apps from using Google Drive; ask them to allow this app.",
}

// response is what a failed request is answered with.
type response struct {
	problem      *problem.Problem
	code         string        // the code member (drive-action-required)
	connectionID string        // the connectionId member (target-in-use)
	limit        int           // the limit member (connection-limit-reached)
	retryAfter   time.Duration // for Retry-After
}

func (r response) write(w http.ResponseWriter, req *http.Request) {
	if r.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(r.retryAfter.Seconds()))))
	}
	if r.code == "" && r.connectionID == "" && r.limit == 0 {
		problem.Write(w, req, r.problem)
		return
	}
	p := *r.problem
	if p.Instance == "" {
		p.Instance = req.URL.Path
	}
	w.Header().Set("Content-Type", problem.ContentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(extended{Problem: &p, Code: r.code, ConnectionID: r.connectionID, Limit: r.limit})
}

// defaultRetryAfter is sent when Google asked us to retry without saying when.
const defaultRetryAfter = 30 * time.Second

// logAs says how a failed request is logged.
type logAs int

const (
	logNot   logAs = iota // the client's own doing: the problem says it all
	logWarn               // Google failed us; worth watching, not a bug
	logError              // ours: the client only sees "internal error"
)

// problemFor maps an error from a handler or the service to what the client sees, and how to log
// it.
func problemFor(err error) (res response, log logAs) {
	var p *problem.Problem
	var fe []*drivesync.FieldError
	var ce *drivesync.ClassifiedError
	var inUse *drivesync.TargetInUseError
	var limit *drivesync.ConnectionLimitError
	switch {
	case errors.As(err, &p):
		return response{problem: p}, logNot
	case errors.As(err, &inUse):
		return targetInUse(inUse), logNot
	case errors.As(err, &limit):
		return connectionLimit(limit), logNot
	case errors.Is(err, errResponseStarted):
		return response{}, logError
	case errors.Is(err, drivesync.ErrNotFound):
		return response{problem: problem.NotFound}, logNot
	case errors.Is(err, connection.ErrFolderBrowsingUnavailable):
		return response{problem: problemFolderBrowsing}, logNot
	case errors.Is(err, connection.ErrPickerUnavailable):
		return response{problem: problemPickerUnavailable}, logNot
	default:
		fe = drivesync.FieldErrors(err)
	}
	if len(fe) > 0 {
		fields := make([]problem.FieldError, 0, len(fe))
		for _, f := range fe {
			fields = append(fields, problem.FieldError{Pointer: "/" + strings.ReplaceAll(f.Field, ".", "/"), Detail: f.Reason})
		}
		return response{problem: problem.Validation("Some fields are invalid.", fields)}, logNot
	}
	// A lost grant is also a conflict (the connection's state forbids the call); the more
	// precise problem tells the frontend to offer "reconnect".
	if (errors.As(err, &ce) && ce.Class == drivesync.NeedsReauthorization) || errors.Is(err, drivesync.ErrGrantLost) {
		return response{problem: problemReauthorize}, logNot
	}
	switch {
	case errors.Is(err, drivesync.ErrNameTaken):
		return response{problem: problemNameTaken}, logNot
	case errors.Is(err, drivesync.ErrConsentRequired):
		return response{problem: problemConsentRequired}, logNot
	case errors.Is(err, drivesync.ErrNoTarget):
		return response{problem: problemNoTarget}, logNot
	case errors.Is(err, drivesync.ErrConflict):
		return response{problem: problemConflict}, logNot
	}
	if ce == nil {
		return response{problem: problem.Internal}, logError
	}
	switch ce.Class {
	case drivesync.NeedsCustomer:
		msg, ok := customerMessages[ce.Code]
		if !ok {
			msg = fmt.Sprintf("Google Drive refused the request (%s); the customer must act in Google Drive.", ce.Code)
		}
		return response{
			problem: problem.New("drive-action-required", http.StatusUnprocessableEntity, "Action needed in Google Drive", msg),
			code:    ce.Code,
		}, logNot
	case drivesync.Retryable, drivesync.Unclassified:
		after := ce.RetryAfter
		if after <= 0 {
			after = defaultRetryAfter
		}
		return response{problem: problemDriveUnavailable, retryAfter: after}, logWarn
	}
	if errors.Is(err, drive.ErrNotFound) {
		return response{problem: problemFolderNotFound}, logNot
	}
	return response{problem: problem.Internal}, logError
}

// WriteUnavailable answers 503 for a function that could not be built yet (misconfigured, or a
// dependency was unreachable at start); the next request tries again.
func WriteUnavailable(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Retry-After", "5")
	problem.Write(w, r, problemUnavailable)
}
