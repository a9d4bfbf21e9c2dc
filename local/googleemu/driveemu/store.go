package driveemu

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"maps"
	"strconv"
	"time"

	"golang.org/x/time/rate"
)

// file is one Drive item. Its content slice is never changed in place once stored, so readers may
// keep a reference after releasing the lock.
type file struct {
	ID       string
	Name     string
	MimeType string
	Parents  []string
	DriveID  string // shared drive holding the file; "" for My Drive
	Trashed  bool
	// ExplicitlyTrashed tells a file the user trashed from one trashed with its folder, so
	// untrashing the folder restores only the latter.
	ExplicitlyTrashed bool
	AppProperties     map[string]map[string]string // by OAuth client ID; private to each app
	Version           int64
	Created           time.Time
	Modified          time.Time
	CreatorClient     string
	Size              int64
	MD5               string
	content           *blob
}

func (f *file) isFolder() bool { return f.MimeType == FolderMimeType }

type sharedDrive struct {
	ID      string
	Name    string
	Created time.Time
}

type account struct {
	email       string
	displayName string
	quota       int64
	rootID      string
	files       map[string]*file
	children    map[string]int             // direct children count per folder
	reserved    map[string]bool            // IDs handed out by generateIds and not used yet
	grants      map[string]map[string]bool // client ID → file IDs granted (Picker)
	drives      []*sharedDrive
	limiter     *rate.Limiter
	counters    map[string]int64
	refused     int64 // writes answered 403 userRateLimitExceeded by SetWriteRate's limit
	// incompleteSearch makes allDrives searches leave out shared drives (SetIncompleteSearch).
	incompleteSearch bool
}

func newAccount(a Account, now time.Time) *account {
	acc := &account{
		email:       a.Email,
		displayName: a.DisplayName,
		quota:       a.QuotaBytes,
		rootID:      newID(),
		files:       map[string]*file{},
		children:    map[string]int{},
		reserved:    map[string]bool{},
		grants:      map[string]map[string]bool{},
		counters:    map[string]int64{},
	}
	if acc.displayName == "" {
		acc.displayName = a.Email
	}
	acc.files[acc.rootID] = &file{ID: acc.rootID, Name: "My Drive", MimeType: FolderMimeType,
		Version: 1, Created: now, Modified: now}
	return acc
}

// newID returns an ID shaped like Drive's: 33 characters of URL-safe base64 starting with "1".
func newID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	var b [32]byte
	_, _ = rand.Read(b[:])
	out := make([]byte, 33)
	out[0] = '1'
	for i, c := range b {
		out[i+1] = alphabet[int(c)%len(alphabet)]
	}
	return string(out)
}

func md5Hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// resolve maps the alias "root" to the account's root folder ID.
func (a *account) resolve(id string) string {
	if id == "root" {
		return a.rootID
	}
	return id
}

func (a *account) driveByID(id string) *sharedDrive {
	for _, d := range a.drives {
		if d.ID == id {
			return d
		}
	}
	return nil
}

// visible reports whether p may see f. Shared drive items need supportsAllDrives, and a
// drive.file token sees only what its client created or was granted.
func (a *account) visible(p Principal, f *file, allDrives bool) bool {
	if f.DriveID != "" && !allDrives {
		return false
	}
	if f.ID == a.rootID || (f.DriveID != "" && f.ID == f.DriveID) {
		return true
	}
	if fullAccess(p) {
		return true
	}
	return f.CreatorClient == p.ClientID || a.grants[p.ClientID][f.ID]
}

// lookup finds a file p may see, or returns Drive's notFound.
func (a *account) lookup(p Principal, id string, allDrives bool) (*file, *apiError) {
	f := a.files[a.resolve(id)]
	if f == nil || !a.visible(p, f, allDrives) {
		return nil, errNotFound(id)
	}
	return f, nil
}

