package layout

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/efactori/drivesync/shared/drivesync"
)

// The private app properties drivesync writes on every document file. Together they let a
// connection's mapping (document → Drive file and the revision it holds) be rebuilt by searching
// Drive alone, e.g. after the Firestore state was lost.
const (
	// PropDocumentID holds DocumentIDValue(doc.ID).
	PropDocumentID = "drivesyncDocumentId"
	// PropRevision holds the document revision whose content the file has, in decimal.
	PropRevision = "drivesyncRevision"
	// PropConnectionID holds the connection that wrote the file (a company can connect several
	// drives, and app properties are shared by all connections of the same OAuth client).
	PropConnectionID = "drivesyncConnectionId"
	// PropSHA256 holds eFactori's SHA-256 of the content, which Drive does not compute, so a
	// rebuild can tell whether the file is current without downloading it.
	PropSHA256 = "drivesyncSha256"
	// PropCompanyID holds CompanyIDValue of the company the document belongs to: Drive can
	// only search app properties by key and value, so this is what lists every file drivesync
	// made for a company (a reconcile's inventory) in a few calls.
	PropCompanyID = "drivesyncCompanyId"
)

// MaxPropertyBytes is Drive's limit on one app property: key plus value, in bytes of UTF-8.
const MaxPropertyBytes = 124

// HashedPrefix starts a property value that is the SHA-256 of the real value, used when the real
// value does not fit in MaxPropertyBytes.
const HashedPrefix = "sha256:"

// AppProperties returns the private app properties for doc's Drive file, a document of company
// companyID written by connection connectionID; the company, connection and checksum
// properties are omitted when empty. Every key plus value fits in MaxPropertyBytes: a value that
// does not fit, is not UTF-8, or already starts with HashedPrefix is stored as HashedPrefix and
// the hex SHA-256 of the value. With drivesync's limits that only happens to document IDs longer
// than 105 bytes (MaxIDLength is 128); such an ID cannot be read back from Drive, so a rebuild
// matches files by hashing the IDs eFactori lists, which DocumentIDValue does.
func AppProperties(doc drivesync.Document, companyID, connectionID string) map[string]string {
	props := map[string]string{
		PropDocumentID: DocumentIDValue(doc.ID),
		PropRevision:   strconv.FormatInt(doc.Revision, 10),
	}
	if doc.SHA256 != "" {
		props[PropSHA256] = fitValue(PropSHA256, doc.SHA256)
	}
	if companyID != "" {
		props[PropCompanyID] = CompanyIDValue(companyID)
	}
	if connectionID != "" {
		props[PropConnectionID] = fitValue(PropConnectionID, connectionID)
	}
	return props
}

// DocumentIDValue returns the PropDocumentID value of a document ID: the ID itself, or its hashed
// form when it does not fit. Search Drive for this value, not the raw ID.
func DocumentIDValue(id string) string { return fitValue(PropDocumentID, id) }

// CompanyIDValue returns the PropCompanyID value of a company ID; search Drive for it.
func CompanyIDValue(id string) string { return fitValue(PropCompanyID, id) }

// SHA256Value returns the PropSHA256 value of a content checksum.
func SHA256Value(sum string) string { return fitValue(PropSHA256, sum) }

// fitValue returns v, or its hashed form when key and v together exceed MaxPropertyBytes. A
// value that merely looks hashed is hashed too, so the two forms can never be confused.
func fitValue(key, v string) string {
	if len(key)+len(v) <= MaxPropertyBytes && utf8.ValidString(v) && !strings.HasPrefix(v, HashedPrefix) {
		return v
	}
	sum := sha256.Sum256([]byte(v))
	return HashedPrefix + hex.EncodeToString(sum[:])
}
