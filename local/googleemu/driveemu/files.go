package driveemu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// fileMeta is the writable part of a File resource in a request body. Pointers tell absent from
// zero; a nil appProperties value deletes the key.
type fileMeta struct {
	ID            *string            `json:"id"`
	Name          *string            `json:"name"`
	MimeType      *string            `json:"mimeType"`
	Parents       *[]string          `json:"parents"`
	Trashed       *bool              `json:"trashed"`
	AppProperties map[string]*string `json:"appProperties"`
	ModifiedTime  *string            `json:"modifiedTime"`
	CreatedTime   *string            `json:"createdTime"`
}

func decodeMeta(r io.Reader) (fileMeta, *apiError) {
	var m fileMeta
	body, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return m, errBadRequest("read request body: " + err.Error())
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return m, nil
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return m, errBadRequest("Invalid JSON payload received. " + err.Error())
	}
	return m, nil
}

// Drive's limits on app properties: key plus value at most 124 bytes of UTF-8, at most 30
// private properties per app on one file.
const (
	maxPropertyBytes   = 124
	maxAppPropsPerApp  = 30
	resumableChunkUnit = 256 << 10
)

// mergeAppProps applies a request's appProperties to the client's current ones.
func mergeAppProps(cur map[string]string, req map[string]*string) (map[string]string, *apiError) {
	out := maps.Clone(cur)
	if out == nil {
		out = map[string]string{}
	}
	for k, v := range req {
		if v == nil {
			delete(out, k)
			continue
		}
		if k == "" {
			return nil, errInvalidBody("Property keys must not be empty.")
		}
		if len(k)+len(*v) > maxPropertyBytes || !utf8.ValidString(k) || !utf8.ValidString(*v) {
			return nil, errInvalidBody(fmt.Sprintf("The property with key %q exceeds the size limit of %d bytes for key and value.", k, maxPropertyBytes))
		}
		out[k] = *v
	}
	if len(out) > maxAppPropsPerApp {
		return nil, &apiError{Code: 403, Reason: "propertyLimitExceeded",
			Message: fmt.Sprintf("The limit of %d private properties per app on a file has been exceeded.", maxAppPropsPerApp)}
	}
	return out, nil
}

func parseMetaTime(field string, s *string) (time.Time, *apiError) {
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return time.Time{}, errInvalidBody("Invalid value for " + field + ": " + *s)
	}
	return t, nil
}

func boolParam(q url.Values, name string) bool {
	v, _ := strconv.ParseBool(q.Get(name))
	return v
}

// allDrives reports whether the request may touch shared drive items.
func allDrives(q url.Values) bool {
	return boolParam(q, "supportsAllDrives") || boolParam(q, "supportsTeamDrives")
}

// newContent is content arriving with a create or update.
type newContent struct {
	data     *blob
	mimeType string // from the media part, used when the metadata has none
}

// createLocked adds a file for c. It runs with e.mu held.
func (e *Emulator) createLocked(c *call, meta fileMeta, content *newContent, q url.Values) (*file, *apiError) {
	a := c.acct
	p := c.principal
	if !canWrite(p) {
		return nil, errInsufficientScopes()
	}
	now := e.now()
	f := &file{Name: "Untitled", MimeType: "application/octet-stream", Version: 1, Created: now,
		Modified: now, CreatorClient: p.ClientID}
	if meta.Name != nil {
		f.Name = *meta.Name
	}
	switch {
	case meta.MimeType != nil && *meta.MimeType != "":
		f.MimeType = *meta.MimeType
	case content != nil && content.mimeType != "":
		f.MimeType = content.mimeType
	}
	parentID := a.rootID
	if meta.Parents != nil && len(*meta.Parents) > 0 {
		if len(*meta.Parents) > 1 {
			return nil, errCannotAddParent()
		}
		parentID = (*meta.Parents)[0]
	}
	parent, err := a.lookup(p, parentID, allDrives(q))
	if err != nil {
		return nil, err
	}
	if !parent.isFolder() {
		return nil, errInvalidBody("The specified parent is not a folder.")
	}
	if !e.addChildAllowed(a, parent.ID) {
		return nil, errChildLimit()
	}
	f.Parents = []string{parent.ID}
	f.DriveID = parent.DriveID
	if meta.ModifiedTime != nil {
		t, err := parseMetaTime("modifiedTime", meta.ModifiedTime)
		if err != nil {
			return nil, err
		}
		f.Modified = t
	}
	if meta.CreatedTime != nil {
		t, err := parseMetaTime("createdTime", meta.CreatedTime)
		if err != nil {
			return nil, err
		}
		f.Created = t
	}
	if len(meta.AppProperties) > 0 {
		props, err := mergeAppProps(nil, meta.AppProperties)
		if err != nil {
			return nil, err
		}
		if len(props) > 0 {
			f.AppProperties = map[string]map[string]string{p.ClientID: props}
		}
	}
	if meta.Trashed != nil && *meta.Trashed {
		f.Trashed, f.ExplicitlyTrashed = true, true
	}
	if content != nil && content.data != nil && !f.isFolder() {
		f.content = content.data
	}
	if !f.isFolder() {
		f.Size = f.content.size()
		f.MD5 = f.content.md5()
	}
	if f.DriveID == "" && !a.quotaAllows(f.Size) {
		return nil, errStorageQuota()
	}
	if meta.ID != nil && *meta.ID != "" {
		id := *meta.ID
		if e.idTakenLocked(id) {
			return nil, errFileIDInUse()
		}
		if !a.reserved[id] {
			return nil, errFileIDNotUsable()
		}
		delete(a.reserved, id)
		f.ID = id
	} else {
		f.ID = newID()
	}
	a.files[f.ID] = f
	a.children[parent.ID]++
	e.saveContentLocked(f)
	e.changedLocked()
	return f, nil
}

