package layout

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/efactori/drivesync/shared/drivesync"
)

const sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

func hashed(s string) string {
	sum := sha256.Sum256([]byte(s))
	return HashedPrefix + hex.EncodeToString(sum[:])
}

func TestAppProperties(t *testing.T) {
	t.Parallel()
	id105 := strings.Repeat("d", 124-len(PropDocumentID))
	id106 := id105 + "d"
	idEmoji := strings.Repeat("🧾", 27) // 108 bytes: fits MaxIDLength, not the property
	tests := []struct {
		name       string
		doc        drivesync.Document
		connection string
		want       map[string]string
	}{
		{"plain", drivesync.Document{ID: "doc-1", Revision: 7, SHA256: sha}, "conn-1", map[string]string{
			PropDocumentID: "doc-1", PropRevision: "7", PropSHA256: sha, PropConnectionID: "conn-1"}},
		{"no connection", drivesync.Document{ID: "doc-1", Revision: 1, SHA256: sha}, "", map[string]string{
			PropDocumentID: "doc-1", PropRevision: "1", PropSHA256: sha}},
		{"no checksum", drivesync.Document{ID: "doc-1", Revision: 3}, "c", map[string]string{
			PropDocumentID: "doc-1", PropRevision: "3", PropConnectionID: "c"}},
		{"accented id fits", drivesync.Document{ID: "facture/é", Revision: 1, SHA256: sha}, "c", map[string]string{
			PropDocumentID: "facture/é", PropRevision: "1", PropSHA256: sha, PropConnectionID: "c"}},
		{"longest id kept", drivesync.Document{ID: id105, Revision: 1, SHA256: sha}, "c", map[string]string{
			PropDocumentID: id105, PropRevision: "1", PropSHA256: sha, PropConnectionID: "c"}},
		{"longer id hashed", drivesync.Document{ID: id106, Revision: 1, SHA256: sha}, "c", map[string]string{
			PropDocumentID: hashed(id106), PropRevision: "1", PropSHA256: sha, PropConnectionID: "c"}},
		{"emoji id hashed by bytes", drivesync.Document{ID: idEmoji, Revision: 1, SHA256: sha}, "c", map[string]string{
			PropDocumentID: hashed(idEmoji), PropRevision: "1", PropSHA256: sha, PropConnectionID: "c"}},
		{"look-alike hashed too", drivesync.Document{ID: "sha256:abc", Revision: 1, SHA256: sha}, "c", map[string]string{
			PropDocumentID: hashed("sha256:abc"), PropRevision: "1", PropSHA256: sha, PropConnectionID: "c"}},
		{"long connection hashed", drivesync.Document{ID: "d", Revision: 1, SHA256: sha}, strings.Repeat("c", 200),
			map[string]string{PropDocumentID: "d", PropRevision: "1", PropSHA256: sha,
				PropConnectionID: hashed(strings.Repeat("c", 200))}},
	}
	t.Run("company", func(t *testing.T) {
		t.Parallel()
		long := strings.Repeat("é", 60)
		got := AppProperties(drivesync.Document{ID: "d", Revision: 1}, long, "")
		want := map[string]string{PropDocumentID: "d", PropRevision: "1", PropCompanyID: hashed(long)}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("AppProperties (-want +got):\n%s", diff)
		}
		if got := AppProperties(drivesync.Document{ID: "d", Revision: 1}, "acme", "")[PropCompanyID]; got != "acme" || CompanyIDValue("acme") != got {
			t.Errorf("company property = %q, want acme", got)
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := AppProperties(tt.doc, "", tt.connection)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("AppProperties (-want +got):\n%s", diff)
			}
			if got, want := DocumentIDValue(tt.doc.ID), tt.want[PropDocumentID]; got != want {
				t.Errorf("DocumentIDValue = %q, want %q", got, want)
			}
			assertFits(t, got)
		})
	}
}

func assertFits(t *testing.T, props map[string]string) {
	t.Helper()
	for k, v := range props {
		if len(k)+len(v) > MaxPropertyBytes || !utf8.ValidString(k) || !utf8.ValidString(v) {
			t.Errorf("property %q=%q is %d bytes (limit %d) or not UTF-8", k, v, len(k)+len(v), MaxPropertyBytes)
		}
	}
}

// FuzzAppProperties checks that any document and connection give properties Drive accepts and
// that distinct IDs never share a value.
func FuzzAppProperties(f *testing.F) {
	f.Add("doc-1", int64(1), sha, "conn", "doc-2")
	f.Add(strings.Repeat("🧾", 40), int64(-1), "", "", "sha256:x")
	f.Add("\xff\xfe", int64(1<<62), strings.Repeat("z", 300), strings.Repeat("c", 110), "")
	f.Fuzz(func(t *testing.T, id string, rev int64, sum, connection, other string) {
		props := AppProperties(drivesync.Document{ID: id, Revision: rev, SHA256: sum}, other, connection)
		assertFits(t, props)
		if len(props) > 30 {
			t.Fatalf("%d properties, Drive allows 30 per app", len(props))
		}
		if id != other && DocumentIDValue(id) == DocumentIDValue(other) {
			t.Fatalf("ids %q and %q share the value %q", id, other, DocumentIDValue(id))
		}
	})
}
