package efactori

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/efactori/drivesync/shared/drivesync"
)

// CompanySpec describes a company the stand-in creates with generated documents.
type CompanySpec struct {
	ID   string
	Name string
	// Documents is the number of generated documents.
	Documents int
	// Showcase adds, before the generated documents, a fixed set of awkward documents: accents,
	// slashes and emoji in names, a 300-character title, three documents named "Facture.pdf"
	// in one folder (one in capitals), a CSV, a few
	// revisions, and three large PDFs (about 21, 35 and 50 MB).
	Showcase bool
}

// ShowcaseDocuments is how many documents Showcase adds.
var ShowcaseDocuments = len(showcase())

// Size returns how many documents the company starts with.
func (c CompanySpec) Size() int {
	if c.Showcase {
		return ShowcaseDocuments + c.Documents
	}
	return c.Documents
}

// MaxCompanyDocuments bounds a generated company; document ids carry six digits so that id
// order is creation order.
const MaxCompanyDocuments = 999_999

// The companies most tests and the demo use.
var (
	Acme  = CompanySpec{ID: "acme", Name: "Acme Bâtiment SPRL", Documents: 27, Showcase: true}
	Empty = CompanySpec{ID: "empty", Name: "Entreprise Vide SRL", Documents: 0}
	Bulk  = CompanySpec{ID: "bulk", Name: "Bulk Trading NV", Documents: 5000}
)

// DefaultCompanies returns acme, empty and bulk.
func DefaultCompanies() []CompanySpec { return []CompanySpec{Acme, Empty, Bulk} }

// ParseCompanies reads a comma-separated list of companies: "acme", "empty" and "bulk" name
// the default companies, "id=N" makes company id with N generated documents (and overrides the
// count of a default company), and "default" stands for all three defaults.
func ParseCompanies(spec string) ([]CompanySpec, error) {
	known := map[string]CompanySpec{Acme.ID: Acme, Empty.ID: Empty, Bulk.ID: Bulk}
	var out []CompanySpec
	var errs []error
	seen := map[string]bool{}
	add := func(c CompanySpec) {
		if seen[c.ID] {
			errs = append(errs, fmt.Errorf("company %q listed twice", c.ID))
			return
		}
		seen[c.ID] = true
		out = append(out, c)
	}
	for item := range strings.SplitSeq(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if item == "default" {
			for _, c := range DefaultCompanies() {
				add(c)
			}
			continue
		}
		id, count, hasCount := strings.Cut(item, "=")
		c, ok := known[id]
		if !ok {
			c = CompanySpec{ID: id, Name: "Company " + id}
		}
		if hasCount {
			n, err := strconv.Atoi(count)
			if err != nil || n < 0 || n > MaxCompanyDocuments {
				errs = append(errs, fmt.Errorf("company %q: document count %q is not between 0 and %d", id, count, MaxCompanyDocuments))
				continue
			}
			c.Documents = n
		} else if !ok {
			errs = append(errs, fmt.Errorf("company %q: unknown, give a count as %s=N", id, id))
			continue
		}
		if err := validCompanyID(id); err != nil {
			errs = append(errs, err)
			continue
		}
		add(c)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("parse companies %q: %w", spec, err)
	}
	return out, nil
}

func validCompanyID(id string) error {
	if id == "" || len(id) > 64 {
		return fmt.Errorf("company id %q must be 1 to 64 characters", id)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return fmt.Errorf("company id %q may hold only letters, digits, '-' and '_'", id)
		}
	}
	return nil
}

func documentID(companyID string, n int) string { return fmt.Sprintf("%s-%06d", companyID, n) }

// draft is a document before the store assigns its id and content.
type draft struct {
	doc         drivesync.Document // ID, Revision, Kind, Number, Date, Title, FileName, ContentType
	amountCents int64
	targetSize  int64
	raw         []byte // served as is when set, instead of a generated PDF
}

// generate returns the documents of c, deterministic for seed.
func generate(seed uint64, c CompanySpec) []draft {
	h := fnv.New64a()
	h.Write([]byte(c.ID))
	rng := rand.New(rand.NewPCG(seed, h.Sum64()))
	var out []draft
	if c.Showcase {
		out = append(out, showcase()...)
	}
	small := c.Documents > 1000
	for i := range c.Documents {
		out = append(out, randomDraft(rng, i+1, small))
	}
	for i := range out {
		out[i].doc.ID = documentID(c.ID, i+1)
	}
	return out
}