func (e *Emulator) idTakenLocked(id string) bool {
	for _, a := range e.accounts {
		if _, ok := a.files[id]; ok {
			return true
		}
	}
	return false
}

// updateLocked applies metadata, parent moves and new content to file id. It runs with e.mu
// held.
func (e *Emulator) updateLocked(c *call, id string, meta fileMeta, content *newContent, q url.Values) (*file, *apiError) {
	a := c.acct
	p := c.principal
	f, err := a.lookup(p, id, allDrives(q))
	if err != nil {
		return nil, err
	}
	if !canWrite(p) {
		return nil, errInsufficientScopes()
	}
	if a.isRoot(f.ID) {
		return nil, errInsufficientFilePermissions(id)
	}
	if meta.Parents != nil {
		return nil, errFieldNotWritable("parents")
	}
	if meta.ID != nil && *meta.ID != f.ID {
		return nil, errFieldNotWritable("id")
	}
	// Validate everything before changing anything, so a refused update changes nothing.
	parents := slices.Clone(f.Parents)
	for _, rm := range splitIDs(q.Get("removeParents")) {
		rm = a.resolve(rm)
		if !slices.Contains(parents, rm) {
			return nil, errNotFound(rm)
		}
		parents = slices.DeleteFunc(parents, func(s string) bool { return s == rm })
	}
	var added []*file
	for _, ad := range splitIDs(q.Get("addParents")) {
		np, err := a.lookup(p, ad, allDrives(q))
		if err != nil {
			return nil, err
		}
		if !np.isFolder() {
			return nil, errInvalidBody("The specified parent is not a folder.")
		}
		if np.ID == f.ID || slices.ContainsFunc(a.descendants(f.ID), func(d *file) bool { return d.ID == np.ID }) {
			return nil, errBadRequest("A folder cannot be moved into itself or one of its descendants.")
		}
		if slices.Contains(parents, np.ID) {
			continue
		}
		if !e.addChildAllowed(a, np.ID) {
			return nil, errChildLimit()
		}
		parents = append(parents, np.ID)
		added = append(added, np)
	}
	if len(parents) > 1 {
		return nil, errCannotAddParent()
	}
	if len(parents) == 0 {
		return nil, errBadRequest("A file must keep exactly one parent.")
	}
	var props map[string]string
	if meta.AppProperties != nil {
		var err *apiError
		props, err = mergeAppProps(f.AppProperties[p.ClientID], meta.AppProperties)
		if err != nil {
			return nil, err
		}
	}
	var modified time.Time
	if meta.ModifiedTime != nil {
		var err *apiError
		modified, err = parseMetaTime("modifiedTime", meta.ModifiedTime)
		if err != nil {
			return nil, err
		}
	}
	if content != nil && f.isFolder() {
		return nil, errBadRequest("Folders have no content.")
	}
	if content != nil && f.DriveID == "" && !a.quotaAllows(content.data.size()-f.Size) {
		return nil, errStorageQuota()
	}

	now := e.now()
	for _, old := range f.Parents {
		a.children[old]--
	}
	f.Parents = parents
	for _, np := range parents {
		a.children[np]++
	}
	if len(added) > 0 {
		f.DriveID = added[0].DriveID
		for _, d := range a.descendants(f.ID) {
			d.DriveID = f.DriveID
		}
	}
	if meta.Name != nil {
		f.Name = *meta.Name
	}
	if meta.MimeType != nil && *meta.MimeType != "" && !f.isFolder() && *meta.MimeType != FolderMimeType {
		f.MimeType = *meta.MimeType
	}
	if props != nil || meta.AppProperties != nil {
		if f.AppProperties == nil {
			f.AppProperties = map[string]map[string]string{}
		}
		if len(props) == 0 {
			delete(f.AppProperties, p.ClientID)
		} else {
			f.AppProperties[p.ClientID] = props
		}
	}
	if meta.Trashed != nil && *meta.Trashed != f.Trashed {
		a.setTrashed(f, *meta.Trashed, now)
	}
	if content != nil {
		f.content = content.data
		f.Size = content.data.size()
		f.MD5 = content.data.md5()
		if meta.MimeType == nil && content.mimeType != "" {
			f.MimeType = content.mimeType
		}
		e.saveContentLocked(f)
	}
	f.Version++
	f.Modified = now
	if !modified.IsZero() {
		f.Modified = modified
	}
	e.changedLocked()
	return f, nil
}

