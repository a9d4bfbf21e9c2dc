package efactori

import (
	"crypto/sha256"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/efactori/drivesync/shared/drivesync"
)

// The end-to-end tests cover the reader over HTTP; these cover the endings HTTP hides, such as a
// body longer than announced.
func TestVerifyingReader(t *testing.T) {
	t.Parallel()
	const content = "%PDF-1.4 facture été"
	sum := sha256.Sum256([]byte(content))
	tests := []struct {
		name     string
		body     string
		size     int64
		wantCode string // empty: the read must end with io.EOF
	}{
		{name: "exact", body: content, size: int64(len(content))},
		{name: "short", body: content[:5], size: int64(len(content)), wantCode: CodeSizeMismatch},
		{name: "long", body: content + "!", size: int64(len(content)), wantCode: CodeSizeMismatch},
		{name: "other bytes", body: strings.ToUpper(content), size: int64(len(content)), wantCode: CodeChecksumMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newVerifyingReader("test", io.NopCloser(iotestOneByte{strings.NewReader(tt.body)}), tt.size, sum)
			got, err := io.ReadAll(r)
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("ReadAll: %v", err)
				}
				if string(got) != content {
					t.Errorf("read %q, want %q", got, content)
				}
				return
			}
			var ce *drivesync.ClassifiedError
			if !errors.As(err, &ce) || ce.Code != tt.wantCode || ce.Class != drivesync.Retryable {
				t.Fatalf("ReadAll error = %v, want retryable %s", err, tt.wantCode)
			}
			if int64(len(got)) > tt.size {
				t.Errorf("passed on %d bytes, more than the announced %d", len(got), tt.size)
			}
			// The failure is sticky: a consumer that retries the read must not see EOF.
			if _, again := r.Read(make([]byte, 8)); !errors.Is(again, err) {
				t.Errorf("second Read error = %v, want %v", again, err)
			}
		})
	}
}

// iotestOneByte reads one byte at a time, so every ending is reached through many reads.
type iotestOneByte struct{ r io.Reader }

func (o iotestOneByte) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}