var (
	kindWeights = []struct {
		kind   drivesync.Kind
		weight int
		prefix string
	}{
		{drivesync.KindSalesInvoice, 45, "F"},
		{drivesync.KindPurchaseInvoice, 20, "FF"},
		{drivesync.KindQuote, 12, "D"},
		{drivesync.KindDeliveryNote, 10, "BL"},
		{drivesync.KindCreditNote, 8, "NC"},
		{drivesync.KindOther, 5, "DOC"},
	}
	works     = []string{"Rénovation façade", "Plomberie", "Électricité", "Toiture", "Carrelage", "Menuiserie", "Chauffage", "Peinture intérieure", "Isolation", "Maçonnerie"}
	places    = []string{"Bruxelles", "Liège", "Namur", "Mons", "Gent", "Ixelles", "Forêt", "Leuven", "Charleroi", "Schaerbeek"}
	customers = []string{"Dupont", "Lefèvre", "François", "Müller", "Janssens", "Peeters", "Gérard", "Çelik", "Nuñez", "De Smet"}
	seedStart = time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
	seedDays  = int(time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC).Sub(seedStart).Hours() / 24)
)

func randomDraft(rng *rand.Rand, n int, small bool) draft {
	pick := rng.IntN(100)
	k := kindWeights[len(kindWeights)-1]
	for _, kw := range kindWeights {
		if pick < kw.weight {
			k = kw
			break
		}
		pick -= kw.weight
	}
	date := seedStart.AddDate(0, 0, rng.IntN(seedDays+1))
	number := fmt.Sprintf("%s-%d-%05d", k.prefix, date.Year(), n)
	customer := customers[rng.IntN(len(customers))]
	title := fmt.Sprintf("%s — %s, %s", works[rng.IntN(len(works))], customer, places[rng.IntN(len(places))])
	fileName := number + ".pdf"
	if rng.IntN(10) == 0 {
		fileName = fmt.Sprintf("%s %s – %d.pdf", kindLabel(k.kind), customer, date.Year())
	}
	rev := int64(1)
	switch r := rng.IntN(100); {
	case r < 3:
		rev = 3
	case r < 13:
		rev = 2
	}
	amount := int64(5_000 + rng.IntN(5_000_000))
	if k.kind == drivesync.KindCreditNote {
		amount = -amount
	}
	// Fan-out benchmarks list many documents of large companies, and the listing hashes every
	// document it returns, so those stay a few KB.
	size := int64(2<<10 + rng.IntN(4<<10))
	if !small {
		size = int64(3<<10) << rng.IntN(5) // 3 KB to 48 KB
		size += int64(rng.IntN(int(size)))
	}
	return draft{
		doc: drivesync.Document{
			Revision: rev, Kind: k.kind, Number: number, Date: date.Format(time.DateOnly),
			Title: title, FileName: fileName, ContentType: "application/pdf",
		},
		amountCents: amount,
		targetSize:  size,
	}
}