func splitIDs(s string) []string {
	var out []string
	for _, id := range strings.Split(s, ",") {
		if id = strings.TrimSpace(id); id != "" {
			out = append(out, id)
		}
	}
	return out
}

// replyFile writes f to w as the File resource the request asked for.
func (e *Emulator) replyFile(w http.ResponseWriter, c *call, f *file, fields string) *apiError {
	mask, err := fileMask(fields)
	if err != nil {
		return err
	}
	e.mu.Lock()
	res := e.resource(c.acct, c.principal, f)
	e.mu.Unlock()
	writeJSON(w, http.StatusOK, mask.apply(res))
	return nil
}

func (e *Emulator) filesCreate(w http.ResponseWriter, r *http.Request, c *call, upload bool) *apiError {
	q := r.URL.Query()
	if _, err := fileMask(q.Get("fields")); err != nil {
		return err
	}
	if !canWrite(c.principal) {
		return errInsufficientScopes()
	}
	var meta fileMeta
	var content *newContent
	if upload {
		switch uploadType(r) {
		case "resumable":
			return e.startResumable(w, r, c, "", 0)
		case "media":
			data, err := e.readMedia(r, c.acct, 0)
			if err != nil {
				return err
			}
			content = &newContent{data: data, mimeType: mediaType(r.Header.Get("Content-Type"))}
		case "multipart":
			m, data, err := e.readMultipart(r, c.acct, 0)
			if err != nil {
				return err
			}
			meta, content = m, data
		default:
			return errInvalidParam("uploadType", "Invalid value for uploadType: "+uploadType(r))
		}
	} else {
		var err *apiError
		if meta, err = decodeMeta(r.Body); err != nil {
			return err
		}
	}
	e.mu.Lock()
	f, err := e.createLocked(c, meta, content, q)
	e.mu.Unlock()
	if err != nil {
		return err
	}
	return e.replyFile(w, c, f, q.Get("fields"))
}

func (e *Emulator) filesUpdate(w http.ResponseWriter, r *http.Request, c *call, id string, upload bool) *apiError {
	q := r.URL.Query()
	if _, err := fileMask(q.Get("fields")); err != nil {
		return err
	}
	var meta fileMeta
	var content *newContent
	if upload {
		// Check the file exists before accepting a possibly large body.
		e.mu.Lock()
		old, err := c.acct.lookup(c.principal, id, allDrives(q))
		var credit int64
		if old != nil {
			credit = old.Size
		}
		e.mu.Unlock()
		if err != nil {
			return err
		}
		if !canWrite(c.principal) {
			return errInsufficientScopes()
		}
		switch uploadType(r) {
		case "resumable":
			return e.startResumable(w, r, c, id, credit)
		case "media":
			data, err := e.readMedia(r, c.acct, credit)
			if err != nil {
				return err
			}
			content = &newContent{data: data, mimeType: mediaType(r.Header.Get("Content-Type"))}
		case "multipart":
			m, data, err := e.readMultipart(r, c.acct, credit)
			if err != nil {
				return err
			}
			meta, content = m, data
		default:
			return errInvalidParam("uploadType", "Invalid value for uploadType: "+uploadType(r))
		}
	} else {
		var err *apiError
		if meta, err = decodeMeta(r.Body); err != nil {
			return err
		}
	}
	e.mu.Lock()
	f, err := e.updateLocked(c, id, meta, content, q)
	e.mu.Unlock()
	if err != nil {
		return err
	}
	return e.replyFile(w, c, f, q.Get("fields"))
}

