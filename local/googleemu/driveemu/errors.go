package driveemu

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// apiError is an error reply in Drive's JSON shape.
type apiError struct {
	Code         int
	Reason       string
	Message      string
	Domain       string // "global" when empty
	Location     string
	LocationType string
	Header       http.Header // extra response headers
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Code, e.Reason, e.Message) }

type errorItem struct {
	Domain       string `json:"domain"`
	Reason       string `json:"reason"`
	Message      string `json:"message"`
	Location     string `json:"location,omitempty"`
	LocationType string `json:"locationType,omitempty"`
}

type errorBody struct {
	Error struct {
		Code    int         `json:"code"`
		Message string      `json:"message"`
		Errors  []errorItem `json:"errors"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, e *apiError) {
	var b errorBody
	b.Error.Code = e.Code
	b.Error.Message = e.Message
	domain := e.Domain
	if domain == "" {
		domain = "global"
	}
	b.Error.Errors = []errorItem{{
		Domain:       domain,
		Reason:       e.Reason,
		Message:      e.Message,
		Location:     e.Location,
		LocationType: e.LocationType,
	}}
	for k, vs := range e.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	writeJSON(w, e.Code, b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only our own types reach here; a failure is a bug in the emulator.
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func errNotFound(fileID string) *apiError {
	return &apiError{Code: 404, Reason: "notFound", Message: fmt.Sprintf("File not found: %s.", fileID),
		Location: "fileId", LocationType: "parameter"}
}

func errDriveNotFound(driveID string) *apiError {
	return &apiError{Code: 404, Reason: "notFound", Message: fmt.Sprintf("Shared drive not found: %s", driveID),
		Location: "driveId", LocationType: "parameter"}
}

func errNotFoundPath(path string) *apiError {
	return &apiError{Code: 404, Reason: "notFound", Message: "Not Found: " + path}
}

func errLoginRequired() *apiError {
	return &apiError{Code: 401, Reason: "authError", Message: "Login Required.",
		Location: "Authorization", LocationType: "header",
		Header: http.Header{"Www-Authenticate": {`Bearer realm="https://accounts.google.com/"`}}}
}

func errAuth() *apiError {
	return &apiError{Code: 401, Reason: "authError", Message: "Invalid Credentials",
		Location: "Authorization", LocationType: "header",
		Header: http.Header{"Www-Authenticate": {`Bearer realm="https://accounts.google.com/", error="invalid_token"`}}}
}

func errInsufficientScopes() *apiError {
	return &apiError{Code: 403, Reason: "insufficientPermissions",
		Message: "Request had insufficient authentication scopes."}
}

func errInsufficientFilePermissions(fileID string) *apiError {
	return &apiError{Code: 403, Reason: "insufficientFilePermissions",
		Message: fmt.Sprintf("The user does not have sufficient permissions for file %s.", fileID)}
}

func errUserRateLimit() *apiError {
	return &apiError{Code: 403, Reason: "userRateLimitExceeded", Domain: "usageLimits",
		Message: "User rate limit exceeded."}
}

func errRateLimit(code int) *apiError {
	return &apiError{Code: code, Reason: "rateLimitExceeded", Domain: "usageLimits",
		Message: "Rate limit exceeded."}
}

func errBackend(code int) *apiError {
	return &apiError{Code: code, Reason: "backendError", Message: "Backend Error"}
}

func errInternal() *apiError {
	return &apiError{Code: 500, Reason: "internalError", Message: "Internal Error"}
}

func errStorageQuota() *apiError {
	return &apiError{Code: 403, Reason: "storageQuotaExceeded", Domain: "usageLimits",
		Message: "The user's Drive storage quota has been exceeded."}
}

func errChildLimit() *apiError {
	return &apiError{Code: 403, Reason: "numChildrenInNonRootLimitExceeded",
		Message: "The limit for this folder's number of children (files and folders) has been exceeded."}
}

// errSharedDriveFileLimit is Drive's answer when a shared drive holds as many items as it
// allows (400,000 to 500,000 depending on the guide's edition).
func errSharedDriveFileLimit() *apiError {
	return &apiError{Code: 403, Reason: "teamDriveFileLimitExceeded",
		Message: "The file limit for this shared drive has been exceeded."}
}

// errDomainPolicy is Drive's answer when the domain's administrators disabled Drive apps.
func errDomainPolicy() *apiError {
	return &apiError{Code: 403, Reason: "domainPolicy",
		Message: "The domain administrators have disabled Drive apps."}
}

// errDailyLimit is Drive's answer when the project's daily API quota is spent.
func errDailyLimit() *apiError {
	return &apiError{Code: 403, Reason: "dailyLimitExceeded", Domain: "usageLimits",
		Message: "Daily Limit Exceeded"}
}

func errFileIDInUse() *apiError {
	return &apiError{Code: 409, Reason: "fileIdInUse", Message: "A file already exists with the provided ID."}
}

func errFileIDNotUsable() *apiError {
	return &apiError{Code: 400, Reason: "fileIdNotUsable", Message: "The provided file ID is not usable.",
		Location: "file.id", LocationType: "other"}
}

// errInvalidParam is Drive's reply to a malformed query parameter such as q or orderBy.
func errInvalidParam(param, message string) *apiError {
	if message == "" {
		message = "Invalid Value"
	}
	return &apiError{Code: 400, Reason: "invalid", Message: message, Location: param, LocationType: "parameter"}
}

func errRequiredParam(param string) *apiError {
	return &apiError{Code: 400, Reason: "required", Message: "Required parameter: " + param,
		Location: param, LocationType: "parameter"}
}

func errBadRequest(message string) *apiError {
	return &apiError{Code: 400, Reason: "badRequest", Message: message}
}

func errInvalidBody(message string) *apiError {
	return &apiError{Code: 400, Reason: "invalid", Message: message}
}

func errFieldNotWritable(field string) *apiError {
	return &apiError{Code: 403, Reason: "fieldNotWritable",
		Message: fmt.Sprintf("The resource body includes fields which are not directly writable: %s", field)}
}

func errCannotAddParent() *apiError {
	return &apiError{Code: 403, Reason: "cannotAddParent",
		Message: "Increasing the number of parents is not allowed."}
}

func errNotDownloadable() *apiError {
	return &apiError{Code: 403, Reason: "fileNotDownloadable",
		Message: "Only files with binary content can be downloaded.", Location: "alt", LocationType: "parameter"}
}
