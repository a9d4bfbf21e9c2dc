package drive

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	drivev3 "google.golang.org/api/drive/v3"
	"google.golang.org/api/googleapi"

	"github.com/efactori/drivesync/shared/drivesync"
)

// AppPropertyKey is the private app property EnsureFolder marks its folders with, so it finds
// them again after the customer renames them.
const AppPropertyKey = "drivesyncKey"

// RootID is Drive's alias for the root of My Drive.
const RootID = "root"

// Folder is a Drive folder.
type Folder struct {
	ID   string
	Name string
}

// FolderInfo is what drivesync needs to know about a folder before writing into it.
type FolderInfo struct {
	ID       string
	Name     string
	MimeType string
	Parents  []string // empty for the root of My Drive or of a shared drive
	DriveID  string   // the shared drive it is in; empty in My Drive
	Trashed  bool
	// CanAddChildren says whether this grant can create files in the folder.
	CanAddChildren bool
}

// Page is one page of folders.
type Page struct {
	Folders       []Folder
	NextPageToken string // empty on the last page
}

// maxPageSize is Drive's maximum for files.list.
const maxPageSize = 1000

// maxPathDepth bounds Path: Drive allows at most 100 levels of nested folders.
const maxPathDepth = 100

// infoFields are the file fields FolderInfo is built from.
const infoFields = "id,name,mimeType,parents,driveId,trashed,capabilities(canAddChildren)"

// quote makes s a string literal of Drive's query language. Without escaping, a folder named
// "O'Brien" would end the literal early and make the query invalid, or change its meaning.
func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// childFoldersQuery matches the folders directly under parentID that are not in the trash.
func childFoldersQuery(parentID string) string {
	return quote(parentID) + " in parents and mimeType = " + quote(FolderMimeType) + " and trashed = false"
}

// errIncompleteSearch is what a list reports when Drive says its answer may miss items; it is
// classified Retryable with CodeIncompleteSearch.
var errIncompleteSearch = errors.New("drive answered incompleteSearch: the listing may miss items")

// listPage runs one files.list over the drive that holds what is listed: the shared drive
// driveID (corpora=drive), or My Drive when driveID is empty (corpora=user). Drive may answer a
// search over every drive the account can see (corpora=allDrives) with incompleteSearch and
// items of some shared drives left out, which would make EnsureFolder create a second folder
// and a reconcile believe files missing; one drive is searched whole. An incomplete answer is
// refused all the same (errIncompleteSearch).
func (c *Client) listPage(ctx context.Context, driveID, q, orderBy string, fields googleapi.Field, pageToken string, pageSize int) (*drivev3.FileList, error) {
	call := c.svc.Files.List().Q(q).PageSize(int64(pageSize)).SupportsAllDrives(true).
		Fields("nextPageToken", "incompleteSearch", fields).Context(ctx)
	if driveID == "" {
		call = call.Corpora("user")
	} else {
		call = call.Corpora("drive").DriveId(driveID).IncludeItemsFromAllDrives(true)
	}
	if orderBy != "" {
		call = call.OrderBy(orderBy)
	}
	if pageToken != "" {
		call = call.PageToken(pageToken)
	}
	l, err := call.Do()
	if err != nil {
		return nil, err
	}
	if l.IncompleteSearch {
		return nil, errIncompleteSearch
	}
	return l, nil
}

// listAll runs listPage over every page of maxPageSize, handing each file to each.
func (c *Client) listAll(ctx context.Context, driveID, q, orderBy string, fields googleapi.Field, each func(*drivev3.File)) error {
	for pageToken := ""; ; {
		l, err := c.listPage(ctx, driveID, q, orderBy, fields, pageToken, maxPageSize)
		if err != nil {
			return err
		}
		for _, f := range l.Files {
			each(f)
		}
		if pageToken = l.NextPageToken; pageToken == "" {
			return nil
		}
	}
}

