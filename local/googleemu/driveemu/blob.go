package driveemu

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
)

// blobSegment is how much a blob reads from a stream at a time. Keeping content as a list of
// segments lets uploads grow without ever copying what already arrived.
const blobSegment = 1 << 20

// blob is file content held as segments. A committed blob is never changed, so it can be read
// without holding the emulator's lock.
type blob struct {
	segs [][]byte
	n    int64
}

func (b *blob) size() int64 {
	if b == nil {
		return 0
	}
	return b.n
}

func (b *blob) append(p []byte) {
	if len(p) == 0 {
		return
	}
	b.segs = append(b.segs, p)
	b.n += int64(len(p))
}

// truncate drops everything after the first n bytes.
func (b *blob) truncate(n int64) {
	if n >= b.n {
		return
	}
	var kept int64
	for i, s := range b.segs {
		if kept+int64(len(s)) >= n {
			b.segs[i] = s[:n-kept]
			b.segs = b.segs[:i+1]
			if n-kept == 0 {
				b.segs = b.segs[:i]
			}
			b.n = n
			return
		}
		kept += int64(len(s))
	}
}

// ReadAt implements io.ReaderAt.
func (b *blob) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("blob: negative offset")
	}
	if off >= b.size() {
		return 0, io.EOF
	}
	n := 0
	var pos int64
	for _, s := range b.segs {
		end := pos + int64(len(s))
		if off < end && n < len(p) {
			start := max(off+int64(n)-pos, 0)
			if start < int64(len(s)) {
				n += copy(p[n:], s[start:])
			}
		}
		pos = end
		if n == len(p) {
			return n, nil
		}
	}
	return n, io.EOF
}

func (b *blob) reader() *io.SectionReader { return io.NewSectionReader(b, 0, b.size()) }

func (b *blob) md5() string {
	h := md5.New()
	if b != nil {
		for _, s := range b.segs {
			h.Write(s)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// bytes returns the content as one slice; for tests and small files only.
func (b *blob) bytes() []byte {
	out := make([]byte, 0, b.size())
	if b != nil {
		for _, s := range b.segs {
			out = append(out, s...)
		}
	}
	return out
}

// readBlob reads r to its end, failing once more than limit bytes arrived (limit < 0: none).
// Only a clean io.EOF ends the content: a body cut short must not become a short file.
func readBlob(r io.Reader, limit int64) (*blob, error) {
	b := &blob{}
	for {
		seg := make([]byte, blobSegment)
		n := 0
		var err error
		for n < len(seg) && err == nil {
			var m int
			m, err = r.Read(seg[n:])
			n += m
		}
		if n < len(seg) {
			// Do not pin a whole segment for a small tail.
			seg = append([]byte(nil), seg[:n]...)
		}
		b.append(seg[:n:n])
		if limit >= 0 && b.n > limit {
			return nil, errTooLarge
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

var errTooLarge = errors.New("content larger than allowed")
