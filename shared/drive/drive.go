// Package drive is drivesync's adapter over the Google Drive v3 API: it reads a customer's
// account, lists and creates the folders drivesync writes into, checks that a chosen target
// folder can take files, and creates, updates, finds and trashes the document files. Every
// error it returns is classified (see drivesync.ClassifiedError), so callers decide on retries
// and customer notices from the class alone.
//
// The package is named for what it provides; it imports Google's generated client as drivev3 so
// the two do not collide.
//
// Document files are created with IDs from GenerateIDs, so a repeated create is refused
// (ErrAlreadyExists) instead of duplicating the file, and their content is streamed and checked
// against the MD5 Drive computes (CreateFile, UpdateFile).
package drive

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	drivev3 "google.golang.org/api/drive/v3"
	"google.golang.org/api/option"

	"github.com/efactori/drivesync/shared/drivesync"
)

// FolderMimeType is the MIME type Drive gives folders.
const FolderMimeType = "application/vnd.google-apps.folder"

// Options configure a Client.
type Options struct {
	// Endpoint overrides Drive's base URL, e.g. googleemu's DriveEndpoint(); empty means Google.
	Endpoint string
	// UserAgent is appended to the client library's User-Agent.
	UserAgent string
	// Now is the clock used to turn an HTTP-date Retry-After into a duration; nil means time.Now.
	Now func() time.Time
}

// Client calls Drive for one connection (one customer's grant). Build one per connection and
// reuse it; it is safe for concurrent use.
type Client struct {
	svc *drivev3.Service
	now func() time.Time
}

// New returns a Client that sends its requests through httpClient, which must already carry the
// connection's OAuth token source (oauth2.NewClient). Errors of the token source reach callers
// through the Drive call that needed the token; errors it already classified keep their class.
func New(ctx context.Context, httpClient *http.Client, opts Options) (*Client, error) {
	if httpClient == nil {
		return nil, errors.New("new drive client: nil http client")
	}
	clientOpts := []option.ClientOption{option.WithHTTPClient(httpClient)}
	if opts.Endpoint != "" {
		clientOpts = append(clientOpts, option.WithEndpoint(opts.Endpoint))
	}
	svc, err := drivev3.NewService(ctx, clientOpts...)
	if err != nil {
		return nil, fmt.Errorf("new drive client: %w", err)
	}
	// option.WithUserAgent is only applied when the library builds the transport itself, which
	// it does not when given an *http.Client.
	svc.UserAgent = opts.UserAgent
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Client{svc: svc, now: now}, nil
}

// Account is the Google account behind a connection.
type Account struct {
	Email       string
	DisplayName string
	// QuotaLimit is the storage limit in bytes; 0 means unlimited (Drive then omits it).
	QuotaLimit int64
	// QuotaUsage is the bytes used across all Google services.
	QuotaUsage int64
}

// About returns the connected account and its storage quota.
func (c *Client) About(ctx context.Context) (Account, error) {
	a, err := c.svc.About.Get().Fields("user(emailAddress,displayName)", "storageQuota(limit,usage)").
		Context(ctx).Do()
	if err != nil {
		return Account{}, c.classify("get about", err)
	}
	acct := Account{}
	if a.User != nil {
		acct.Email, acct.DisplayName = a.User.EmailAddress, a.User.DisplayName
	}
	if a.StorageQuota != nil {
		acct.QuotaLimit, acct.QuotaUsage = a.StorageQuota.Limit, a.StorageQuota.Usage
	}
	return acct, nil
}

// SharedDrive is a shared drive the account is a member of. Its ID is also the ID of its root
// folder.
type SharedDrive struct {
	ID   string
	Name string
}

// DrivesPage is one page of shared drives.
type DrivesPage struct {
	Drives        []SharedDrive
	NextPageToken string // empty on the last page
}

// drivesPageSize is Drive's maximum for drives.list; few accounts have more.
const drivesPageSize = 100

// SharedDrives lists the shared drives the account belongs to, a page at a time; pass the
// previous page's NextPageToken, or "" for the first page.
func (c *Client) SharedDrives(ctx context.Context, pageToken string) (DrivesPage, error) {
	call := c.svc.Drives.List().PageSize(drivesPageSize).Fields("nextPageToken", "drives(id,name)")
	if pageToken != "" {
		call = call.PageToken(pageToken)
	}
	l, err := call.Context(ctx).Do()
	if err != nil {
		return DrivesPage{}, c.classify("list shared drives", err)
	}
	p := DrivesPage{NextPageToken: l.NextPageToken, Drives: make([]SharedDrive, 0, len(l.Drives))}
	for _, d := range l.Drives {
		p.Drives = append(p.Drives, SharedDrive{ID: d.Id, Name: d.Name})
	}
	return p, nil
}

// maxGenerateIDs is Drive's limit on files.generateIds count.
const maxGenerateIDs = 1000

// GenerateIDs reserves n file IDs (1 ≤ n ≤ 1000) usable for files created in the drive space.
// Creating with a reserved ID makes a retried create safe: a second attempt gets 409 instead of
// a duplicate file.
func (c *Client) GenerateIDs(ctx context.Context, n int) ([]string, error) {
	if n < 1 || n > maxGenerateIDs {
		return nil, invalidArgument(fmt.Sprintf("generate ids: count %d outside 1..%d", n, maxGenerateIDs))
	}
	g, err := c.svc.Files.GenerateIds().Count(int64(n)).Space("drive").Type("files").
		Fields("ids").Context(ctx).Do()
	if err != nil {
		return nil, c.classify("generate ids", err)
	}
	if len(g.Ids) != n {
		return nil, drivesync.Classify(fmt.Errorf("generate ids: drive returned %d ids, want %d", len(g.Ids), n),
			drivesync.Retryable, CodeBadResponse)
	}
	return g.Ids, nil
}
