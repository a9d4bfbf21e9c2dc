package drive

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"

	drivev3 "google.golang.org/api/drive/v3"
	"google.golang.org/api/googleapi"

	"github.com/efactori/drivesync/shared/drivesync"
)

// Upload sizes. Drive recommends a single multipart request up to 5 MB and a resumable session
// above, which survives a dropped connection by resending one chunk rather than the whole file.
const (
	// MultipartMaxSize is the largest content sent in one multipart request.
	MultipartMaxSize = 5 << 20
	// UploadChunkSize is the chunk of a resumable upload: what the client library holds in
	// memory, and what it resends after a failure. Drive needs a multiple of 256 KiB.
	UploadChunkSize = 8 << 20
)

// Codes of upload failures found by checking what Drive stored against what was sent.
const (
	// CodeChecksumMismatch: Drive's md5Checksum or size differs from the bytes sent. The file
	// may exist with the wrong content; it is drivesync.Retryable because a retry (as an update,
	// the create having used the ID) sends the content again.
	CodeChecksumMismatch = "checksum_mismatch"
	// CodeSizeMismatch: the content reader gave a different number of bytes than the declared
	// size, e.g. a download cut short without an error. Retryable: a new download may be whole.
	CodeSizeMismatch = "size_mismatch"
	// CodeContentRead: reading the content failed (not Drive). Retryable unless the reader's
	// error was already classified, in which case it keeps its class and code.
	CodeContentRead = "content_read"
)

// content wraps the reader of an upload: it hashes and counts the bytes the client library pulls
// out of it, which are exactly the bytes sent (the library reads each byte once and resends
// retried chunks from its own buffer), and remembers how the reader ended.
type content struct {
	r    io.Reader
	md5  hash.Hash
	n    int64
	eof  bool
	err  error
	size int64 // declared
}

func newContent(r io.Reader, size int64) *content {
	return &content{r: r, md5: md5.New(), size: size}
}

func (c *content) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.md5.Write(p[:n])
	c.n += int64(n)
	switch {
	case err == io.EOF:
		c.eof = true
	case err != nil && c.err == nil:
		c.err = err
	}
	return n, err
}

// resumable reports whether the content goes in a resumable session.
func (c *content) resumable() bool { return c.size > MultipartMaxSize }

// mediaOptions choose the upload type through the library's chunk size. The library reads one
// chunk before deciding: content that ends inside the first chunk goes multipart, anything
// longer resumable. So a multipart upload gets a chunk just over its size (the library's buffer
// is then no bigger than the file), and a resumable one UploadChunkSize, or less when the file
// would otherwise fit in a single chunk and silently go multipart.
func (c *content) mediaOptions(mimeType string) []googleapi.MediaOption {
	chunk := int64(UploadChunkSize)
	switch {
	case !c.resumable():
		chunk = c.size + 1 // rounded up to 256 KiB by the library
	case c.size <= UploadChunkSize:
		chunk = (c.size - 1) / googleapi.MinUploadChunkSize * googleapi.MinUploadChunkSize
	}
	return []googleapi.MediaOption{googleapi.ContentType(mimeType), googleapi.ChunkSize(int(chunk))}
}

// header returns the headers to set on the initiating request. Declaring the size of a resumable
// upload lets Drive refuse it for quota before any byte is sent.
func (c *content) header() (key, value string, ok bool) {
	if !c.resumable() {
		return "", "", false
	}
	return "X-Upload-Content-Length", strconv.FormatInt(c.size, 10), true
}

// sum is the hex MD5 of what was read.
func (c *content) sum() string { return hex.EncodeToString(c.md5.Sum(nil)) }

// failed turns the error of an upload call into a classified one. A failing reader is reported
// as such, not as the Drive error it caused; so is a reader that ended at a size other than the
// declared one, which Drive may have refused for that reason.
func (c *content) failed(cl *Client, op string, err error) error {
	if errors.Is(c.err, context.Canceled) || errors.Is(c.err, context.DeadlineExceeded) {
		// The caller gave up while the content was being read: say so, as for any call.
		return cl.classify(op, fmt.Errorf("read content: %w", c.err))
	}
	if e := c.readProblem(op); e != nil {
		return e
	}
	return cl.classify(op, err)
}

