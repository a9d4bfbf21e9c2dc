package efactori

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/efactori/drivesync/shared/drivesync"
)

// verifyingReader streams a content body and checks, when the body ends, that it had exactly the
// announced length and SHA-256. Checking at the end, rather than buffering first, keeps memory
// constant for files of up to 5 GiB; the consumer (a Drive upload) sees the error instead of EOF
// and so never finishes an upload of bad bytes.
type verifyingReader struct {
	op   string
	body io.ReadCloser
	want [sha256.Size]byte
	size int64
	read int64
	h    hash.Hash
	err  error // sticky: once the stream has ended or failed, every Read returns it
}

func newVerifyingReader(op string, body io.ReadCloser, size int64, want [sha256.Size]byte) *verifyingReader {
	return &verifyingReader{op: op, body: body, want: want, size: size, h: sha256.New()}
}

func (r *verifyingReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.body.Read(p)
	r.h.Write(p[:n]) // hash.Hash.Write never fails
	r.read += int64(n)
	switch {
	case r.read > r.size:
		// net/http stops at Content-Length, which was checked to equal size, so this is only
		// reachable if a transport ignores it; never pass on more than was announced.
		r.err = drivesync.Classify(fmt.Errorf("%s: content is longer than the announced %d bytes", r.op, r.size),
			drivesync.Retryable, CodeSizeMismatch)
		return 0, r.err
	case errors.Is(err, io.EOF):
		r.err = r.verify()
		return n, r.err
	case err != nil:
		r.err = classifyTransport(r.op+": read content", err)
		return n, r.err
	}
	return n, nil
}

// verify runs at the end of the body: io.EOF when the content is the announced one.
func (r *verifyingReader) verify() error {
	if r.read != r.size {
		return drivesync.Classify(fmt.Errorf("%s: content ended after %d of %d bytes", r.op, r.read, r.size),
			drivesync.Retryable, CodeSizeMismatch)
	}
	var got [sha256.Size]byte
	r.h.Sum(got[:0])
	if got != r.want {
		// The announced digest matched the document's, so eFactori sent other bytes than it
		// hashed, or they changed on the way; a new attempt may get the right ones.
		return drivesync.Classify(fmt.Errorf("%s: content sha256 is %s, eFactori announced %s",
			r.op, hex.EncodeToString(got[:]), hex.EncodeToString(r.want[:])), drivesync.Retryable, CodeChecksumMismatch)
	}
	return io.EOF
}

func (r *verifyingReader) Close() error { return r.body.Close() }

// parseSHA256 reads a lowercase hex SHA-256, as documents carry it.
func parseSHA256(s string) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != sha256.Size || hex.EncodeToString(b) != s {
		return sum, errors.New("not 64 lowercase hexadecimal characters")
	}
	copy(sum[:], b)
	return sum, nil
}
