package tokencrypt

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoad(t *testing.T) {
	t.Parallel()
	ks, err := NewDevKeyset()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "keyset.json")
	if err := os.WriteFile(file, ks, 0o600); err != nil {
		t.Fatal(err)
	}
	reference, err := Open(ks, Options{AllowCleartext: true})
	if err != nil {
		t.Fatal(err)
	}
	ct, err := reference.Encrypt([]byte(refreshToken), []byte("conn-A"))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		src      Source
		wantErr  error  // checked with errors.Is when set
		wantText string // the error must mention it when set
	}{
		{name: "keyset value", src: Source{Keyset: ks, AllowCleartext: true}},
		{name: "keyset file", src: Source{KeysetFile: file, AllowCleartext: true}},
		{name: "cleartext not allowed", src: Source{Keyset: ks}, wantErr: ErrCleartextKeyset},
		{name: "both", src: Source{Keyset: ks, KeysetFile: file, AllowCleartext: true}, wantText: "both"},
		{name: "neither", src: Source{AllowCleartext: true}, wantText: "neither"},
		{name: "missing file", src: Source{KeysetFile: filepath.Join(t.TempDir(), "nope.json"), AllowCleartext: true}, wantErr: fs.ErrNotExist},
		// Refused before any client is made, so this needs no network or credentials.
		{name: "bad KEK URI", src: Source{Keyset: ks, KEKURI: "gcp-kms://projects/p/keyRings/r"}, wantText: "key URI"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(t.Context(), tc.src)
			if tc.wantErr == nil && tc.wantText == "" {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				// The same keyset, whichever way it came.
				pt, err := c.Decrypt(ct, []byte("conn-A"))
				if err != nil || string(pt) != refreshToken {
					t.Errorf("Decrypt = %q, %v; want the token", pt, err)
				}
				return
			}
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("Load error = %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("Load error = %q, want it to mention %q", err, tc.wantText)
			}
			if strings.Contains(err.Error(), string(ks)) {
				t.Error("error contains the keyset")
			}
		})
	}
}
