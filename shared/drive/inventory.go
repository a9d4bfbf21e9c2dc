package drive

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	drivev3 "google.golang.org/api/drive/v3"
)

// TreeFolder is a folder found below a root by FolderTree.
type TreeFolder struct {
	ID     string
	Name   string
	Parent string
	// Key is the folder's AppPropertyKey: set on the folders EnsureFolder made, empty on the
	// customer's own.
	Key string
}

// InventoryFile is a document file found by DocumentFiles.
type InventoryFile struct {
	ID            string
	Name          string
	Parents       []string
	Size          int64
	CreatedTime   time.Time
	AppProperties map[string]string
}

// parentsPerQuery bounds the "in parents" terms ORed in one folder query, far below the query
// length Drive accepts.
const parentsPerQuery = 40

// maxTreeDepth bounds FolderTree: drivesync's layouts are at most three levels deep; the margin
// covers folders the customer added.
const maxTreeDepth = 6

// FolderTree lists the folders below rootID that are not in the trash, level by level: one query
// per level and per parentsPerQuery folders of the level above (a company folder with ten
// years of months takes about six calls), down to six levels. driveID is the shared drive that
// holds rootID, empty for My Drive; only that drive is searched.
func (c *Client) FolderTree(ctx context.Context, driveID, rootID string) ([]TreeFolder, error) {
	op := "list folders below " + rootID
	if rootID == "" {
		return nil, invalidArgument(op + ": empty root")
	}
	var out []TreeFolder
	level := []string{rootID}
	for depth := 0; depth < maxTreeDepth && len(level) > 0; depth++ {
		var next []string
		for start := 0; start < len(level); start += parentsPerQuery {
			batch := level[start:min(start+parentsPerQuery, len(level))]
			terms := make([]string, len(batch))
			for i, id := range batch {
				terms[i] = quote(id) + " in parents"
			}
			q := "(" + strings.Join(terms, " or ") + ") and mimeType = " + quote(FolderMimeType) + " and trashed = false"
			err := c.listAll(ctx, driveID, q, "", "files(id,name,parents,appProperties)", func(f *drivev3.File) {
				tf := TreeFolder{ID: f.Id, Name: f.Name, Key: f.AppProperties[AppPropertyKey]}
				for _, p := range f.Parents {
					if slices.Contains(batch, p) {
						tf.Parent = p
						break
					}
				}
				out = append(out, tf)
				next = append(next, f.Id)
			})
			if err != nil {
				return nil, c.classify(op, err)
			}
		}
		level = next
	}
	return out, nil
}

// DocumentFiles lists, a thousand per call, the files not in the trash whose private app
// property key is value (drivesync marks every document file with its company), anywhere in
// the drive driveID (a shared drive, or My Drive when empty: the drive of the connection's
// folder); the caller keeps those under its folders.
func (c *Client) DocumentFiles(ctx context.Context, driveID, key, value string) ([]InventoryFile, error) {
	op := fmt.Sprintf("list files with %s=%q", key, value)
	if key == "" || value == "" {
		return nil, invalidArgument(op + ": empty key or value")
	}
	q := "appProperties has { key=" + quote(key) + " and value=" + quote(value) + " } and trashed = false and mimeType != " + quote(FolderMimeType)
	var out []InventoryFile
	err := c.listAll(ctx, driveID, q, "", "files(id,name,parents,size,createdTime,appProperties)", func(f *drivev3.File) {
		created, _ := time.Parse(time.RFC3339Nano, f.CreatedTime)
		out = append(out, InventoryFile{ID: f.Id, Name: f.Name, Parents: f.Parents, Size: f.Size,
			CreatedTime: created, AppProperties: maps.Clone(f.AppProperties)})
	})
	if err != nil {
		return nil, c.classify(op, err)
	}
	return out, nil
}
