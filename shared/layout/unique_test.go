package layout

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/efactori/drivesync/shared/drivesync"
)

func TestFileNames(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 200) // 400 bytes
	tests := []struct {
		name string
		doc  drivesync.Document
		want []string
	}{
		{"number then hashes", drivesync.Document{ID: "d1", Number: "F-2026-0002", FileName: "Facture.pdf", ContentType: "application/pdf"},
			[]string{"Facture.pdf", "Facture (F-2026-0002).pdf", "Facture (8b53639f).pdf", "Facture (8b53639f152c8fc6).pdf"}},
		{"number that is the name is skipped", drivesync.Document{ID: "d1", Number: "F-7", ContentType: "application/pdf"},
			[]string{"F-7.pdf", "F-7 (8b53639f).pdf", "F-7 (8b53639f152c8fc6).pdf"}},
		{"number cleaned", drivesync.Document{ID: "d1", Number: "2024/001", FileName: "Facture.pdf", ContentType: "application/pdf"},
			[]string{"Facture.pdf", "Facture (2024-001).pdf", "Facture (8b53639f).pdf", "Facture (8b53639f152c8fc6).pdf"}},
		{"no extension", drivesync.Document{ID: "d1", Number: "N1", FileName: "export", ContentType: "application/octet-stream"},
			[]string{"export", "export (N1)", "export (8b53639f)", "export (8b53639f152c8fc6)"}},
		{"too long a number", drivesync.Document{ID: "d1", Number: strings.Repeat("9", 65), FileName: "A.pdf", ContentType: "application/pdf"},
			[]string{"A.pdf", "A (8b53639f).pdf", "A (8b53639f152c8fc6).pdf"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, FileNames(tt.doc)); diff != "" {
				t.Errorf("FileNames (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("long name keeps suffix and extension", func(t *testing.T) {
		t.Parallel()
		for _, n := range FileNames(drivesync.Document{ID: "d1", Number: "F-1", FileName: long, ContentType: "application/pdf"}) {
			if len(n) > MaxFileNameBytes || !strings.HasSuffix(n, ".pdf") || !strings.HasPrefix(n, "éé") {
				t.Errorf("name %q (%d bytes) does not fit or lost its extension", n, len(n))
			}
		}
		if got := FileNames(drivesync.Document{ID: "d1", Number: "F-1", FileName: long, ContentType: "application/pdf"})[1]; !strings.HasSuffix(got, " (F-1).pdf") {
			t.Errorf("second name %q lost its suffix", got)
		}
	})
}

func TestNameKeyIgnoresCase(t *testing.T) {
	t.Parallel()
	if NameKey("y:2026", "Facture.pdf") != NameKey("y:2026", "FACTURE.PDF") {
		t.Error("names differing in case have different keys")
	}
	if NameKey("y:2026", "Facture.pdf") == NameKey("y:2025", "Facture.pdf") {
		t.Error("one name in two folders has one key")
	}
	if NameKey("y:2026", "a.pdf") == NameKey("y:2026", "b.pdf") {
		t.Error("two names have one key")
	}
}
