package driveemu

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// AddSharedDrive creates a shared drive that account is a member of and returns its ID, which is
// also the ID of its root folder.
func (e *Emulator) AddSharedDrive(accountEmail, name string) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.accounts[accountEmail]
	if a == nil {
		return "", fmt.Errorf("add shared drive: unknown account %s", accountEmail)
	}
	now := e.now()
	// Shared drive IDs are shorter than file IDs and start with "0A" in Drive.
	id := "0A" + newID()[1:18]
	a.drives = append(a.drives, &sharedDrive{ID: id, Name: name, Created: now})
	a.files[id] = &file{ID: id, Name: name, MimeType: FolderMimeType, DriveID: id, Version: 1,
		Created: now, Modified: now}
	e.changedLocked()
	return id, nil
}

// GrantToClient lets drive.file tokens of clientID see and change fileID, as opening it in the
// Google Picker does.
func (e *Emulator) GrantToClient(accountEmail, clientID, fileID string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.accounts[accountEmail]
	if a == nil {
		return fmt.Errorf("grant to client: unknown account %s", accountEmail)
	}
	if a.files[a.resolve(fileID)] == nil {
		return fmt.Errorf("grant to client: no file %s in %s", fileID, accountEmail)
	}
	if a.grants[clientID] == nil {
		a.grants[clientID] = map[string]bool{}
	}
	a.grants[clientID][a.resolve(fileID)] = true
	e.changedLocked()
	return nil
}

func (e *Emulator) userFileLocked(op, accountEmail, fileID string) (*account, *file, error) {
	a := e.accounts[accountEmail]
	if a == nil {
		return nil, nil, fmt.Errorf("%s: unknown account %s", op, accountEmail)
	}
	f := a.files[a.resolve(fileID)]
	if f == nil {
		return nil, nil, fmt.Errorf("%s: no file %s in %s", op, fileID, accountEmail)
	}
	if a.isRoot(f.ID) {
		return nil, nil, fmt.Errorf("%s: %s is a root folder", op, fileID)
	}
	return a, f, nil
}

// TrashAsUser moves fileID (and, for a folder, everything in it) to the trash, as the user
// doing it in the Drive UI would.
func (e *Emulator) TrashAsUser(accountEmail, fileID string) error {
	return e.setTrashedAsUser("trash as user", accountEmail, fileID, true)
}

// UntrashAsUser restores fileID from the trash.
func (e *Emulator) UntrashAsUser(accountEmail, fileID string) error {
	return e.setTrashedAsUser("untrash as user", accountEmail, fileID, false)
}

func (e *Emulator) setTrashedAsUser(op, accountEmail, fileID string, trashed bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, f, err := e.userFileLocked(op, accountEmail, fileID)
	if err != nil {
		return err
	}
	if f.Trashed != trashed {
		a.setTrashed(f, trashed, e.now())
		e.changedLocked()
	}
	return nil
}

// DeleteAsUser deletes fileID and everything in it for good, as emptying the trash would.
func (e *Emulator) DeleteAsUser(accountEmail, fileID string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, f, err := e.userFileLocked("delete as user", accountEmail, fileID)
	if err != nil {
		return err
	}
	a.remove(f)
	e.changedLocked()
	return nil
}

// RenameAsUser renames fileID, as the user would in the Drive UI.
func (e *Emulator) RenameAsUser(accountEmail, fileID, name string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, f, err := e.userFileLocked("rename as user", accountEmail, fileID)
	if err != nil {
		return err
	}
	f.Name = name
	f.Version++
	f.Modified = e.now()
	e.changedLocked()
	return nil
}

// Content returns the content of fileID in account, for test assertions.
func (e *Emulator) Content(accountEmail, fileID string) ([]byte, error) {
	e.mu.Lock()
	a := e.accounts[accountEmail]
	var f *file
	if a != nil {
		f = a.files[a.resolve(fileID)]
	}
	var data *blob
	if f != nil {
		data = f.content
	}
	e.mu.Unlock()
	if f == nil {
		return nil, fmt.Errorf("content: no file %s in %s", fileID, accountEmail)
	}
	return data.bytes(), nil
}

// RootID returns the ID of the My Drive root folder of account.
func (e *Emulator) RootID(accountEmail string) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.accounts[accountEmail]
	if a == nil {
		return "", fmt.Errorf("root id: unknown account %s", accountEmail)
	}
	return a.rootID, nil
}

