package layout

import (
	"mime"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/efactori/drivesync/shared/drivesync"
)

// MaxFileNameBytes caps file names. Drive itself takes much longer names, but the desktop sync
// clients customers use write them to file systems that stop at 255 bytes.
const MaxFileNameBytes = 255

// maxExtensionBytes is the longest suffix (dot included) FileName keeps whole when it shortens a
// name; anything longer is not an extension worth protecting.
const maxExtensionBytes = 16

// fallbackName is used when a document has nothing usable to name it by.
const fallbackName = "document"

// extensions are the file extensions of the content types eFactori produces, canonical first.
// A fixed table rather than mime.ExtensionsByType, whose answers depend on the machine's
// /etc/mime.types and would make names differ between instances.
var extensions = map[string][]string{
	"application/pdf":          {".pdf"},
	"application/xml":          {".xml"},
	"text/xml":                 {".xml"},
	"application/json":         {".json"},
	"text/plain":               {".txt"},
	"text/csv":                 {".csv"},
	"text/html":                {".html", ".htm"},
	"image/jpeg":               {".jpg", ".jpeg"},
	"image/png":                {".png"},
	"image/gif":                {".gif"},
	"image/tiff":               {".tiff", ".tif"},
	"image/webp":               {".webp"},
	"application/zip":          {".zip"},
	"application/msword":       {".doc"},
	"application/vnd.ms-excel": {".xls"},
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document": {".docx"},
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":       {".xlsx"},
	"application/vnd.oasis.opendocument.text":                                 {".odt"},
	"application/vnd.oasis.opendocument.spreadsheet":                          {".ods"},
}

// extensionsOf returns the extensions of a content type (parameters ignored), or nil when it is
// not one drivesync knows.
func extensionsOf(contentType string) []string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil
	}
	return extensions[mt]
}

// FileName returns the name doc gets in Drive. It is doc.FileName, or else doc.Number, or else
// doc.ID, cleaned up for the sync clients that mirror Drive onto disks:
//
//   - invalid UTF-8 is dropped; control characters and line separators become spaces, runs of
//     white space become one space, and leading and trailing white space is trimmed;
//   - bidirectional overrides and byte-order marks are dropped, since they can make
//     "invoice\u202Efdp.exe" display as "invoiceexe.pdf";
//   - '/' and '\' become '-' (Drive accepts them, but sync clients turn them into folders or
//     refuse the file);
//   - accents, emoji and every other printable character are kept;
//   - the extension of the content type is appended when the name does not already end in one
//     (so "Facture 42" of application/pdf becomes "Facture 42.pdf");
//   - a name longer than MaxFileNameBytes is shortened before its extension, on a character
//     boundary.
//
// The result is never empty: with nothing usable it is "document" plus the extension.
func FileName(doc drivesync.Document) string {
	exts := extensionsOf(doc.ContentType)
	for _, candidate := range []string{doc.FileName, doc.Number, doc.ID} {
		if name := clean(candidate); name != "" {
			return fit(withExtension(name, exts))
		}
	}
	return fit(withExtension(fallbackName, exts))
}

// withExtension appends the canonical extension of exts unless name ends in one of them.
func withExtension(name string, exts []string) string {
	if len(exts) == 0 {
		return name
	}
	lower := strings.ToLower(name)
	for _, e := range exts {
		if strings.HasSuffix(lower, e) && len(lower) > len(e) {
			return name
		}
	}
	return name + exts[0]
}

// dropped are format characters that only serve to disguise a name: bidirectional embeddings,
// overrides, isolates and marks, and the byte-order mark. Other format characters stay, notably
// the zero-width joiner that holds emoji sequences together.
func dropped(r rune) bool {
	switch {
	case r >= '\u202A' && r <= '\u202E', r >= '\u2066' && r <= '\u2069':
		return true
	}
	switch r {
	case '\u200E', '\u200F', '\u061C', '\uFEFF':
		return true
	}
	return false
}

// clean applies FileName's character rules to s; it returns "" when nothing usable is left.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "")
	var b strings.Builder
	b.Grow(len(s))
	space := false // the last rune written was a space
	for _, r := range s {
		switch {
		case dropped(r):
			continue
		case r == '/' || r == '\\':
			r = '-'
		case unicode.IsControl(r) || unicode.IsSpace(r) || r == '\u2028' || r == '\u2029':
			r = ' '
		}
		if r == ' ' {
			if space || b.Len() == 0 {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteRune(r)
	}
	out := strings.TrimRight(b.String(), " ")
	// "." and ".." are not names a file system will take.
	if strings.Trim(out, ".") == "" {
		return ""
	}
	return out
}

// fit shortens name to MaxFileNameBytes, cutting the part before its extension on a rune
// boundary so the extension survives.
func fit(name string) string {
	if len(name) <= MaxFileNameBytes {
		return name
	}
	ext := ""
	if i := strings.LastIndexByte(name, '.'); i > 0 && len(name)-i <= maxExtensionBytes && !strings.ContainsRune(name[i:], ' ') {
		ext = name[i:]
	}
	stem := name[:len(name)-len(ext)]
	limit := MaxFileNameBytes - len(ext)
	for limit > 0 && !utf8.RuneStart(stem[limit]) {
		limit--
	}
	stem = strings.TrimRight(stem[:limit], " ")
	if stem == "" {
		stem = fallbackName
	}
	return stem + ext
}
