package api

import (
	"time"

	"github.com/efactori/drivesync/shared/connection"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/store"
)

// The JSON shapes of the API, as docs/api/openapi.yaml describes them. Times are RFC 3339 in
// UTC; a time that has not happened yet is null, as is an absent target or error, so every key
// is always present and clients need no "in" checks.

type integrationJSON struct {
	Enabled         bool `json:"enabled"`
	ConnectionCount int  `json:"connectionCount"`
}

func integrationOf(in store.Integration) integrationJSON {
	return integrationJSON{Enabled: in.Enabled, ConnectionCount: in.ConnectionCount}
}

type targetJSON struct {
	FolderID string   `json:"folderId"`
	DriveID  *string  `json:"driveId"`
	Path     []string `json:"path"`
}

type initialCopyJSON struct {
	State      string     `json:"state"`
	Listed     int        `json:"listed"`
	Synced     int        `json:"synced"`
	Failed     int        `json:"failed"`
	StartedAt  *time.Time `json:"startedAt"`
	FinishedAt *time.Time `json:"finishedAt"`
}

type lastErrorJSON struct {
	Code    string     `json:"code"`
	Message string     `json:"message"`
	At      *time.Time `json:"at"`
}

type connectionJSON struct {
	ID                 string          `json:"id"`
	Name               string          `json:"name"`
	FolderLayout       string          `json:"folderLayout"`
	Locale             string          `json:"locale"`
	OnDelete           string          `json:"onDelete"`
	Status             string          `json:"status"`
	GoogleAccountEmail *string         `json:"googleAccountEmail"`
	Target             *targetJSON     `json:"target"`
	InitialCopy        initialCopyJSON `json:"initialCopy"`
	LastSyncAt         *time.Time      `json:"lastSyncAt"`
	LastError          *lastErrorJSON  `json:"lastError"`
	CreatedAt          *time.Time      `json:"createdAt"`
	UpdatedAt          *time.Time      `json:"updatedAt"`
}

// copyStateNone names the zero drivesync.CopyState on the wire.
const copyStateNone = "none"

func timeOf(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func stringOf(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func connectionOf(c drivesync.Connection) connectionJSON {
	out := connectionJSON{
		ID:                 c.ID,
		Name:               c.Name,
		FolderLayout:       string(c.FolderLayout),
		Locale:             string(c.Locale),
		OnDelete:           string(c.OnDelete),
		Status:             string(c.Status),
		GoogleAccountEmail: stringOf(c.GoogleAccountEmail),
		InitialCopy: initialCopyJSON{
			State:      string(c.InitialCopy.State),
			Listed:     c.InitialCopy.Listed,
			Synced:     c.InitialCopy.Synced,
			Failed:     c.InitialCopy.Failed,
			StartedAt:  timeOf(c.InitialCopy.StartedAt),
			FinishedAt: timeOf(c.InitialCopy.FinishedAt),
		},
		LastSyncAt: timeOf(c.LastSyncAt),
		CreatedAt:  timeOf(c.CreatedAt),
		UpdatedAt:  timeOf(c.UpdatedAt),
	}
	if out.InitialCopy.State == "" {
		out.InitialCopy.State = copyStateNone
	}
	if c.Target.FolderID != "" {
		path := c.Target.Path
		if path == nil {
			path = []string{}
		}
		out.Target = &targetJSON{FolderID: c.Target.FolderID, DriveID: stringOf(c.Target.DriveID), Path: path}
	}
	if c.LastError != nil {
		out.LastError = &lastErrorJSON{Code: c.LastError.Code, Message: c.LastError.Message, At: timeOf(c.LastError.At)}
	}
	return out
}

type connectionsJSON struct {
	Connections []connectionJSON `json:"connections"`
}

type createdJSON struct {
	Connection       connectionJSON `json:"connection"`
	AuthorizationURL string         `json:"authorizationUrl"`
}

type authorizationJSON struct {
	AuthorizationURL string `json:"authorizationUrl"`
}

type folderJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type currentFolderJSON struct {
	ID   string       `json:"id"`
	Name string       `json:"name"`
	Path []folderJSON `json:"path"`
}

type folderListingJSON struct {
	Folder        currentFolderJSON `json:"folder"`
	Folders       []folderJSON      `json:"folders"`
	NextPageToken *string           `json:"nextPageToken"`
}

func foldersOf(fs []connection.Folder) []folderJSON {
	out := make([]folderJSON, 0, len(fs))
	for _, f := range fs {
		out = append(out, folderJSON{ID: f.ID, Name: f.Name})
	}
	return out
}

func folderListingOf(l connection.FolderListing) folderListingJSON {
	return folderListingJSON{
		Folder:        currentFolderJSON{ID: l.Folder.ID, Name: l.Folder.Name, Path: foldersOf(l.Path)},
		Folders:       foldersOf(l.Children),
		NextPageToken: stringOf(l.NextPageToken),
	}
}