// Node is one item in a Tree.
type Node struct {
	ID            string                       `json:"id"`
	Name          string                       `json:"name"`
	MimeType      string                       `json:"mimeType"`
	Folder        bool                         `json:"folder,omitempty"`
	Size          int64                        `json:"size,omitempty"`
	MD5           string                       `json:"md5Checksum,omitempty"`
	Version       int64                        `json:"version"`
	Trashed       bool                         `json:"trashed,omitempty"`
	Modified      time.Time                    `json:"modifiedTime"`
	AppProperties map[string]map[string]string `json:"appProperties,omitempty"` // by client ID
	Children      []Node                       `json:"children,omitempty"`
}

// Tree is a dump of one account's Drive.
type Tree struct {
	Account      string `json:"account"`
	Root         Node   `json:"root"`
	SharedDrives []Node `json:"sharedDrives,omitempty"`
	// Orphans are items whose parent does not exist (Drive keeps such files too).
	Orphans []Node `json:"orphans,omitempty"`
}

// Tree returns a snapshot of account's Drive, children sorted by name then ID.
func (e *Emulator) Tree(accountEmail string) (Tree, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.accounts[accountEmail]
	if a == nil {
		return Tree{}, fmt.Errorf("tree: unknown account %s", accountEmail)
	}
	kids := map[string][]*file{}
	for _, f := range a.files {
		for _, p := range f.Parents {
			kids[p] = append(kids[p], f)
		}
	}
	var build func(f *file) Node
	build = func(f *file) Node {
		n := Node{ID: f.ID, Name: f.Name, MimeType: f.MimeType, Folder: f.isFolder(), Size: f.Size,
			MD5: f.MD5, Version: f.Version, Trashed: f.Trashed, Modified: f.Modified.UTC()}
		if len(f.AppProperties) > 0 {
			n.AppProperties = map[string]map[string]string{}
			for c, props := range f.AppProperties {
				n.AppProperties[c] = maps.Clone(props)
			}
		}
		ch := kids[f.ID]
		slices.SortFunc(ch, func(x, y *file) int { return cmp.Or(cmp.Compare(x.Name, y.Name), cmp.Compare(x.ID, y.ID)) })
		for _, c := range ch {
			n.Children = append(n.Children, build(c))
		}
		return n
	}
	t := Tree{Account: a.email, Root: build(a.files[a.rootID])}
	for _, d := range a.drives {
		t.SharedDrives = append(t.SharedDrives, build(a.files[d.ID]))
	}
	var orphans []*file
	for _, f := range a.files {
		if a.isRoot(f.ID) {
			continue
		}
		if len(f.Parents) == 0 || a.files[f.Parents[0]] == nil {
			orphans = append(orphans, f)
		}
	}
	slices.SortFunc(orphans, func(x, y *file) int { return cmp.Compare(x.ID, y.ID) })
	for _, f := range orphans {
		t.Orphans = append(t.Orphans, build(f))
	}
	return t, nil
}

// String prints the tree one item a line, indented by depth.
func (t Tree) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", t.Account)
	var walk func(n Node, depth int)
	walk = func(n Node, depth int) {
		ind := strings.Repeat("  ", depth)
		if n.Folder {
			fmt.Fprintf(&b, "%s%s/ [%s v%d]", ind, n.Name, n.ID, n.Version)
		} else {
			fmt.Fprintf(&b, "%s%s [%s v%d %dB md5=%s %s]", ind, n.Name, n.ID, n.Version, n.Size, n.MD5, n.MimeType)
		}
		if n.Trashed {
			b.WriteString(" (trashed)")
		}
		b.WriteString("\n")
		for _, c := range n.Children {
			walk(c, depth+1)
		}
	}
	walk(t.Root, 1)
	for _, d := range t.SharedDrives {
		b.WriteString("shared drive:\n")
		walk(d, 1)
	}
	if len(t.Orphans) > 0 {
		b.WriteString("orphans:\n")
		for _, o := range t.Orphans {
			walk(o, 1)
		}
	}
	return b.String()
}