func (e *Emulator) filesGet(w http.ResponseWriter, r *http.Request, c *call, id string) *apiError {
	q := r.URL.Query()
	e.mu.Lock()
	f, err := c.acct.lookup(c.principal, id, allDrives(q))
	var data *blob
	var name, mimeType string
	var modified time.Time
	if f != nil {
		data, name, mimeType, modified = f.content, f.Name, f.MimeType, f.Modified
	}
	folder := f != nil && f.isFolder()
	e.mu.Unlock()
	if err != nil {
		return err
	}
	switch q.Get("alt") {
	case "", "json":
		return e.replyFile(w, c, f, q.Get("fields"))
	case "media":
		if folder || strings.HasPrefix(mimeType, "application/vnd.google-apps.") {
			return errNotDownloadable()
		}
		if data == nil {
			data = &blob{}
		}
		w.Header().Set("Content-Type", mimeType)
		w.Header().Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(name))
		// ServeContent sets Content-Length and honours Range, as Drive does.
		http.ServeContent(w, r, "", modified, data.reader())
		return nil
	}
	return errInvalidParam("alt", "Invalid value for alt: "+q.Get("alt"))
}

func (e *Emulator) filesDelete(w http.ResponseWriter, r *http.Request, c *call, id string) *apiError {
	q := r.URL.Query()
	e.mu.Lock()
	defer e.mu.Unlock()
	f, err := c.acct.lookup(c.principal, id, allDrives(q))
	if err != nil {
		return err
	}
	if !canWrite(c.principal) {
		return errInsufficientScopes()
	}
	if c.acct.isRoot(f.ID) {
		return errInsufficientFilePermissions(id)
	}
	c.acct.remove(f)
	e.changedLocked()
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (e *Emulator) filesGenerateIDs(w http.ResponseWriter, r *http.Request, c *call) *apiError {
	q := r.URL.Query()
	if !canWrite(c.principal) {
		return errInsufficientScopes()
	}
	count := 10
	if s := q.Get("count"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return errInvalidParam("count", "Invalid value for count: "+s)
		}
		count = n
	}
	space := q.Get("space")
	if space == "" {
		space = "drive"
	}
	if space != "drive" && space != "appDataFolder" {
		return errInvalidParam("space", "Invalid value for space: "+space)
	}
	if t := q.Get("type"); t != "" && t != "files" && t != "shortcuts" {
		return errInvalidParam("type", "Invalid value for type: "+t)
	}
	ids := make([]string, count)
	e.mu.Lock()
	for i := range ids {
		ids[i] = newID()
		c.acct.reserved[ids[i]] = true
	}
	e.changedLocked()
	e.mu.Unlock()
	res := map[string]any{"kind": "drive#generatedIds", "space": space, "ids": ids}
	if f := q.Get("fields"); f != "" {
		m, err := parseFields(f)
		if err != nil {
			return errInvalidParam("fields", "Invalid field selection "+f)
		}
		writeJSON(w, http.StatusOK, m.apply(res))
		return nil
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (e *Emulator) aboutGet(w http.ResponseWriter, r *http.Request, c *call) *apiError {
	fields := r.URL.Query().Get("fields")
	if fields == "" {
		// Drive insists on a field selection for about.get.
		return errRequiredParam("fields")
	}
	m, err := parseFields(fields)
	if err != nil {
		return errInvalidParam("fields", "Invalid field selection "+fields)
	}
	e.mu.Lock()
	a := c.acct
	used, trash := a.usage()
	quota := map[string]any{
		"usage":             strconv.FormatInt(used, 10),
		"usageInDrive":      strconv.FormatInt(used, 10),
		"usageInDriveTrash": strconv.FormatInt(trash, 10),
	}
	if a.quota > 0 {
		quota["limit"] = strconv.FormatInt(a.quota, 10)
	}
	res := map[string]any{
		"kind": "drive#about",
		"user": map[string]any{"kind": "drive#user", "displayName": a.displayName,
			"emailAddress": a.email, "me": true, "permissionId": permissionID(a.email)},
		"storageQuota": quota,
		"rootFolderId": a.rootID,
	}
	e.mu.Unlock()
	writeJSON(w, http.StatusOK, m.apply(res))
	return nil
}

func permissionID(email string) string { return md5Hex([]byte(email))[:20] }

func mediaType(ct string) string {
	t, _, _ := strings.Cut(ct, ";")
	return strings.TrimSpace(t)
}
