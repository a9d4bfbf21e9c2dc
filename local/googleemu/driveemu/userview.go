package driveemu

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// UserItem is a Drive item as its owner sees it in Google's own UIs (the Drive web app, the
// Google Picker): every item of the account, whichever app made it, unlike what a drive.file
// token sees through the API.
type UserItem struct {
	ID       string
	Name     string
	MimeType string
	ParentID string // "" for a root
	DriveID  string // shared drive holding it; "" for My Drive
	URL      string // webViewLink
	Modified time.Time
}

// IsFolder reports whether the item is a folder (or a root).
func (i UserItem) IsFolder() bool { return i.MimeType == FolderMimeType }

// ErrNoSuchItem is returned (wrapped) by UserItemOf and UserChildren for an ID the account does
// not hold, or holds in the trash.
var ErrNoSuchItem = errors.New("no such item")

// UserItemOf returns item id ("root" is My Drive) of accountEmail as the user sees it.
func (e *Emulator) UserItemOf(accountEmail, id string) (UserItem, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.accounts[accountEmail]
	if a == nil {
		return UserItem{}, fmt.Errorf("user item: unknown account %s", accountEmail)
	}
	f := a.files[a.resolve(id)]
	if f == nil || f.Trashed {
		return UserItem{}, fmt.Errorf("user item %s of %s: %w", id, accountEmail, ErrNoSuchItem)
	}
	return e.userItemLocked(a, f), nil
}

// UserChildren returns the items directly in folder parent ("root" is My Drive) that the user
// sees, folders first then by name, trash left out.
func (e *Emulator) UserChildren(accountEmail, parent string) ([]UserItem, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.accounts[accountEmail]
	if a == nil {
		return nil, fmt.Errorf("user children: unknown account %s", accountEmail)
	}
	pid := a.resolve(parent)
	if p := a.files[pid]; p == nil || p.Trashed || !p.isFolder() {
		return nil, fmt.Errorf("user children of %s in %s: %w", parent, accountEmail, ErrNoSuchItem)
	}
	var out []UserItem
	for _, f := range a.files {
		if !f.Trashed && slices.Contains(f.Parents, pid) {
			out = append(out, e.userItemLocked(a, f))
		}
	}
	slices.SortFunc(out, func(x, y UserItem) int {
		if x.IsFolder() != y.IsFolder() {
			if x.IsFolder() {
				return -1
			}
			return 1
		}
		return cmp.Or(strings.Compare(strings.ToLower(x.Name), strings.ToLower(y.Name)), strings.Compare(x.ID, y.ID))
	})
	return out, nil
}

// UserSharedDrives returns the roots of the shared drives accountEmail is a member of, by name.
func (e *Emulator) UserSharedDrives(accountEmail string) ([]UserItem, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.accounts[accountEmail]
	if a == nil {
		return nil, fmt.Errorf("user shared drives: unknown account %s", accountEmail)
	}
	out := make([]UserItem, 0, len(a.drives))
	for _, d := range a.drives {
		if f := a.files[d.ID]; f != nil {
			out = append(out, e.userItemLocked(a, f))
		}
	}
	slices.SortFunc(out, func(x, y UserItem) int { return strings.Compare(strings.ToLower(x.Name), strings.ToLower(y.Name)) })
	return out, nil
}

// Granted reports whether fileID of accountEmail was granted to clientID (GrantToClient), as
// the Picker does for the app that opened it.
func (e *Emulator) Granted(accountEmail, clientID, fileID string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.accounts[accountEmail]
	return a != nil && a.grants[clientID][a.resolve(fileID)]
}

func (e *Emulator) userItemLocked(a *account, f *file) UserItem {
	it := UserItem{ID: f.ID, Name: f.Name, MimeType: f.MimeType, DriveID: f.DriveID, URL: e.webViewLink(f), Modified: f.Modified}
	if len(f.Parents) > 0 {
		it.ParentID = f.Parents[0]
	}
	return it
}

// CreateFolderAsUser makes a folder named name in parent ("root" is My Drive), as the user does
// in the Drive web app: no app made it, so drive.file tokens do not see it until it is picked.
func (e *Emulator) CreateFolderAsUser(accountEmail, parent, name string) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.accounts[accountEmail]
	if a == nil {
		return "", fmt.Errorf("create folder as user: unknown account %s", accountEmail)
	}
	pid := a.resolve(parent)
	p := a.files[pid]
	if p == nil || p.Trashed || !p.isFolder() {
		return "", fmt.Errorf("create folder as user in %s of %s: %w", parent, accountEmail, ErrNoSuchItem)
	}
	if name == "" {
		return "", errors.New("create folder as user: empty name")
	}
	now := e.now()
	f := &file{ID: newID(), Name: name, MimeType: FolderMimeType, Parents: []string{pid}, DriveID: p.DriveID,
		Version: 1, Created: now, Modified: now}
	a.files[f.ID] = f
	a.children[pid]++
	e.changedLocked()
	return f.ID, nil
}
