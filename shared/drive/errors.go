package drive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/api/googleapi"

	"github.com/efactori/drivesync/shared/drivesync"
)

// ErrNotFound marks an item Drive does not have, or does not show this grant. Such errors are
// classified drivesync.Permanent, except from CheckTarget, where a missing target is the
// customer's to fix (drivesync.NeedsCustomer, CodeTargetNotFound).
var ErrNotFound = errors.New("not found in drive")

// Codes this package puts on classified errors. Errors from Drive's API carry Drive's own reason
// instead ("storageQuotaExceeded", "userRateLimitExceeded", "authError", ...), or http_<status>
// when Drive gave none.
const (
	CodeNetwork         = "network"          // no answer from Drive
	CodeTimeout         = "timeout"          // the caller's deadline passed
	CodeCanceled        = "canceled"         // the caller gave up
	CodeBadResponse     = "bad_response"     // Drive answered 2xx with something unusable
	CodeInvalidArgument = "invalid_argument" // the caller passed something Drive cannot take
	CodeNotFolder       = "not_folder"       // Folder was asked about a file
	CodePathTooDeep     = "path_too_deep"    // more ancestors than Drive allows
	CodeUnexpected      = "unexpected"       // an error this package does not know
	// CodeIncompleteSearch: Drive answered a list with incompleteSearch (some items may be
	// missing). Retryable: acting on a partial listing could duplicate folders or files.
	CodeIncompleteSearch = "incomplete_search"

	CodeTargetNotFound  = "target_not_found"  // the target folder is gone or not visible
	CodeTargetNotFolder = "target_not_folder" // the target is a file
	CodeTargetTrashed   = "target_trashed"    // the target is in the trash
	CodeTargetReadOnly  = "target_read_only"  // the grant cannot add files to the target
)

// Drive's reasons that decide a class on their own (Drive's "Resolve errors" guide).
var (
	retryableReasons = map[string]bool{
		"rateLimitExceeded":     true,
		"userRateLimitExceeded": true,
		"backendError":          true,
		"internalError":         true,
		// The project's daily quota (403): the documents are fine and the quota comes back, so
		// it is waited out and never recorded as a document's failure.
		"dailyLimitExceeded": true,
	}
	// Reasons only the customer can fix, in Drive or in their Google Workspace admin console.
	customerReasons = map[string]bool{
		"storageQuotaExceeded":              true,
		"insufficientFilePermissions":       true,
		"numChildrenInNonRootLimitExceeded": true, // the folder holds as many items as Drive allows
		"teamDriveFileLimitExceeded":        true, // the shared drive holds as many items as Drive allows
		"domainPolicy":                      true, // the domain's administrators disabled Drive apps
	}
)

// safeError replaces an error's message with one we build, for errors whose own message can
// include a response body we do not control. The original stays reachable with errors.As.
type safeError struct {
	msg string
	err error
}

func (e *safeError) Error() string { return e.msg }
func (e *safeError) Unwrap() error { return e.err }

func invalidArgument(msg string) error {
	return drivesync.Classify(errors.New(msg), drivesync.Permanent, CodeInvalidArgument)
}

// classify gives err, which came out of a call to Drive for op, its class. An error that is
// already classified (by the OAuth token source under the HTTP client) keeps its class and code
// and only gains op as context.
func (c *Client) classify(op string, err error) error {
	if err == nil {
		return nil
	}
	var ce *drivesync.ClassifiedError
	if errors.As(err, &ce) {
		return fmt.Errorf("%s: %w", op, err)
	}
	var (
		ge *googleapi.Error
		re *oauth2.RetrieveError
	)
	switch {
	case errors.Is(err, errIncompleteSearch):
		return drivesync.Classify(fmt.Errorf("%s: %w", op, err), drivesync.Retryable, CodeIncompleteSearch)
	case errors.As(err, &ge):
		return c.classifyAPI(op, ge, err)
	case errors.As(err, &re):
		return classifyRefresh(op, re, err)
	case errors.Is(err, context.DeadlineExceeded):
		return drivesync.Classify(fmt.Errorf("%s: %w", op, err), drivesync.Retryable, CodeTimeout)
	case errors.Is(err, context.Canceled):
		return drivesync.Classify(fmt.Errorf("%s: %w", op, err), drivesync.Retryable, CodeCanceled)
	case isNetwork(err):
		return drivesync.Classify(fmt.Errorf("%s: %w", op, err), drivesync.Retryable, CodeNetwork)
	}
	return drivesync.Classify(fmt.Errorf("%s: %w", op, err), drivesync.Permanent, CodeUnexpected)
}

