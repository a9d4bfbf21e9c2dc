package layout

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/efactori/drivesync/shared/drivesync"
)

func doc(date string, kind drivesync.Kind) drivesync.Document {
	return drivesync.Document{ID: "doc-1", Revision: 1, Kind: kind, Number: "F2024-001", Date: date,
		ContentType: "application/pdf"}
}

func TestPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		doc    drivesync.Document
		layout drivesync.FolderLayout
		locale drivesync.Locale
		want   []Folder
	}{
		{"year", doc("2024-03-15", drivesync.KindSalesInvoice), drivesync.LayoutYear, drivesync.LocaleFR,
			[]Folder{{"2024", "y:2024"}}},
		{"year month", doc("2024-03-15", drivesync.KindSalesInvoice), drivesync.LayoutYearMonth, drivesync.LocaleFR,
			[]Folder{{"2024", "y:2024"}, {"03", "y:2024/m:03"}}},
		{"year month december", doc("1999-12-31", drivesync.KindQuote), drivesync.LayoutYearMonth, drivesync.LocaleEN,
			[]Folder{{"1999", "y:1999"}, {"12", "y:1999/m:12"}}},
		{"year kind fr", doc("2024-03-15", drivesync.KindCreditNote), drivesync.LayoutYearKind, drivesync.LocaleFR,
			[]Folder{{"2024", "y:2024"}, {"Notes de crédit", "y:2024/k:credit_note"}}},
		{"year kind nl", doc("2024-03-15", drivesync.KindCreditNote), drivesync.LayoutYearKind, drivesync.LocaleNL,
			[]Folder{{"2024", "y:2024"}, {"Creditnota's", "y:2024/k:credit_note"}}},
		{"year kind en", doc("2024-03-15", drivesync.KindPurchaseInvoice), drivesync.LayoutYearKind, drivesync.LocaleEN,
			[]Folder{{"2024", "y:2024"}, {"Purchase invoices", "y:2024/k:purchase_invoice"}}},
		{"empty locale is french", doc("2024-03-15", drivesync.KindDeliveryNote), drivesync.LayoutYearKind, "",
			[]Folder{{"2024", "y:2024"}, {"Bons de livraison", "y:2024/k:delivery_note"}}},
		{"unknown locale is french", doc("2024-03-15", drivesync.KindQuote), drivesync.LayoutYearKind, "de",
			[]Folder{{"2024", "y:2024"}, {"Devis", "y:2024/k:quote"}}},
		{"unknown kind is other", doc("2024-03-15", "receipt"), drivesync.LayoutYearKind, drivesync.LocaleNL,
			[]Folder{{"2024", "y:2024"}, {"Andere", "y:2024/k:other"}}},
		{"unknown layout is year", doc("2024-03-15", drivesync.KindQuote), "flat", drivesync.LocaleFR,
			[]Folder{{"2024", "y:2024"}}},
		{"bad date has one stable place", doc("15/03/2024", drivesync.KindQuote), drivesync.LayoutYearMonth, drivesync.LocaleFR,
			[]Folder{{"0000", "y:0000"}, {"00", "y:0000/m:00"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Path(tt.doc, tt.layout, tt.locale)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Path (-want +got):\n%s", diff)
			}
			var names []string
			for _, f := range tt.want {
				names = append(names, f.Name)
			}
			if diff := cmp.Diff(names, Folders(tt.doc, tt.layout, tt.locale)); diff != "" {
				t.Errorf("Folders (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFolderKeyIgnoresLocale pins the promise that switching language keeps the same folders.
func TestFolderKeyIgnoresLocale(t *testing.T) {
	t.Parallel()
	for _, k := range drivesync.Kinds {
		d := doc("2025-01-02", k)
		var keys, labels []string
		for _, loc := range []drivesync.Locale{drivesync.LocaleFR, drivesync.LocaleNL, drivesync.LocaleEN} {
			p := Path(d, drivesync.LayoutYearKind, loc)
			keys = append(keys, p[1].Key)
			labels = append(labels, p[1].Name)
		}
		if keys[0] != keys[1] || keys[1] != keys[2] {
			t.Errorf("kind %s: keys differ by locale: %q", k, keys)
		}
		if labels[0] == labels[1] || labels[1] == labels[2] || labels[0] == labels[2] {
			t.Errorf("kind %s: labels %q should differ by locale", k, labels)
		}
	}
}

func TestKindLabelsAreDistinct(t *testing.T) {
	t.Parallel()
	for _, loc := range []drivesync.Locale{drivesync.LocaleFR, drivesync.LocaleNL, drivesync.LocaleEN} {
		seen := map[string]drivesync.Kind{}
		for _, k := range drivesync.Kinds {
			l := KindLabel(k, loc)
			if prev, ok := seen[l]; ok {
				t.Errorf("%s: kinds %s and %s share the label %q", loc, prev, k, l)
			}
			seen[l] = k
		}
	}
}
