// Package layout decides where an eFactori document goes in Google Drive and how drivesync marks
// it there: the folders below the company folder, the stable keys that find those folders again,
// the file name, and the private app properties that tie a Drive file back to its document. It
// does no I/O, so the sync engine and a rebuild from Drive alone compute the same answers.
package layout

import (
	"fmt"
	"time"

	"github.com/efactori/drivesync/shared/drivesync"
)

// Folder is one level of a document's folder path below the company folder.
type Folder struct {
	// Name is what the customer sees. Kind folders are named in the connection's locale.
	Name string
	// Key identifies the folder whatever it is named: it is what drive.EnsureFolder looks up (in
	// its drivesyncKey app property) and what a folder cache is keyed by. It never depends on the
	// locale, so a customer who switches language keeps their folders (still named in the old
	// language) instead of getting a second set; renaming them is the caller's choice. It does
	// depend on the path, so "2024/03" and "2024/Factures de vente" are different folders.
	Key string
}

// Path returns the folders, outermost first, that doc goes into below the company folder:
// the year, then the month (year_month) or the kind (year_kind). An unknown layout is treated as
// year and an unknown or empty locale as French, the product default; both are validated where a
// connection is saved, and a document is never left without a place to go.
//
// doc should have passed Document.Validate: a date that does not parse lands in year "0000" and
// an unknown kind in the "other" kind folder, so that even bad input has one stable place.
func Path(doc drivesync.Document, l drivesync.FolderLayout, loc drivesync.Locale) []Folder {
	y, m := "0000", "00"
	if t, err := time.Parse(time.DateOnly, doc.Date); err == nil {
		y, m = fmt.Sprintf("%04d", t.Year()), fmt.Sprintf("%02d", int(t.Month()))
	}
	year := Folder{Name: y, Key: "y:" + y}
	switch l {
	case drivesync.LayoutYearMonth:
		return []Folder{year, {Name: m, Key: year.Key + "/m:" + m}}
	case drivesync.LayoutYearKind:
		k := doc.Kind
		if !k.Valid() {
			k = drivesync.KindOther
		}
		return []Folder{year, {Name: KindLabel(k, loc), Key: year.Key + "/k:" + string(k)}}
	}
	return []Folder{year}
}

// Folders returns the names of Path(doc, l, loc), outermost first.
func Folders(doc drivesync.Document, l drivesync.FolderLayout, loc drivesync.Locale) []string {
	p := Path(doc, l, loc)
	names := make([]string, len(p))
	for i, f := range p {
		names[i] = f.Name
	}
	return names
}

// kindLabels are the kind folder names per locale.
var kindLabels = map[drivesync.Locale]map[drivesync.Kind]string{
	drivesync.LocaleFR: {
		drivesync.KindSalesInvoice:    "Factures de vente",
		drivesync.KindCreditNote:      "Notes de crédit",
		drivesync.KindQuote:           "Devis",
		drivesync.KindPurchaseInvoice: "Factures d'achat",
		drivesync.KindDeliveryNote:    "Bons de livraison",
		drivesync.KindOther:           "Autres",
	},
	drivesync.LocaleNL: {
		drivesync.KindSalesInvoice:    "Verkoopfacturen",
		drivesync.KindCreditNote:      "Creditnota's",
		drivesync.KindQuote:           "Offertes",
		drivesync.KindPurchaseInvoice: "Aankoopfacturen",
		drivesync.KindDeliveryNote:    "Leveringsbonnen",
		drivesync.KindOther:           "Andere",
	},
	drivesync.LocaleEN: {
		drivesync.KindSalesInvoice:    "Sales invoices",
		drivesync.KindCreditNote:      "Credit notes",
		drivesync.KindQuote:           "Quotes",
		drivesync.KindPurchaseInvoice: "Purchase invoices",
		drivesync.KindDeliveryNote:    "Delivery notes",
		drivesync.KindOther:           "Other",
	},
}

// KindLabel returns the folder name of kind k in locale loc; an unknown locale is French and an
// unknown kind is "other".
func KindLabel(k drivesync.Kind, loc drivesync.Locale) string {
	labels, ok := kindLabels[loc]
	if !ok {
		labels = kindLabels[drivesync.LocaleFR]
	}
	if l, ok := labels[k]; ok {
		return l
	}
	return labels[drivesync.KindOther]
}
