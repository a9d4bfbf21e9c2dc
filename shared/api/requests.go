package api

import (
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/efactori/drivesync/shared/connection"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/problem"
)

// The request decoders read one body each and check what the OpenAPI document promises about
// it (required fields, enums, lengths), listing every bad field at once. The service checks
// again what only it can (duplicate names, status); its field errors map the same way.

// fieldErrors collects the invalid fields of one request.
type fieldErrors []problem.FieldError

func (f *fieldErrors) add(pointer, detail string) {
	*f = append(*f, problem.FieldError{Pointer: pointer, Detail: detail})
}

func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	return problem.Validation("Some fields are invalid.", f)
}

// checkName checks a customer-chosen name: not blank, no control characters, at most max
// characters.
func (f *fieldErrors) checkName(pointer, name string, max int) {
	switch {
	case strings.TrimSpace(name) == "":
		f.add(pointer, "must not be blank")
	case !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl):
		f.add(pointer, "must not contain control characters")
	case utf8.RuneCountInString(name) > max:
		f.add(pointer, "must be at most "+strconv.Itoa(max)+" characters")
	}
}

const (
	layoutValues   = "year, year_month or year_kind"
	localeValues   = "fr, nl or en"
	onDeleteValues = "keep or trash"
)

func validOnDelete(o drivesync.OnDelete) bool {
	return o == drivesync.OnDeleteKeep || o == drivesync.OnDeleteTrash
}

// decodeIntegration reads PUT /v1/integration.
func decodeIntegration(body io.Reader) (bool, error) {
	var req struct {
		Enabled *bool `json:"enabled"`
	}
	if err := decodeJSON(body, &req); err != nil {
		return false, err
	}
	if req.Enabled == nil {
		return false, problem.Validation("Say whether the integration is enabled.", []problem.FieldError{{Pointer: "/enabled", Detail: "is required"}})
	}
	return *req.Enabled, nil
}

// decodeCreate reads POST /v1/connections.
func decodeCreate(body io.Reader) (connection.CreateInput, error) {
	var req struct {
		Name         *string `json:"name"`
		FolderLayout *string `json:"folderLayout"`
		Locale       *string `json:"locale"`
	}
	if err := decodeJSON(body, &req); err != nil {
		return connection.CreateInput{}, err
	}
	var fe fieldErrors
	var in connection.CreateInput
	if req.Name == nil {
		fe.add("/name", "is required")
	} else {
		fe.checkName("/name", *req.Name, drivesync.MaxConnectionNameLength)
		in.Name = strings.TrimSpace(*req.Name)
	}
	if req.FolderLayout == nil {
		fe.add("/folderLayout", "is required: "+layoutValues)
	} else if in.FolderLayout = drivesync.FolderLayout(*req.FolderLayout); !in.FolderLayout.Valid() {
		fe.add("/folderLayout", "must be "+layoutValues)
	}
	if req.Locale != nil {
		if in.Locale = drivesync.Locale(*req.Locale); !in.Locale.Valid() {
			fe.add("/locale", "must be "+localeValues)
		}
	}
	return in, fe.err()
}

// decodeUpdate reads PATCH /v1/connections/{id}. Absent fields stay as they are.
func decodeUpdate(body io.Reader) (connection.UpdateInput, error) {
	var req struct {
		Name         *string `json:"name"`
		FolderLayout *string `json:"folderLayout"`
		Locale       *string `json:"locale"`
		OnDelete     *string `json:"onDelete"`
	}
	if err := decodeJSON(body, &req); err != nil {
		return connection.UpdateInput{}, err
	}
	var fe fieldErrors
	var in connection.UpdateInput
	if req.Name != nil {
		fe.checkName("/name", *req.Name, drivesync.MaxConnectionNameLength)
		name := strings.TrimSpace(*req.Name)
		in.Name = &name
	}
	if req.FolderLayout != nil {
		l := drivesync.FolderLayout(*req.FolderLayout)
		if !l.Valid() {
			fe.add("/folderLayout", "must be "+layoutValues)
		}
		in.FolderLayout = &l
	}
	if req.Locale != nil {
		l := drivesync.Locale(*req.Locale)
		if !l.Valid() {
			fe.add("/locale", "must be "+localeValues)
		}
		in.Locale = &l
	}
	if req.OnDelete != nil {
		o := drivesync.OnDelete(*req.OnDelete)
		if !validOnDelete(o) {
			fe.add("/onDelete", "must be "+onDeleteValues)
		}
		in.OnDelete = &o
	}
	return in, fe.err()
}

// newFolder is POST /v1/connections/{id}/folders.
type newFolder struct {
	ParentID string
	Name     string
}

func decodeNewFolder(body io.Reader) (newFolder, error) {
	var req struct {
		ParentID *string `json:"parentId"`
		Name     *string `json:"name"`
	}
	if err := decodeJSON(body, &req); err != nil {
		return newFolder{}, err
	}
	var fe fieldErrors
	var out newFolder
	switch {
	case req.ParentID == nil:
		fe.add("/parentId", "is required")
	case !validID(*req.ParentID):
		fe.add("/parentId", "is not a folder ID")
	default:
		out.ParentID = *req.ParentID
	}
	if req.Name == nil {
		fe.add("/name", "is required")
	} else {
		fe.checkName("/name", *req.Name, drivesync.MaxFolderNameLength)
		out.Name = strings.TrimSpace(*req.Name)
	}
	return out, fe.err()
}

// decodeTarget reads PUT /v1/connections/{id}/target.
func decodeTarget(body io.Reader) (string, error) {
	var req struct {
		FolderID *string `json:"folderId"`
	}
	if err := decodeJSON(body, &req); err != nil {
		return "", err
	}
	switch {
	case req.FolderID == nil:
		return "", fieldErrors{{Pointer: "/folderId", Detail: "is required"}}.err()
	case !validID(*req.FolderID) || *req.FolderID == parentDrives:
		return "", fieldErrors{{Pointer: "/folderId", Detail: "is not a folder ID"}}.err()
	}
	return *req.FolderID, nil
}

// parentDrives asks a folder listing for the shared drives rather than a folder's children.
const (
	parentRoot   = "root"
	parentDrives = "drives"
)

// folderQuery is the query of GET /v1/connections/{id}/folders.
type folderQuery struct {
	Parent    string
	PageToken string
}

func decodeFolderQuery(parent, pageToken string) (folderQuery, error) {
	if parent == "" {
		parent = parentRoot
	}
	var fe fieldErrors
	if !validID(parent) {
		fe.add("/parent", "must be root, drives or a folder ID")
	}
	if !validPageToken(pageToken) {
		fe.add("/pageToken", "is not a page token this API gave")
	}
	if err := fe.err(); err != nil {
		return folderQuery{}, problem.Validation("Some query parameters are invalid.", fe)
	}
	return folderQuery{Parent: parent, PageToken: pageToken}, nil
}
