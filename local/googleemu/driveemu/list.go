package driveemu

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// orderKey is one term of orderBy.
type orderKey struct {
	field string // name, folder, modifiedTime, createdTime
	desc  bool
}

func parseOrderBy(s string) ([]orderKey, *apiError) {
	var keys []orderKey
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		fields := strings.Fields(part)
		k := orderKey{field: fields[0]}
		if len(fields) > 2 || (len(fields) == 2 && !strings.EqualFold(fields[1], "desc")) {
			return nil, errInvalidParam("orderBy", "Invalid orderBy: "+s)
		}
		k.desc = len(fields) == 2
		switch k.field {
		case "name", "name_natural":
			k.field = "name"
		case "recency", "modifiedByMeTime":
			k.field = "modifiedTime"
		case "folder", "modifiedTime", "createdTime":
		default:
			return nil, errInvalidParam("orderBy", "Invalid orderBy: "+s)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// sortPoint is where a file sits in a listing's order; page tokens carry the last one so the next
// page starts right after it even if files were added or removed in between.
type sortPoint struct {
	Name     string    `json:"n"`
	Folder   bool      `json:"f"`
	Modified time.Time `json:"m"`
	Created  time.Time `json:"c"`
	ID       string    `json:"i"`
}

func pointOf(f *file) sortPoint {
	return sortPoint{Name: f.Name, Folder: f.isFolder(), Modified: f.Modified, Created: f.Created, ID: f.ID}
}

func comparePoints(keys []orderKey, a, b sortPoint) int {
	for _, k := range keys {
		var c int
		switch k.field {
		case "name":
			c = cmp.Or(cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), cmp.Compare(a.Name, b.Name))
		case "folder":
			// Ascending puts folders first, as in Drive.
			c = -compareBool(a.Folder, b.Folder)
		case "modifiedTime":
			c = a.Modified.Compare(b.Modified)
		case "createdTime":
			c = a.Created.Compare(b.Created)
		}
		if k.desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return cmp.Compare(a.ID, b.ID)
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// pageToken is what nextPageToken encodes: the listing it belongs to and the last file served.
type pageToken struct {
	Q     string    `json:"q"`
	Order string    `json:"o"`
	After sortPoint `json:"a"`
}

func encodeToken(t pageToken) string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(s string) (pageToken, bool) {
	var t pageToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &t) != nil {
		return t, false
	}
	return t, true
}

func (e *Emulator) filesList(w http.ResponseWriter, r *http.Request, c *call) *apiError {
	q := r.URL.Query()
	pageSize := 100
	if s := q.Get("pageSize"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return errInvalidParam("pageSize", "Invalid value for pageSize: "+s)
		}
		pageSize = n
	}
	keys, apiErr := parseOrderBy(q.Get("orderBy"))
	if apiErr != nil {
		return apiErr
	}
	var filter query = constQuery(true)
	if s := strings.TrimSpace(q.Get("q")); s != "" {
		parsed, err := parseQuery(s, c.principal.Account)
		if err != nil {
			return errInvalidParam("q", "Invalid Value")
		}
		filter = parsed
	}
	for _, sp := range strings.Split(q.Get("spaces"), ",") {
		if sp = strings.TrimSpace(sp); sp != "" && sp != "drive" && sp != "appDataFolder" {
			return errInvalidParam("spaces", "Invalid Value")
		}
	}
	onlyAppData := q.Get("spaces") == "appDataFolder"
	supports := allDrives(q)
	include := boolParam(q, "includeItemsFromAllDrives") || boolParam(q, "includeTeamDriveItems")
	corpora := q.Get("corpora")
	driveID := q.Get("driveId")
	switch corpora {
	case "", "user", "domain", "drive", "allDrives":
	default:
		return errInvalidParam("corpora", "Invalid Value")
	}
	if (corpora == "drive") != (driveID != "") {
		return errInvalidParam("corpora", "The driveId parameter must be specified if and only if corpora is set to drive.")
	}
	if (corpora == "drive" || corpora == "allDrives") && !include {
		return &apiError{Code: 403, Reason: "badRequest", Message: "The includeItemsFromAllDrives parameter must be set to true when driveId is specified or corpora contains drive or allDrives."}
	}
	mask := fieldMask{"kind": nil, "incompleteSearch": nil, "nextPageToken": nil, "files": defaultFileFields}
	if f := q.Get("fields"); f != "" {
		m, err := parseFields(f)
		if err != nil {
			return errInvalidParam("fields", "Invalid field selection "+f)
		}
		mask = m
	}
	var after *sortPoint
	if s := q.Get("pageToken"); s != "" {
		t, ok := decodeToken(s)
		if !ok || t.Q != q.Get("q") || t.Order != q.Get("orderBy") {
			return errInvalidParam("pageToken", "Invalid Value")
		}
		after = &t.After
	}

	e.mu.Lock()
	a := c.acct
	if corpora == "drive" && a.driveByID(driveID) == nil {
		e.mu.Unlock()
		return errDriveNotFound(driveID)
	}
	// A search over several corpora may come back incomplete in Drive: with SetIncompleteSearch,
	// an allDrives search leaves out every shared drive's items and says so. A search of one
	// corpus (user: My Drive; drive: one shared drive) is always complete.
	incomplete := corpora == "allDrives" && a.incompleteSearch
	ctx := &queryCtx{acct: a, client: c.principal.ClientID}
	var matched []*file
	for _, f := range a.files {
		switch {
		case onlyAppData, a.isRoot(f.ID):
			continue
		case corpora == "drive" && f.DriveID != driveID:
			continue
		case corpora == "user" && f.DriveID != "":
			// The user corpus is My Drive (and what is shared with the user), not shared drives.
			continue
		case f.DriveID != "" && (!include || incomplete):
			continue
		}
		if a.visible(c.principal, f, supports) && filter.match(ctx, f) {
			matched = append(matched, f)
		}
	}
	slices.SortFunc(matched, func(x, y *file) int { return comparePoints(keys, pointOf(x), pointOf(y)) })
	if after != nil {
		i, _ := slices.BinarySearchFunc(matched, *after, func(f *file, p sortPoint) int {
			return comparePoints(keys, pointOf(f), p)
		})
		for i < len(matched) && comparePoints(keys, pointOf(matched[i]), *after) <= 0 {
			i++
		}
		matched = matched[i:]
	}
	res := map[string]any{"kind": "drive#fileList", "incompleteSearch": incomplete}
	if len(matched) > pageSize {
		res["nextPageToken"] = encodeToken(pageToken{Q: q.Get("q"), Order: q.Get("orderBy"), After: pointOf(matched[pageSize-1])})
		matched = matched[:pageSize]
	}
	files := make([]any, len(matched))
	for i, f := range matched {
		files[i] = e.resource(a, c.principal, f)
	}
	e.mu.Unlock()
	res["files"] = files
	writeJSON(w, http.StatusOK, mask.apply(res))
	return nil
}

func driveResource(d *sharedDrive) map[string]any {
	return map[string]any{"kind": "drive#drive", "id": d.ID, "name": d.Name, "createdTime": formatTime(d.Created)}
}

func (e *Emulator) drivesList(w http.ResponseWriter, r *http.Request, c *call) *apiError {
	q := r.URL.Query()
	if !hasAnyScope(c.principal, ScopeDrive, ScopeDriveReadonly) {
		return errInsufficientScopes()
	}
	pageSize := 10
	if s := q.Get("pageSize"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			return errInvalidParam("pageSize", "Invalid value for pageSize: "+s)
		}
		pageSize = n
	}
	start := 0
	if s := q.Get("pageToken"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return errInvalidParam("pageToken", "Invalid Value")
		}
		start = n
	}
	mask := fieldMask{"kind": nil, "nextPageToken": nil, "drives": fieldMask{"kind": nil, "id": nil, "name": nil}}
	if f := q.Get("fields"); f != "" {
		m, err := parseFields(f)
		if err != nil {
			return errInvalidParam("fields", "Invalid field selection "+f)
		}
		mask = m
	}
	e.mu.Lock()
	all := c.acct.drives
	res := map[string]any{"kind": "drive#driveList"}
	drives := []any{}
	for i := start; i < len(all) && i < start+pageSize; i++ {
		drives = append(drives, driveResource(all[i]))
	}
	if start+pageSize < len(all) {
		res["nextPageToken"] = strconv.Itoa(start + pageSize)
	}
	e.mu.Unlock()
	res["drives"] = drives
	writeJSON(w, http.StatusOK, mask.apply(res))
	return nil
}

func (e *Emulator) drivesGet(w http.ResponseWriter, r *http.Request, c *call, id string) *apiError {
	e.mu.Lock()
	d := c.acct.driveByID(id)
	var res map[string]any
	if d != nil {
		res = driveResource(d)
	}
	e.mu.Unlock()
	if d == nil {
		return errDriveNotFound(id)
	}
	mask := fieldMask{"kind": nil, "id": nil, "name": nil}
	if f := r.URL.Query().Get("fields"); f != "" {
		m, err := parseFields(f)
		if err != nil {
			return errInvalidParam("fields", "Invalid field selection "+f)
		}
		mask = m
	}
	writeJSON(w, http.StatusOK, mask.apply(res))
	return nil
}
