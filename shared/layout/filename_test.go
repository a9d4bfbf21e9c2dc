package layout

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/efactori/drivesync/shared/drivesync"
)

func TestFileName(t *testing.T) {
	t.Parallel()
	title300 := strings.Repeat("Facture détaillée ", 17)[:300] // 300 bytes, accents included
	tests := []struct {
		name string
		doc  drivesync.Document
		want string
	}{
		{"file name kept", drivesync.Document{FileName: "Facture F2024-001.pdf", ContentType: "application/pdf"},
			"Facture F2024-001.pdf"},
		{"extension case kept", drivesync.Document{FileName: "SCAN.PDF", ContentType: "application/pdf"}, "SCAN.PDF"},
		{"other accepted extension", drivesync.Document{FileName: "photo.jpeg", ContentType: "image/jpeg"}, "photo.jpeg"},
		{"extension added", drivesync.Document{FileName: "Facture 42", ContentType: "application/pdf"}, "Facture 42.pdf"},
		{"dotted number gets extension", drivesync.Document{FileName: "F2024.001", ContentType: "application/pdf; charset=binary"},
			"F2024.001.pdf"},
		{"unknown type left alone", drivesync.Document{FileName: "export", ContentType: "application/octet-stream"}, "export"},
		{"number fallback", drivesync.Document{Number: "F2024-001", ContentType: "application/pdf"}, "F2024-001.pdf"},
		{"ubl xml", drivesync.Document{Number: "F2024-001", ContentType: "application/xml"}, "F2024-001.xml"},
		{"blank file name falls back", drivesync.Document{FileName: " \t\n ", Number: "F7", ContentType: "application/pdf"}, "F7.pdf"},
		{"id fallback", drivesync.Document{ID: "doc-9", FileName: "\u202E", ContentType: "application/pdf"}, "doc-9.pdf"},
		{"never empty", drivesync.Document{FileName: "..", Number: " ", ContentType: "application/pdf"}, "document.pdf"},
		{"never empty unknown type", drivesync.Document{}, "document"},
		{"slashes", drivesync.Document{FileName: `2024/03\Facture.pdf`, ContentType: "application/pdf"}, "2024-03-Facture.pdf"},
		{"controls become spaces", drivesync.Document{FileName: "Facture\x00\n\r\t42\x7f.pdf", ContentType: "application/pdf"},
			"Facture 42 .pdf"},
		{"trimmed and collapsed", drivesync.Document{FileName: "  Facture   42 .pdf  ", ContentType: "application/pdf"},
			"Facture 42 .pdf"},
		{"bidi override dropped", drivesync.Document{FileName: "invoice\u202Efdp.exe", ContentType: "application/pdf"},
			"invoicefdp.exe.pdf"},
		{"accents and emoji kept", drivesync.Document{FileName: "Reçu café 🧾 👩‍💻 Ærø.pdf", ContentType: "application/pdf"},
			"Reçu café 🧾 👩‍💻 Ærø.pdf"},
		{"invalid utf-8 dropped", drivesync.Document{FileName: "Fact\xffure.pdf", ContentType: "application/pdf"}, "Facture.pdf"},
		{"300-byte title", drivesync.Document{FileName: title300, ContentType: "application/pdf"},
			strings.TrimRight(title300[:251], " ") + ".pdf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := FileName(tt.doc); got != tt.want {
				t.Errorf("FileName = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFileNameShortensOnRuneBoundaryKeepingExtension(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, fileName, ext string
	}{
		{"accents", strings.Repeat("é", 200) + ".pdf", ".pdf"},
		{"emoji", strings.Repeat("🧾", 100) + ".pdf", ".pdf"},
		{"emoji, offset by one", "x" + strings.Repeat("🧾", 100) + ".pdf", ".pdf"},
		{"extension added", strings.Repeat("ü", 300), ".pdf"},
		{"long suffix is not an extension", strings.Repeat("a", 250) + "." + strings.Repeat("b", 40), ".pdf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := FileName(drivesync.Document{FileName: tt.fileName, ContentType: "application/pdf"})
			if len(got) > MaxFileNameBytes || !utf8.ValidString(got) || !strings.HasSuffix(got, tt.ext) {
				t.Errorf("FileName = %q (%d bytes), want valid UTF-8 of at most %d bytes ending in %s",
					got, len(got), MaxFileNameBytes, tt.ext)
			}
			if len(got) < MaxFileNameBytes-4 {
				t.Errorf("FileName = %q is %d bytes, shortened more than a rune needs", got, len(got))
			}
		})
	}
}

// FuzzFileName checks FileName's promises for any input: a non-empty name of valid UTF-8, at
// most MaxFileNameBytes, with no control characters or path separators and no surrounding space.
func FuzzFileName(f *testing.F) {
	f.Add("Facture F2024-001.pdf", "F2024-001", "doc-1", "application/pdf")
	f.Add("", "", "", "")
	f.Add("\x00\xff/\\", "..", "\u202E", "image/jpeg")
	f.Add(strings.Repeat("🧾", 80)+".pdf", "", "", "application/pdf")
	f.Add(strings.Repeat("é ", 200), "n", "i", "text/plain; charset=utf-8")
	f.Fuzz(func(t *testing.T, fileName, number, id, contentType string) {
		got := FileName(drivesync.Document{FileName: fileName, Number: number, ID: id, ContentType: contentType})
		switch {
		case got == "":
			t.Fatal("empty name")
		case !utf8.ValidString(got):
			t.Fatalf("%q is not valid UTF-8", got)
		case len(got) > MaxFileNameBytes:
			t.Fatalf("%q is %d bytes", got, len(got))
		case strings.ContainsAny(got, `/\`):
			t.Fatalf("%q has a path separator", got)
		case strings.TrimSpace(got) != got:
			t.Fatalf("%q has surrounding space", got)
		case strings.Trim(got, ".") == "":
			t.Fatalf("%q is only dots", got)
		}
		for _, r := range got {
			if unicode.IsControl(r) || dropped(r) {
				t.Fatalf("%q contains %U", got, r)
			}
		}
		if again := FileName(drivesync.Document{FileName: got, ContentType: contentType}); again != got {
			t.Fatalf("FileName is not stable: %q, then %q", got, again)
		}
	})
}