// showcase returns the fixed awkward documents of the acme company.
func showcase() []draft {
	const mb = 1 << 20
	long := string([]rune(strings.Repeat("Très long intitulé de facture pour vérifier la troncature des noms ", 5))[:300])
	pdf := func(kind drivesync.Kind, number, date, title, fileName string, rev, cents, size int64) draft {
		return draft{
			doc: drivesync.Document{
				Revision: rev, Kind: kind, Number: number, Date: date, Title: title,
				FileName: fileName, ContentType: "application/pdf",
			},
			amountCents: cents,
			targetSize:  size,
		}
	}
	csv := []byte("date;libellé;montant\n2023-05-02;Ciment 25 kg ×40;312,00\n2023-05-09;Sable lavé 0/4;148,50\n")
	return []draft{
		pdf(drivesync.KindSalesInvoice, "2024/001", "2024-01-15", "Rénovation façade — Rue de l'Église 12", "Facture 2024/001.pdf", 1, 1_234_56, 14<<10),
		pdf(drivesync.KindCreditNote, "NC-2023-007", "2023-11-30", "Avoir sur facture 2023/112 — remise commerciale", "Note de crédit NC-2023-007.pdf", 1, -250_00, 6<<10),
		pdf(drivesync.KindQuote, "D-2025-042", "2025-03-03", "Devis cuisine 🍳✨ — Famille Müller", "Devis cuisine 🍳✨.pdf", 2, 18_450_00, 40<<10),
		pdf(drivesync.KindPurchaseInvoice, "FF-2022-0913", "2022-09-13", long, "FF-2022-0913.pdf", 1, 9_999_99, 9<<10),
		pdf(drivesync.KindDeliveryNote, "BL 2022/045", "2022-06-21", "Livraison béton prêt à l'emploi — chantier Ixelles", "BL 2022/045.pdf", 1, 0, 5<<10),
		pdf(drivesync.KindOther, "", "2021-01-04", "Contrat de maintenance — garçonnière, Liège", "Contrat de maintenance (garçonnière).pdf", 1, 0, 22<<10),
		pdf(drivesync.KindSalesInvoice, "F-2026-0001", "2026-01-02", "Facture", "Facture.pdf", 1, 100_00, 4<<10),
		pdf(drivesync.KindSalesInvoice, "F-2026-0002", "2026-01-02", "Facture", "Facture.pdf", 3, 200_00, 4<<10),
		// A third "Facture.pdf" of the same folder, differing only in case: Windows would
		// still see the same name, so drivesync names it apart too.
		pdf(drivesync.KindSalesInvoice, "F-2026-0003", "2026-01-02", "Facture", "FACTURE.pdf", 1, 300_00, 4<<10),
		pdf(drivesync.KindSalesInvoice, "F-2025-12-31", "2025-12-31", "Facture de fin d'année : « Réveillon » — 50 % payé", "F-2025-12-31.pdf", 1, 5_000_00, 12<<10),
		pdf(drivesync.KindOther, "PLANS-2024-01", "2024-02-29", "Plans d'exécution — lot gros œuvre", "Plans d'exécution.pdf", 1, 0, 21*mb),
		pdf(drivesync.KindPurchaseInvoice, "FF-2023-0420", "2023-04-20", "Facture fournisseur avec annexes scannées", "FF-2023-0420.pdf", 2, 48_230_15, 35*mb),
		pdf(drivesync.KindOther, "PHOTOS-2025", "2025-08-15", "Dossier photo chantier 2025 📷", "Dossier photo chantier 2025.pdf", 1, 0, 50*mb),
		{
			doc: drivesync.Document{
				Revision: 1, Kind: drivesync.KindOther, Number: "", Date: "2023-05-31",
				Title: "Export achats mai 2023", FileName: "Export achats mai 2023.csv",
				ContentType: "text/csv; charset=utf-8",
			},
			raw: csv,
		},
	}
}

func kindLabel(k drivesync.Kind) string {
	switch k {
	case drivesync.KindSalesInvoice:
		return "Facture"
	case drivesync.KindCreditNote:
		return "Note de crédit"
	case drivesync.KindQuote:
		return "Devis"
	case drivesync.KindPurchaseInvoice:
		return "Facture fournisseur"
	case drivesync.KindDeliveryNote:
		return "Bon de livraison"
	default:
		return "Document"
	}
}

// padKey derives the padding seed of one revision of one document, so that every revision has
// its own bytes and the same seed gives the same bytes on every run.
func padKey(seed uint64, id string, rev int64) [32]byte {
	h := sha256.New()
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], seed)
	binary.BigEndian.PutUint64(b[8:], uint64(rev))
	h.Write(b[:])
	h.Write([]byte(id))
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// formatCents renders an amount the Belgian way: 1 234,56 EUR.
func formatCents(c int64) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	units := strconv.FormatInt(c/100, 10)
	var grouped []string
	for len(units) > 3 {
		grouped = append([]string{units[len(units)-3:]}, grouped...)
		units = units[:len(units)-3]
	}
	grouped = append([]string{units}, grouped...)
	return fmt.Sprintf("%s%s,%02d EUR", sign, strings.Join(grouped, " "), c%100)
}
