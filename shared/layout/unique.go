package layout

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode/utf8"

	"github.com/efactori/drivesync/shared/drivesync"
)

// Two documents of one folder may have the same FileName ("Facture.pdf" twice). Drive allows
// that, but a zip download, a search or a sync client's disk shows two identical names, and
// Windows, which ignores case, loses one of them. So each document gets a name of its own in
// its folder: the first to claim FileName keeps it, a later one gets the first free of
// FileNames' alternatives. Which document holds which name is recorded (package store's name
// claims), so a name stays put while the document's FileName and folder do not change.

// maxNumberSuffixBytes bounds a document number used as a suffix; a longer one would eat the
// name itself, and the hash suffix does the job.
const maxNumberSuffixBytes = 64

// FileNames returns the names doc may take in its folder, in order of preference, none equal to
// another under FoldName: FileName(doc); the same with the document number before the
// extension ("Facture (F-2026-0002).pdf"), unless the number is empty, too long or already the
// whole name; then with 8 and with 16 hex digits of the SHA-256 of the document ID, for when the
// number collides too. Every name keeps the extension last and fits MaxFileNameBytes.
func FileNames(doc drivesync.Document) []string {
	base := FileName(doc)
	stem, ext := splitExtension(base)
	var suffixes []string
	if n := clean(doc.Number); n != "" && len(n) <= maxNumberSuffixBytes && FoldName(n) != FoldName(stem) {
		suffixes = append(suffixes, n)
	}
	sum := sha256.Sum256([]byte(doc.ID))
	h := hex.EncodeToString(sum[:])
	suffixes = append(suffixes, h[:8], h[:16])
	out := []string{base}
	seen := map[string]bool{FoldName(base): true}
	for _, s := range suffixes {
		name := withSuffix(stem, " ("+s+")", ext)
		if f := FoldName(name); !seen[f] {
			seen[f] = true
			out = append(out, name)
		}
	}
	return out
}

// FoldName returns the form of a file name two names are compared in: Windows' file systems,
// where zips are extracted and sync clients write, ignore case, so "Facture.pdf" and
// "FACTURE.PDF" collide there.
func FoldName(name string) string { return strings.ToLower(name) }

// NameKey identifies name in the layout folder folderKey (a Folder.Key): two names with the same
// key collide. It is a hex SHA-256, fit for a Firestore document ID whatever the name holds.
func NameKey(folderKey, name string) string {
	sum := sha256.Sum256([]byte(folderKey + "\x00" + FoldName(name)))
	return hex.EncodeToString(sum[:])
}

// splitExtension splits name before the extension fit protects ("" when it has none).
func splitExtension(name string) (stem, ext string) {
	if i := strings.LastIndexByte(name, '.'); i > 0 && len(name)-i <= maxExtensionBytes && !strings.ContainsRune(name[i:], ' ') {
		return name[:i], name[i:]
	}
	return name, ""
}

// withSuffix returns stem+suffix+ext, the stem shortened on a rune boundary so that the whole
// fits MaxFileNameBytes: the suffix is what tells the name apart, so it is never cut.
func withSuffix(stem, suffix, ext string) string {
	limit := MaxFileNameBytes - len(suffix) - len(ext)
	if len(stem) > limit {
		for limit > 0 && !utf8.RuneStart(stem[limit]) {
			limit--
		}
		stem = strings.TrimRight(stem[:limit], " ")
	}
	if stem == "" {
		stem = fallbackName
	}
	return stem + suffix + ext
}
