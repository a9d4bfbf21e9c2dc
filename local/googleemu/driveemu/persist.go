package driveemu

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
)

// Persistence keeps state.json (every account's metadata) and content/<md5> (file contents,
// stored once per distinct content) under DataDir. It is written synchronously on every change:
// the emulator serves one developer, and a simple, always-consistent copy matters more there
// than speed.

type savedAccount struct {
	Email       string              `json:"email"`
	DisplayName string              `json:"displayName"`
	Quota       int64               `json:"quota"`
	RootID      string              `json:"rootId"`
	Files       []*file             `json:"files"`
	Reserved    []string            `json:"reserved,omitempty"`
	Grants      map[string][]string `json:"grants,omitempty"`
	Drives      []*sharedDrive      `json:"drives,omitempty"`
}

type savedState struct {
	Accounts []savedAccount `json:"accounts"`
}

func (e *Emulator) statePath() string             { return filepath.Join(e.dataDir, "state.json") }
func (e *Emulator) contentPath(md5 string) string { return filepath.Join(e.dataDir, "content", md5) }

// changedLocked saves the state after a change. It runs with e.mu held.
func (e *Emulator) changedLocked() {
	if e.dataDir == "" {
		return
	}
	var st savedState
	for _, a := range e.accounts {
		sa := savedAccount{Email: a.email, DisplayName: a.displayName, Quota: a.quota, RootID: a.rootID,
			Drives: a.drives, Grants: map[string][]string{}}
		for _, f := range a.files {
			sa.Files = append(sa.Files, f)
		}
		slices.SortFunc(sa.Files, func(x, y *file) int { return compareStrings(x.ID, y.ID) })
		for id := range a.reserved {
			sa.Reserved = append(sa.Reserved, id)
		}
		slices.Sort(sa.Reserved)
		for c, ids := range a.grants {
			for id := range ids {
				sa.Grants[c] = append(sa.Grants[c], id)
			}
			slices.Sort(sa.Grants[c])
		}
		st.Accounts = append(st.Accounts, sa)
	}
	slices.SortFunc(st.Accounts, func(x, y savedAccount) int { return compareStrings(x.Email, y.Email) })
	body, err := json.MarshalIndent(st, "", " ")
	if err == nil {
		err = writeFileAtomic(e.statePath(), body)
	}
	if err != nil {
		slog.Warn("drive emulator: save state", "dir", e.dataDir, "error", err)
	}
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// saveContentLocked writes f's content to the content store. It runs with e.mu held.
func (e *Emulator) saveContentLocked(f *file) {
	if e.dataDir == "" || f.isFolder() {
		return
	}
	path := e.contentPath(f.MD5)
	if _, err := os.Stat(path); err == nil {
		return
	}
	if err := writeFileAtomic(path, f.content.bytes()); err != nil {
		slog.Warn("drive emulator: save content", "file_id", f.ID, "error", err)
	}
}

func writeFileAtomic(path string, body []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create directory: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("create temp file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(body); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("rename into %s: %w", path, err)
	}
	return nil
}

// load reads state saved in DataDir, if any.
func (e *Emulator) load() error {
	body, err := os.ReadFile(e.statePath())
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load state: %w", err)
	}
	var st savedState
	if err := json.Unmarshal(body, &st); err != nil {
		return fmt.Errorf("load state %s: %w", e.statePath(), err)
	}
	for _, sa := range st.Accounts {
		a := &account{email: sa.Email, displayName: sa.DisplayName, quota: sa.Quota, rootID: sa.RootID,
			files: map[string]*file{}, children: map[string]int{}, reserved: map[string]bool{},
			grants: map[string]map[string]bool{}, drives: sa.Drives, counters: map[string]int64{}}
		for _, f := range sa.Files {
			if !f.isFolder() && f.Size > 0 {
				content, err := readContentFile(e.contentPath(f.MD5))
				if err != nil {
					return fmt.Errorf("load content of %s: %w", f.ID, err)
				}
				f.content = content
			}
			a.files[f.ID] = f
			for _, p := range f.Parents {
				a.children[p]++
			}
		}
		if a.files[a.rootID] == nil {
			return fmt.Errorf("load state: account %s has no root folder", sa.Email)
		}
		for _, id := range sa.Reserved {
			a.reserved[id] = true
		}
		for c, ids := range sa.Grants {
			a.grants[c] = map[string]bool{}
			for _, id := range ids {
				a.grants[c][id] = true
			}
		}
		e.accounts[a.email] = a
	}
	return nil
}

func readContentFile(path string) (*blob, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readBlob(f, -1)
}
