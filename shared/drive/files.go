package drive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"

	drivev3 "google.golang.org/api/drive/v3"
	"google.golang.org/api/googleapi"
)

// ErrAlreadyExists marks a create whose pre-generated ID is already a file: an earlier attempt
// got through. Such errors are drivesync.Permanent (the same create fails again); the caller
// goes on with an update of that ID.
var ErrAlreadyExists = errors.New("already exists in drive")

// File is a Drive file as drivesync sees it.
type File struct {
	ID       string
	Name     string
	MimeType string
	Parents  []string
	// MD5 is the hex MD5 of the content, computed by Drive.
	MD5  string
	Size int64
	// Version grows with every change to the file, content or metadata.
	Version int64
	Trashed bool
	// AppProperties are drivesync's private properties (other apps' are not visible).
	AppProperties map[string]string
}

// fileFields are the fields File is built from.
var fileFields = []googleapi.Field{"id", "name", "mimeType", "parents", "md5Checksum", "size", "version",
	"trashed", "appProperties"}

func fileOf(f *drivev3.File) File {
	return File{ID: f.Id, Name: f.Name, MimeType: f.MimeType, Parents: f.Parents, MD5: f.Md5Checksum,
		Size: f.Size, Version: f.Version, Trashed: f.Trashed, AppProperties: maps.Clone(f.AppProperties)}
}

// GetFile returns file id, trashed or not. A missing id is ErrNotFound (drivesync.Permanent).
func (c *Client) GetFile(ctx context.Context, id string) (File, error) {
	op := "get file " + id
	if id == "" {
		return File{}, invalidArgument(op + ": empty id")
	}
	f, err := c.svc.Files.Get(id).SupportsAllDrives(true).Fields(fileFields...).Context(ctx).Do()
	if err != nil {
		return File{}, c.classify(op, err)
	}
	return fileOf(f), nil
}

// FileUpdate is a change to a file. Nil and empty fields are left as they are.
type FileUpdate struct {
	Name *string
	// AppProperties are merged into the file's: listed keys are set, others kept.
	AppProperties map[string]string
	// AddParents and RemoveParents move the file; Drive files have a single parent, so a move
	// adds the new one and removes the old one in the same update.
	AddParents    []string
	RemoveParents []string
	// Content, when not nil, replaces the content: Drive keeps the file ID and makes a new
	// version. Size and MimeType then describe it as for NewFile.
	Content  io.Reader
	Size     int64
	MimeType string
}

func (u FileUpdate) empty() bool {
	return u.Name == nil && len(u.AppProperties) == 0 && len(u.AddParents) == 0 && len(u.RemoveParents) == 0 &&
		u.Content == nil
}

// UpdateFile applies u to file id and returns the file as Drive stored it. New content is sent
// and checked as in CreateFile and has the same error codes; a missing id is ErrNotFound
// (drivesync.Permanent); an empty update or a blank name is CodeInvalidArgument.
func (c *Client) UpdateFile(ctx context.Context, id string, u FileUpdate) (File, error) {
	op := "update file " + id
	switch {
	case id == "":
		return File{}, invalidArgument(op + ": empty id")
	case u.empty():
		return File{}, invalidArgument(op + ": nothing to change")
	case u.Name != nil && *u.Name == "":
		return File{}, invalidArgument(op + ": empty name")
	case u.Content != nil && (u.MimeType == "" || u.Size < 0):
		return File{}, invalidArgument(op + ": new content needs a mime type and a size >= 0")
	}
	meta := &drivev3.File{AppProperties: u.AppProperties}
	if u.Name != nil {
		meta.Name = *u.Name
	}
	call := c.svc.Files.Update(id, meta).SupportsAllDrives(true).Fields(fileFields...).Context(ctx)
	if len(u.AddParents) > 0 {
		call = call.AddParents(strings.Join(u.AddParents, ","))
	}
	if len(u.RemoveParents) > 0 {
		call = call.RemoveParents(strings.Join(u.RemoveParents, ","))
	}
	if u.Content == nil {
		f, err := call.Do()
		if err != nil {
			return File{}, c.classify(op, err)
		}
		return fileOf(f), nil
	}
	meta.MimeType = u.MimeType
	body := newContent(u.Content, u.Size)
	if k, v, ok := body.header(); ok {
		call.Header().Set(k, v)
	}
	f, err := call.Media(body, body.mediaOptions(u.MimeType)...).Do()
	if err != nil {
		return File{}, body.failed(c, op, err)
	}
	if err := body.verify(op, f); err != nil {
		return File{}, err
	}
	return fileOf(f), nil
}

// TrashFile moves file id to the trash, from where the customer can restore it for 30 days.
// Trashing a trashed file succeeds; a missing id is ErrNotFound (drivesync.Permanent).
func (c *Client) TrashFile(ctx context.Context, id string) error {
	op := "trash file " + id
	if id == "" {
		return invalidArgument(op + ": empty id")
	}
	_, err := c.svc.Files.Update(id, &drivev3.File{Trashed: true}).SupportsAllDrives(true).Fields("id").
		Context(ctx).Do()
	return c.classify(op, err)
}

// FindByAppProperty returns the files, oldest first, whose private app property key is value,
// under parentID when it is not empty, anywhere in the drive driveID otherwise (a shared drive,
// or My Drive when driveID is empty; parentID must be in that drive). Trashed files are included
// (File.Trashed says which): a rebuilt mapping must know the customer trashed a copy rather
// than believe there is none.
func (c *Client) FindByAppProperty(ctx context.Context, driveID, parentID, key, value string) ([]File, error) {
	op := fmt.Sprintf("find files with %s=%q", key, value)
	if key == "" {
		return nil, invalidArgument(op + ": empty key")
	}
	q := "appProperties has { key=" + quote(key) + " and value=" + quote(value) + " }"
	if parentID != "" {
		op += " under " + parentID
		q = quote(parentID) + " in parents and " + q
	}
	listFields := googleapi.Field("files(" + googleapi.CombineFields(fileFields) + ")")
	files := []File{}
	err := c.listAll(ctx, driveID, q, "createdTime", listFields, func(f *drivev3.File) { files = append(files, fileOf(f)) })
	if err != nil {
		return nil, c.classify(op, err)
	}
	return files, nil
}
