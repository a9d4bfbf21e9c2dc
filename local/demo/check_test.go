package demo

import (
	"strings"
	"testing"
	"time"

	"github.com/efactori/drivesync/local/devstack"
	"github.com/efactori/drivesync/local/googleemu/driveemu"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/layout"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	invoice := drivesync.Document{ID: "acme-000001", Revision: 2, Kind: drivesync.KindSalesInvoice, Date: "2024-01-15",
		FileName: "F1.pdf", ContentType: "application/pdf", Size: 10}
	quote := drivesync.Document{ID: "acme-000002", Revision: 1, Kind: drivesync.KindQuote, Date: "2025-03-03",
		FileName: "D1.pdf", ContentType: "application/pdf", Size: 20}
	exp := expectation{docs: []drivesync.Document{invoice, quote}, md5: map[string]string{invoice.ID: "m1", quote.ID: "m2"},
		layout: drivesync.LayoutYearKind, locale: drivesync.LocaleFR, companyName: "Acme", targetID: "target"}
	file := func(id string, d drivesync.Document, md5 string) driveemu.Node {
		return driveemu.Node{ID: id, Name: layout.FileName(d), Size: d.Size, MD5: md5,
			AppProperties: map[string]map[string]string{devstack.ClientID: layout.AppProperties(d, "acme", "c1")}}
	}
	folder := func(name string, children ...driveemu.Node) driveemu.Node {
		return driveemu.Node{ID: "f-" + name, Name: name, Folder: true, Children: children}
	}
	tree := func(company ...driveemu.Node) driveemu.Tree {
		target := folder("Factures eFactori", folder("Acme", company...))
		target.ID = "target"
		return driveemu.Tree{Root: folder("My Drive", target)}
	}
	good := []driveemu.Node{
		folder("2024", folder("Factures de vente", file("x1", invoice, "m1"))),
		folder("2025", folder("Devis", file("x2", quote, "m2"))),
	}
	tests := []struct {
		name string
		tree driveemu.Tree
		want string // a substring of the only problem; "" for none
	}{
		{"matches", tree(good...), ""},
		{"missing", tree(good[0]), "acme-000002 (\"D1.pdf\") is in Drive 0 times"},
		{"duplicate", tree(append(good, folder("2026", file("x3", quote, "m2")))...), "is in Drive 2 times"},
		{"wrong folder", tree(good[0], folder("2025", folder("Autres", file("x2", quote, "m2")))), "in 2025/Autres/, want 2025/Devis/"},
		{"wrong content", tree(good[0], folder("2025", folder("Devis", file("x2", quote, "other")))), "content differs"},
		{"old revision", tree(good[0], folder("2025", folder("Devis", file("x2", drivesync.Document{ID: quote.ID, Revision: 0,
			FileName: "D1.pdf", ContentType: "application/pdf", Size: 20}, "m2")))), "holds revision 0, want 1"},
		{"stranger", tree(append(good, driveemu.Node{ID: "s", Name: "notes.txt"})...), "\"notes.txt\" in the company folder is not an eFactori document"},
		{"deleted document", tree(append(good, file("x9", drivesync.Document{ID: "acme-000009", Revision: 1, FileName: "Z.pdf"}, "m9"))...),
			"acme-000009 is in Drive but not live"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			problems, _ := check(tt.tree, exp)
			switch {
			case tt.want == "" && len(problems) != 0:
				t.Errorf("check = %q, want no problems", problems)
			case tt.want != "" && (len(problems) != 1 || !strings.Contains(problems[0], tt.want)):
				t.Errorf("check = %q, want one problem containing %q", problems, tt.want)
			}
		})
	}
}

// TestCopyTimeoutScales: the initial copy runs at devstack.DriveWritesPerSecond, so the time the
// demo allows it grows with the company (scripts/demo --documents 500 used to time out at 2 min).
func TestCopyTimeoutScales(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		documents int
		want      time.Duration
	}{
		{0, 2 * time.Minute},
		{41, 2 * time.Minute},
		{500, 5*time.Minute + 10*time.Second},
		{10_000, time.Minute + 5000*time.Second},
	} {
		if got := CopyTimeout(tt.documents); got != tt.want {
			t.Errorf("CopyTimeout(%d) = %v, want %v", tt.documents, got, tt.want)
		}
		if least := time.Duration(tt.documents) * time.Second / devstack.DriveWritesPerSecond; CopyTimeout(tt.documents) < least*3/2 {
			t.Errorf("CopyTimeout(%d) = %v, shorter than 1.5 × the %v the writes alone take", tt.documents, CopyTimeout(tt.documents), least)
		}
	}
}

// Documents whose file names collide in one folder must show distinct names there: the first
// keeps its name, the others carry a suffix (layout.FileNames); the same name twice, case aside,
// is a problem.
func TestCheckNames(t *testing.T) {
	t.Parallel()
	doc := func(id, number, fileName string) drivesync.Document {
		return drivesync.Document{ID: id, Revision: 1, Kind: drivesync.KindSalesInvoice, Number: number, Date: "2026-01-02",
			FileName: fileName, ContentType: "application/pdf", Size: 10}
	}
	a, b, c := doc("acme-000001", "F-1", "Facture.pdf"), doc("acme-000002", "F-2", "Facture.pdf"), doc("acme-000003", "F-3", "FACTURE.pdf")
	exp := expectation{docs: []drivesync.Document{a, b, c}, md5: map[string]string{a.ID: "m", b.ID: "m", c.ID: "m"},
		layout: drivesync.LayoutYear, locale: drivesync.LocaleFR, companyName: "Acme", targetID: "target"}
	tree := func(names ...string) driveemu.Tree {
		var files []driveemu.Node
		for i, d := range exp.docs {
			files = append(files, driveemu.Node{ID: "x" + d.ID, Name: names[i], Size: d.Size, MD5: "m",
				AppProperties: map[string]map[string]string{devstack.ClientID: layout.AppProperties(d, "acme", "c1")}})
		}
		year := driveemu.Node{ID: "f-2026", Name: "2026", Folder: true, Children: files}
		company := driveemu.Node{ID: "f-acme", Name: "Acme", Folder: true, Children: []driveemu.Node{year}}
		target := driveemu.Node{ID: "target", Name: "Factures eFactori", Folder: true, Children: []driveemu.Node{company}}
		return driveemu.Tree{Root: driveemu.Node{ID: "root", Name: "My Drive", Folder: true, Children: []driveemu.Node{target}}}
	}
	if problems, _ := check(tree("Facture.pdf", "Facture (F-2).pdf", "FACTURE (F-3).pdf"), exp); len(problems) != 0 {
		t.Errorf("distinct names: check = %q, want no problems", problems)
	}
	problems, _ := check(tree("Facture.pdf", "Facture (F-2).pdf", "FACTURE.pdf"), exp)
	if len(problems) != 2 || !strings.Contains(strings.Join(problems, "\n"), `named "FACTURE.pdf" like 1 other files of 2026/`) {
		t.Errorf("a name twice, case aside: check = %q, want both files reported", problems)
	}
	problems, _ = check(tree("Facture.pdf", "Facture (F-2).pdf", "Facture (x).pdf"), exp)
	if len(problems) != 1 || !strings.Contains(problems[0], `named "Facture (x).pdf", want one of`) {
		t.Errorf("a name not of the document: check = %q, want one problem", problems)
	}
}