func isNetwork(err error) bool {
	var (
		ue *url.Error
		ne net.Error
	)
	return errors.As(err, &ue) || errors.As(err, &ne) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// reason is the first error reason of a Drive error reply, the most specific thing Drive says.
func reason(ge *googleapi.Error) string {
	for _, it := range ge.Errors {
		if it.Reason != "" {
			return it.Reason
		}
	}
	return ""
}

func (c *Client) classifyAPI(op string, ge *googleapi.Error, err error) error {
	r := reason(ge)
	code := r
	if code == "" {
		code = "http_" + strconv.Itoa(ge.Code)
	}
	msg := fmt.Sprintf("%s: drive answered %d", op, ge.Code)
	if r != "" {
		msg += " " + r
	}
	if ge.Message != "" {
		msg += fmt.Sprintf(" (%q)", ge.Message)
	}
	var wrapped error = &safeError{msg: msg, err: err}
	class := drivesync.Permanent
	switch {
	case ge.Code == http.StatusUnauthorized:
		class = drivesync.NeedsReauthorization
	case ge.Code == http.StatusTooManyRequests, ge.Code >= 500, retryableReasons[r]:
		class = drivesync.Retryable
	case customerReasons[r]:
		class = drivesync.NeedsCustomer
	case r == "insufficientPermissions":
		// The grant lacks a Drive scope (the customer unticked it on the consent page); only a
		// new consent can fix that.
		class = drivesync.NeedsReauthorization
	case ge.Code == http.StatusNotFound:
		wrapped = fmt.Errorf("%w: %w", wrapped, ErrNotFound)
	case ge.Code == http.StatusConflict:
		// Drive's only conflict for drivesync's calls: a create with an ID already in use.
		wrapped = fmt.Errorf("%w: %w", wrapped, ErrAlreadyExists)
	}
	return &drivesync.ClassifiedError{Class: class, Code: code, RetryAfter: c.retryAfter(ge.Header), Err: wrapped}
}

// maxRetryAfter caps the wait a server can ask for, so a garbled or hostile header cannot park
// a connection for years (or overflow a Duration).
const maxRetryAfter = 24 * time.Hour

// retryAfter reads a Retry-After header, in seconds or as an HTTP date; 0 when absent or
// unreadable, at most maxRetryAfter.
func (c *Client) retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	var d time.Duration
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		d = time.Duration(s) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(c.now())
	}
	return max(0, min(d, maxRetryAfter))
}

// classifyRefresh classifies a failed token refresh the token source under our HTTP client did
// not classify itself (a plain oauth2 token source). Its message is rebuilt because oauth2's own
// includes the token endpoint's response body.
func classifyRefresh(op string, re *oauth2.RetrieveError, cause error) error {
	status := 0
	if re.Response != nil {
		status = re.Response.StatusCode
	}
	msg := fmt.Sprintf("%s: refresh access token: google answered %d", op, status)
	if re.ErrorCode != "" {
		msg += " " + re.ErrorCode
	}
	err := &safeError{msg: msg, err: cause}
	code := re.ErrorCode
	if code == "" {
		code = "http_" + strconv.Itoa(status)
	}
	switch {
	case re.ErrorCode == "invalid_grant":
		return drivesync.Classify(err, drivesync.NeedsReauthorization, code)
	case status == http.StatusTooManyRequests, status >= 500:
		return drivesync.Classify(err, drivesync.Retryable, code)
	}
	return drivesync.Classify(err, drivesync.Permanent, code)
}
