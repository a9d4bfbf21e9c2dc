package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/efactori/drivesync/shared/connection"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/problem"
	"github.com/efactori/drivesync/shared/store"
	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// checkJSON refuses a body sent as anything but JSON: the media type must be exactly
// application/json, with no parameter but charset=utf-8 (JSON has no other encoding, RFC 8259
// §8.1). A missing Content-Type is accepted: the body is still parsed strictly as JSON, and a
// browser cannot send a cross-origin body without one.
func checkJSON(r *http.Request) error {
	cts := r.Header.Values("Content-Type")
	if len(cts) == 0 {
		return nil
	}
	if len(cts) > 1 {
		return problem.UnsupportedMedia
	}
	mt, params, err := mime.ParseMediaType(cts[0])
	if err != nil || mt != "application/json" {
		return problem.UnsupportedMedia
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return problem.UnsupportedMedia
		}
	}
	return nil
}

// strictJSON is how request bodies are read: names match their struct tags exactly (encoding/json
// would also take "Enabled" or "ENABLED"), a name given twice is refused rather than the last one
// winning, strings must be valid UTF-8 rather than have bad bytes turned into U+FFFD, and a
// member the request does not take is refused.
var strictJSON = jsonv2.JoinOptions(
	jsonv2.RejectUnknownMembers(true),
	jsonv2.MatchCaseInsensitiveNames(false),
	jsontext.AllowDuplicateNames(false),
	jsontext.AllowInvalidUTF8(false),
)

// maxPointerBytes bounds the JSON pointer an error echoes back; it is built from the body's
// names.
const maxPointerBytes = 200

// decodeJSON reads one JSON value strictly (strictJSON), with nothing after it. body is
// size-limited by the caller (http.MaxBytesReader), whose error becomes a 413 problem; any
// other problem with the body is a 400 validation problem.
func decodeJSON(body io.Reader, v any) error {
	data, err := io.ReadAll(body)
	if err != nil {
		if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
			return problem.TooLarge
		}
		return problem.Validation("The request body could not be read.", nil)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return problem.Validation("The request body is empty; send a JSON object.", nil)
	}
	if !utf8.Valid(data) {
		return problem.Validation("The body is not valid UTF-8.", nil)
	}
	dec := jsontext.NewDecoder(bytes.NewReader(data), strictJSON)
	if err := jsonv2.UnmarshalDecode(dec, v, strictJSON); err != nil {
		return jsonProblem(err)
	}
	// A second value, or garbage after the first, is refused rather than ignored.
	if _, err := dec.ReadToken(); !errors.Is(err, io.EOF) {
		return problem.Validation("The body holds more than one JSON value.", nil)
	}
	return nil
}

// jsonProblem describes a decoding error without echoing the body: only the JSON pointer of
// the offending member, which names fields of the request.
func jsonProblem(err error) error {
	var (
		sem *jsonv2.SemanticError
		syn *jsontext.SyntacticError
	)
	switch {
	case errors.As(err, &syn) && errors.Is(err, jsontext.ErrDuplicateName):
		return problem.Validation("A field is given more than once.", []problem.FieldError{{
			Pointer: pointerOf(syn.JSONPointer), Detail: "is given more than once",
		}})
	case errors.As(err, &syn):
		// An invalid character, escape or lone surrogate, or the end of the input too early;
		// the offset lets the sender find it.
		return problem.Validation(fmt.Sprintf("The body is not valid JSON (at byte %d).", syn.ByteOffset), nil)
	case errors.As(err, &sem) && errors.Is(err, jsonv2.ErrUnknownName):
		return problem.Validation("The body has a field this request does not take; names are case-sensitive.", []problem.FieldError{{
			Pointer: pointerOf(sem.JSONPointer), Detail: "is not a field of this request",
		}})
	case errors.As(err, &sem) && sem.JSONPointer == "":
		return problem.Validation("The body must be a JSON object.", nil)
	case errors.As(err, &sem) && sem.GoType != nil:
		return problem.Validation("A field has the wrong type.", []problem.FieldError{{
			Pointer: pointerOf(sem.JSONPointer), Detail: "must be a " + jsonType(sem.GoType),
		}})
	}
	return problem.Validation("The body is not valid JSON for this request.", nil)
}

func pointerOf(p jsontext.Pointer) string {
	s := string(p)
	if len(s) > maxPointerBytes {
		s = strings.ToValidUTF8(s[:maxPointerBytes], "") + "…"
	}
	return s
}

// jsonType names a Go type the way a JSON client thinks of it.
func jsonType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Slice, reflect.Array:
		return "array"
	default:
		return "number"
	}
}

// The JSON shapes of the API, as docs/api/openapi.yaml describes them. Times are RFC 3339 in
// UTC; a time that has not happened yet is null, as is an absent target or error, so every key
// is always present and clients need no "in" checks.