// ListFolders lists the folders directly under parentID (RootID for My Drive, a shared drive's
// ID for its root) that are not in the trash, ordered by name, a page of at most pageSize
// (1..1000) at a time. driveID is the shared drive that holds parentID (FolderInfo.DriveID),
// empty for My Drive. Pass the previous page's NextPageToken, or "" for the first page.
func (c *Client) ListFolders(ctx context.Context, driveID, parentID, pageToken string, pageSize int) (Page, error) {
	op := "list folders under " + parentID
	if parentID == "" || pageSize < 1 || pageSize > maxPageSize {
		return Page{}, invalidArgument(fmt.Sprintf("%s: need a parent and a page size in 1..%d, got %d", op, maxPageSize, pageSize))
	}
	l, err := c.listPage(ctx, driveID, childFoldersQuery(parentID), "name", "files(id,name)", pageToken, pageSize)
	if err != nil {
		return Page{}, c.classify(op, err)
	}
	p := Page{NextPageToken: l.NextPageToken, Folders: make([]Folder, 0, len(l.Files))}
	for _, f := range l.Files {
		p.Folders = append(p.Folders, Folder{ID: f.Id, Name: f.Name})
	}
	return p, nil
}

// get fetches id's FolderInfo without classifying the error, for callers that classify it in
// their own terms.
func (c *Client) get(ctx context.Context, id string) (FolderInfo, error) {
	f, err := c.svc.Files.Get(id).SupportsAllDrives(true).Fields(infoFields).Context(ctx).Do()
	if err != nil {
		return FolderInfo{}, err
	}
	info := FolderInfo{ID: f.Id, Name: f.Name, MimeType: f.MimeType, Parents: f.Parents,
		DriveID: f.DriveId, Trashed: f.Trashed}
	if f.Capabilities != nil {
		info.CanAddChildren = f.Capabilities.CanAddChildren
	}
	return info, nil
}

// Folder returns what Drive says about folder id, trashed or not. A missing id is ErrNotFound
// (drivesync.Permanent); an id that is a file is drivesync.Permanent with CodeNotFolder.
func (c *Client) Folder(ctx context.Context, id string) (FolderInfo, error) {
	op := "get folder " + id
	if id == "" {
		return FolderInfo{}, invalidArgument(op + ": empty id")
	}
	info, err := c.get(ctx, id)
	if err != nil {
		return FolderInfo{}, c.classify(op, err)
	}
	if info.MimeType != FolderMimeType {
		return FolderInfo{}, drivesync.Classify(fmt.Errorf("%s: it is a %s, not a folder", op, info.MimeType),
			drivesync.Permanent, CodeNotFolder)
	}
	return info, nil
}

// Path returns the folders from the root of id's drive (My Drive or a shared drive) down to id
// itself, for showing the customer where their documents go. It costs one files.get per level.
func (c *Client) Path(ctx context.Context, id string) ([]Folder, error) {
	op := "get path of " + id
	if id == "" {
		return nil, invalidArgument(op + ": empty id")
	}
	var path []Folder
	for next := id; len(path) < maxPathDepth; {
		info, err := c.get(ctx, next)
		if err != nil {
			return nil, c.classify(op, err)
		}
		path = append(path, Folder{ID: info.ID, Name: info.Name})
		if len(info.Parents) == 0 {
			slices.Reverse(path)
			return path, nil
		}
		next = info.Parents[0]
	}
	return nil, drivesync.Classify(fmt.Errorf("%s: more than %d levels of folders", op, maxPathDepth),
		drivesync.Permanent, CodePathTooDeep)
}

// CreateFolder creates a folder named name under parentID, with the given private app
// properties (which may be nil).
func (c *Client) CreateFolder(ctx context.Context, parentID, name string, appProperties map[string]string) (Folder, error) {
	op := fmt.Sprintf("create folder %q under %s", name, parentID)
	if parentID == "" || name == "" {
		return Folder{}, invalidArgument(op + ": need a parent and a name")
	}
	f, err := c.svc.Files.Create(&drivev3.File{
		Name:          name,
		MimeType:      FolderMimeType,
		Parents:       []string{parentID},
		AppProperties: appProperties,
	}).SupportsAllDrives(true).Fields("id", "name").Context(ctx).Do()
	if err != nil {
		return Folder{}, c.classify(op, err)
	}
	return Folder{ID: f.Id, Name: f.Name}, nil
}