// usage is the bytes counted against the account's quota: everything in My Drive, trash
// included. Shared drives have their own storage.
func (a *account) usage() (total, trash int64) {
	for _, f := range a.files {
		if f.DriveID != "" {
			continue
		}
		total += f.Size
		if f.Trashed {
			trash += f.Size
		}
	}
	return total, trash
}

func (a *account) quotaAllows(extra int64) bool {
	if a.quota == 0 || extra <= 0 {
		return true
	}
	used, _ := a.usage()
	return used+extra <= a.quota
}

// descendants returns every item below folder id.
func (a *account) descendants(id string) []*file {
	var out []*file
	queue := []string{id}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, f := range a.files {
			for _, p := range f.Parents {
				if p == cur {
					out = append(out, f)
					if f.isFolder() {
						queue = append(queue, f.ID)
					}
					break
				}
			}
		}
	}
	return out
}

func (a *account) remove(f *file) {
	for _, d := range append(a.descendants(f.ID), f) {
		for _, p := range d.Parents {
			a.children[p]--
		}
		delete(a.files, d.ID)
		delete(a.children, d.ID)
	}
}

func (a *account) setTrashed(f *file, trashed bool, now time.Time) {
	f.Trashed = trashed
	f.ExplicitlyTrashed = trashed
	f.Version++
	f.Modified = now
	for _, d := range a.descendants(f.ID) {
		if trashed && !d.Trashed {
			d.Trashed = true
			d.Version++
		} else if !trashed && d.Trashed && !d.ExplicitlyTrashed {
			d.Trashed = false
			d.Version++
		}
	}
}

// isRoot reports whether id is the root of My Drive or of a shared drive.
func (a *account) isRoot(id string) bool {
	return id == a.rootID || a.driveByID(id) != nil
}

// addChildAllowed reports whether folder parent can take one more item.
func (e *Emulator) addChildAllowed(a *account, parent string) bool {
	if a.isRoot(parent) {
		return true
	}
	return a.children[parent] < e.folderChildLimit
}

// resource renders f as the Drive File resource p would get, before field selection.
func (e *Emulator) resource(a *account, p Principal, f *file) map[string]any {
	m := map[string]any{
		"kind":         "drive#file",
		"id":           f.ID,
		"name":         f.Name,
		"mimeType":     f.MimeType,
		"trashed":      f.Trashed,
		"version":      strconv.FormatInt(f.Version, 10),
		"createdTime":  formatTime(f.Created),
		"modifiedTime": formatTime(f.Modified),
		"webViewLink":  e.webViewLink(f),
	}
	if f.Trashed {
		m["explicitlyTrashed"] = f.ExplicitlyTrashed
	}
	if len(f.Parents) > 0 {
		m["parents"] = append([]string(nil), f.Parents...)
	}
	if !f.isFolder() {
		m["size"] = strconv.FormatInt(f.Size, 10)
		m["md5Checksum"] = f.MD5
		m["quotaBytesUsed"] = strconv.FormatInt(f.Size, 10)
	}
	if f.DriveID != "" {
		m["driveId"] = f.DriveID
	}
	if props := f.AppProperties[p.ClientID]; len(props) > 0 {
		m["appProperties"] = maps.Clone(props)
	}
	edit := canWrite(p)
	m["capabilities"] = map[string]any{
		"canEdit":        edit && !f.isFolder(),
		"canAddChildren": edit && f.isFolder(),
		"canDelete":      edit && f.ID != a.rootID,
		"canTrash":       edit && f.ID != a.rootID,
		"canDownload":    !f.isFolder(),
		"canRename":      edit && f.ID != a.rootID,
	}
	return m
}

func (e *Emulator) webViewLink(f *file) string {
	base := e.baseURL
	if base == "" {
		base = "https://drive.google.com"
	}
	if f.isFolder() {
		return base + "/drive/folders/" + f.ID
	}
	return base + "/file/d/" + f.ID + "/view?usp=drivesdk"
}

func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