func (c *content) readProblem(op string) error {
	if c.err != nil {
		err := fmt.Errorf("%s: read content: %w", op, c.err)
		var ce *drivesync.ClassifiedError
		if errors.As(c.err, &ce) {
			return err
		}
		return drivesync.Classify(err, drivesync.Retryable, CodeContentRead)
	}
	if c.eof && c.n != c.size {
		return drivesync.Classify(fmt.Errorf("%s: content is %d bytes, %d were declared", op, c.n, c.size),
			drivesync.Retryable, CodeSizeMismatch)
	}
	return nil
}

// verify checks what Drive says it stored against what was sent. Only after it passes may the
// caller record the upload as done.
func (c *content) verify(op string, f *drivev3.File) error {
	if e := c.readProblem(op); e != nil {
		return e
	}
	if sum := c.sum(); f.Md5Checksum != sum || f.Size != c.n {
		return drivesync.Classify(fmt.Errorf("%s: drive stored %d bytes with md5 %q, sent %d bytes with md5 %s",
			op, f.Size, f.Md5Checksum, c.n, sum), drivesync.Retryable, CodeChecksumMismatch)
	}
	return nil
}

// NewFile describes a file to create with its content.
type NewFile struct {
	// ID must come from GenerateIDs, which makes the create idempotent: a repeat after a lost
	// answer fails with ErrAlreadyExists instead of making a second file.
	ID       string
	ParentID string
	Name     string
	MimeType string
	// AppProperties are private to drivesync's OAuth client (see layout.AppProperties).
	AppProperties map[string]string
	// Size is the content length in bytes, which picks the upload type; the content must have
	// exactly this many bytes.
	Size int64
	// Content is read once, as a stream; memory does not grow with the size.
	Content io.Reader
}

// CreateFile creates f with its content under f.ParentID (My Drive or a shared drive) and
// returns what Drive stored, after checking Drive's MD5 and size against the bytes sent.
//
// Content up to MultipartMaxSize goes in one multipart request; larger content in a resumable
// session of UploadChunkSize chunks, where the client library resends a chunk after a dropped
// connection, a 5xx or a 429 (until the chunk has failed for 32 s or ctx ends).
//
// Errors: ErrAlreadyExists (drivesync.Permanent, "fileIdInUse") when f.ID is already a file,
// whose caller goes on with UpdateFile; CodeChecksumMismatch, CodeSizeMismatch and
// CodeContentRead (see their comments); CodeInvalidArgument for a bad NewFile; otherwise
// classified as for any call (storageQuotaExceeded is drivesync.NeedsCustomer).
func (c *Client) CreateFile(ctx context.Context, f NewFile) (File, error) {
	op := fmt.Sprintf("create file %s under %s", f.ID, f.ParentID)
	if f.ID == "" || f.ParentID == "" || f.Name == "" || f.MimeType == "" || f.Content == nil || f.Size < 0 {
		return File{}, invalidArgument(op + ": need an id, a parent, a name, a mime type, content and a size >= 0")
	}
	body := newContent(f.Content, f.Size)
	call := c.svc.Files.Create(&drivev3.File{
		Id:            f.ID,
		Name:          f.Name,
		MimeType:      f.MimeType,
		Parents:       []string{f.ParentID},
		AppProperties: f.AppProperties,
	}).SupportsAllDrives(true).Fields(fileFields...).Context(ctx)
	if k, v, ok := body.header(); ok {
		call.Header().Set(k, v)
	}
	created, err := call.Media(body, body.mediaOptions(f.MimeType)...).Do()
	if err != nil {
		return File{}, body.failed(c, op, err)
	}
	if err := body.verify(op, created); err != nil {
		return File{}, err
	}
	return fileOf(created), nil
}