// EnsureFolder returns the folder under parentID that carries key in its AppPropertyKey app
// property, creating it (named name) when there is none. The lookup is by key, not name, so a
// folder the customer renamed is still found; one they trashed is not, and a new one is made.
// driveID is the shared drive that holds parentID, empty for My Drive: the lookup searches that
// drive whole, never a possibly incomplete search of every drive.
//
// EnsureFolder is idempotent when calls are sequential but not race-free: two concurrent calls
// can both miss and both create. Callers serialise per key (drivesync holds a Firestore lock
// around it); should duplicates exist anyway, the oldest is returned, so every caller converges
// on the same folder.
func (c *Client) EnsureFolder(ctx context.Context, driveID, parentID, name, key string) (Folder, error) {
	return c.EnsureFolderPaced(ctx, driveID, parentID, name, key, nil)
}

// EnsureFolderPaced is EnsureFolder that calls pace, when it is not nil, right before creating
// the folder: the lookup is not a write, and a write slot taken before it would be spent late,
// between the account's next slots.
func (c *Client) EnsureFolderPaced(ctx context.Context, driveID, parentID, name, key string, pace func(context.Context) error) (Folder, error) {
	op := fmt.Sprintf("ensure folder %q under %s", name, parentID)
	if parentID == "" || name == "" || key == "" {
		return Folder{}, invalidArgument(op + ": need a parent, a name and a key")
	}
	q := childFoldersQuery(parentID) +
		" and appProperties has { key=" + quote(AppPropertyKey) + " and value=" + quote(key) + " }"
	l, err := c.listPage(ctx, driveID, q, "createdTime", "files(id,name)", "", 1)
	if err != nil {
		return Folder{}, c.classify(op, err)
	}
	if len(l.Files) > 0 {
		return Folder{ID: l.Files[0].Id, Name: l.Files[0].Name}, nil
	}
	if pace != nil {
		if err := pace(ctx); err != nil {
			return Folder{}, err
		}
	}
	return c.CreateFolder(ctx, parentID, name, map[string]string{AppPropertyKey: key})
}

// CheckTarget checks that folderID can receive drivesync's documents: it exists and this grant
// sees it, it is a folder, it is not in the trash, and the grant can add files to it. Each
// failure is drivesync.NeedsCustomer with its own code (CodeTargetNotFound, CodeTargetNotFolder,
// CodeTargetTrashed, CodeTargetReadOnly), since only the customer can fix it; a missing target
// also matches ErrNotFound. Other failures are classified as for any call. With
// CodeTargetNotFolder, CodeTargetTrashed and CodeTargetReadOnly the FolderInfo is returned too,
// so the customer can be told which item is meant.
func (c *Client) CheckTarget(ctx context.Context, folderID string) (FolderInfo, error) {
	op := "check target folder " + folderID
	if folderID == "" {
		return FolderInfo{}, invalidArgument(op + ": empty id")
	}
	info, err := c.get(ctx, folderID)
	var ge *googleapi.Error
	if errors.As(err, &ge) && ge.Code == http.StatusNotFound {
		return FolderInfo{}, drivesync.Classify(fmt.Errorf("%s: %w", op, ErrNotFound),
			drivesync.NeedsCustomer, CodeTargetNotFound)
	}
	if err != nil {
		return FolderInfo{}, c.classify(op, err)
	}
	var problem, code string
	switch {
	case info.MimeType != FolderMimeType:
		problem, code = "it is a file, not a folder", CodeTargetNotFolder
	case info.Trashed:
		problem, code = "it is in the trash", CodeTargetTrashed
	case !info.CanAddChildren:
		problem, code = "this grant cannot add files to it", CodeTargetReadOnly
	default:
		return info, nil
	}
	return info, drivesync.Classify(fmt.Errorf("%s: %s", op, problem), drivesync.NeedsCustomer, code)
}