type integrationJSON struct {
	Enabled         bool `json:"enabled"`
	ConnectionCount int  `json:"connectionCount"`
	// FolderSelection says how this deployment's customers choose a target folder:
	// folderSelectionBrowse or folderSelectionPicker.
	FolderSelection string `json:"folderSelection"`
}

func (s *Server) integrationOf(in store.Integration) integrationJSON {
	return integrationJSON{Enabled: in.Enabled, ConnectionCount: in.ConnectionCount, FolderSelection: s.folderSelection()}
}

type targetJSON struct {
	FolderID string   `json:"folderId"`
	DriveID  *string  `json:"driveId"`
	Path     []string `json:"path"`
}

type initialCopyJSON struct {
	State      string     `json:"state"`
	Listed     int        `json:"listed"`
	Synced     int        `json:"synced"`
	Failed     int        `json:"failed"`
	StartedAt  *time.Time `json:"startedAt"`
	FinishedAt *time.Time `json:"finishedAt"`
}

type lastErrorJSON struct {
	Code    string     `json:"code"`
	Message string     `json:"message"`
	At      *time.Time `json:"at"`
}

type connectionJSON struct {
	ID                 string          `json:"id"`
	Name               string          `json:"name"`
	FolderLayout       string          `json:"folderLayout"`
	Locale             string          `json:"locale"`
	OnDelete           string          `json:"onDelete"`
	Status             string          `json:"status"`
	GoogleAccountEmail *string         `json:"googleAccountEmail"`
	Target             *targetJSON     `json:"target"`
	InitialCopy        initialCopyJSON `json:"initialCopy"`
	LastSyncAt         *time.Time      `json:"lastSyncAt"`
	LastError          *lastErrorJSON  `json:"lastError"`
	CreatedAt          *time.Time      `json:"createdAt"`
	UpdatedAt          *time.Time      `json:"updatedAt"`
}

// copyStateNone names the zero drivesync.CopyState on the wire.
const copyStateNone = "none"

func timeOf(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func stringOf(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func connectionOf(c drivesync.Connection) connectionJSON {
	out := connectionJSON{
		ID:                 c.ID,
		Name:               c.Name,
		FolderLayout:       string(c.FolderLayout),
		Locale:             string(c.Locale),
		OnDelete:           string(c.OnDelete),
		Status:             string(c.Status),
		GoogleAccountEmail: stringOf(c.GoogleAccountEmail),
		InitialCopy: initialCopyJSON{
			State:      string(c.InitialCopy.State),
			Listed:     c.InitialCopy.Listed,
			Synced:     c.InitialCopy.Synced,
			Failed:     c.InitialCopy.Failed,
			StartedAt:  timeOf(c.InitialCopy.StartedAt),
			FinishedAt: timeOf(c.InitialCopy.FinishedAt),
		},
		LastSyncAt: timeOf(c.LastSyncAt),
		CreatedAt:  timeOf(c.CreatedAt),
		UpdatedAt:  timeOf(c.UpdatedAt),
	}
	if out.InitialCopy.State == "" {
		out.InitialCopy.State = copyStateNone
	}
	if c.Target.FolderID != "" {
		path := c.Target.Path
		if path == nil {
			path = []string{}
		}
		out.Target = &targetJSON{FolderID: c.Target.FolderID, DriveID: stringOf(c.Target.DriveID), Path: path}
	}
	if c.LastError != nil {
		out.LastError = &lastErrorJSON{Code: c.LastError.Code, Message: c.LastError.Message, At: timeOf(c.LastError.At)}
	}
	return out
}

type connectionsJSON struct {
	Connections []connectionJSON `json:"connections"`
}

type createdJSON struct {
	Connection       connectionJSON `json:"connection"`
	AuthorizationURL string         `json:"authorizationUrl"`
}

type authorizationJSON struct {
	AuthorizationURL string `json:"authorizationUrl"`
}

type folderJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type currentFolderJSON struct {
	ID   string       `json:"id"`
	Name string       `json:"name"`
	Path []folderJSON `json:"path"`
}

type folderListingJSON struct {
	Folder        currentFolderJSON `json:"folder"`
	Folders       []folderJSON      `json:"folders"`
	NextPageToken *string           `json:"nextPageToken"`
}

func foldersOf(fs []connection.Folder) []folderJSON {
	out := make([]folderJSON, 0, len(fs))
	for _, f := range fs {
		out = append(out, folderJSON{ID: f.ID, Name: f.Name})
	}
	return out
}

func folderListingOf(l connection.FolderListing) folderListingJSON {
	return folderListingJSON{
		Folder:        currentFolderJSON{ID: l.Folder.ID, Name: l.Folder.Name, Path: foldersOf(l.Path)},
		Folders:       foldersOf(l.Children),
		NextPageToken: stringOf(l.NextPageToken),
	}
}