// adminHandler serves /emulator/drive/: JSON endpoints for a CLI or a test in another process.
// It has no authentication; the emulator only ever listens on a developer's machine.
func (e *Emulator) adminHandler() http.Handler {
	mux := http.NewServeMux()
	type req struct {
		Account     string   `json:"account"`
		DisplayName string   `json:"displayName"`
		Name        string   `json:"name"`
		ClientID    string   `json:"clientId"`
		FileID      string   `json:"fileId"`
		PerSecond   float64  `json:"perSecond"`
		Burst       int      `json:"burst"`
		Bytes       int64    `json:"bytes"`
		Limit       int      `json:"limit"`
		Method      string   `json:"method"`
		Count       int      `json:"count"`
		Kind        string   `json:"kind"`
		DelayMillis int64    `json:"delayMs"`
		AfterBytes  int64    `json:"afterBytes"`
		Seed        uint64   `json:"seed"`
		Probability float64  `json:"probability"`
		Methods     []string `json:"methods"`
		Kinds       []string `json:"kinds"`
		On          bool     `json:"on"`
	}
	post := func(path string, fn func(req) (any, error)) {
		mux.HandleFunc("POST /emulator/drive/"+path, func(w http.ResponseWriter, r *http.Request) {
			var in req
			if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "decode request: " + err.Error()})
				return
			}
			out, err := fn(in)
			if err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
				return
			}
			if out == nil {
				out = map[string]string{}
			}
			writeJSON(w, http.StatusOK, out)
		})
	}
	post("accounts", func(in req) (any, error) {
		return nil, e.AddAccount(Account{Email: in.Account, DisplayName: in.DisplayName, QuotaBytes: in.Bytes})
	})
	post("shared-drives", func(in req) (any, error) {
		id, err := e.AddSharedDrive(in.Account, in.Name)
		return map[string]string{"id": id}, err
	})
	post("folders", func(in req) (any, error) { // the user makes a folder (fileId: its parent, default My Drive)
		id, err := e.CreateFolderAsUser(in.Account, cmp.Or(in.FileID, "root"), in.Name)
		return map[string]string{"id": id}, err
	})
	post("grants", func(in req) (any, error) { return nil, e.GrantToClient(in.Account, in.ClientID, in.FileID) })
	post("trash", func(in req) (any, error) { return nil, e.TrashAsUser(in.Account, in.FileID) })
	post("untrash", func(in req) (any, error) { return nil, e.UntrashAsUser(in.Account, in.FileID) })
	post("delete", func(in req) (any, error) { return nil, e.DeleteAsUser(in.Account, in.FileID) })
	post("rename", func(in req) (any, error) { return nil, e.RenameAsUser(in.Account, in.FileID, in.Name) })
	post("write-rate", func(in req) (any, error) { return nil, e.SetWriteRate(in.Account, in.PerSecond, in.Burst) })
	post("quota", func(in req) (any, error) { return nil, e.SetQuota(in.Account, in.Bytes) })
	post("folder-child-limit", func(in req) (any, error) { e.SetFolderChildLimit(in.Limit); return nil, nil })
	post("incomplete-search", func(in req) (any, error) { return nil, e.SetIncompleteSearch(in.Account, in.On) })
	post("counters/reset", func(in req) (any, error) { e.ResetCounters(in.Account); return nil, nil })
	post("faults", func(in req) (any, error) {
		return nil, e.FailNext(in.Method, in.Count, Fault{Kind: FaultKind(in.Kind), Delay: time.Duration(in.DelayMillis) * time.Millisecond})
	})
	post("faults/random", func(in req) (any, error) {
		cfg := RandomFaults{Seed: in.Seed, Probability: in.Probability, Methods: in.Methods}
		for _, k := range in.Kinds {
			cfg.Faults = append(cfg.Faults, Fault{Kind: FaultKind(k), Delay: time.Duration(in.DelayMillis) * time.Millisecond})
		}
		return nil, e.SetRandomFaults(cfg)
	})
	post("faults/interrupt-chunk", func(in req) (any, error) { return nil, e.InterruptNextChunk(in.AfterBytes) })
	post("faults/clear", func(in req) (any, error) { e.ClearFaults(); return nil, nil })
	mux.HandleFunc("GET /emulator/drive/counters", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, e.Counters(r.URL.Query().Get("account")))
	})
	mux.HandleFunc("GET /emulator/drive/tree", func(w http.ResponseWriter, r *http.Request) {
		t, err := e.Tree(r.URL.Query().Get("account"))
		if err != nil {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
			return
		}
		if r.URL.Query().Get("format") == "text" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write([]byte(t.String()))
			return
		}
		writeJSON(w, http.StatusOK, t)
	})
	return mux
}
