package drivesync_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/efactori/drivesync/shared/drivesync"
)

// Every message decoder refuses what encoding/json would have let through: a name given twice
// (the last one winning), a name in another case, a string that is not UTF-8 once unescaped,
// and anything after the value.
func TestDecodersAreStrict(t *testing.T) {
	t.Parallel()
	task := drivesync.CopyTask{SchemaVersion: 1, CompanyID: "acme", ConnectionID: "c1", RunID: "r1", Document: validEvent().Document}
	request := drivesync.CopyRequest{SchemaVersion: 1, CompanyID: "acme", ConnectionID: "c1", RunID: "r1"}
	decoders := []struct {
		name   string
		valid  []byte
		decode func([]byte) error
		sentry error
		nested bool // carries a document
	}{
		{"event", mustJSON(t, validEvent()), func(b []byte) error { _, err := drivesync.DecodeEvent(b); return err }, drivesync.ErrInvalidEvent, true},
		{"copy task", mustJSON(t, task), func(b []byte) error { _, err := drivesync.DecodeCopyTask(b); return err }, drivesync.ErrInvalidCopyTask, true},
		{"copy request", mustJSON(t, request), func(b []byte) error { _, err := drivesync.DecodeCopyRequest(b); return err }, drivesync.ErrInvalidCopyRequest, false},
	}
	for _, d := range decoders {
		if err := d.decode(d.valid); err != nil {
			t.Fatalf("%s: the valid message is refused: %v", d.name, err)
		}
		valid := string(d.valid)
		attacks := map[string]string{
			"duplicate name":           `{"companyId":"other",` + valid[1:],
			"duplicate schema version": `{"schemaVersion":1,` + valid[1:],
			"name in another case":     strings.Replace(valid, `"companyId"`, `"CompanyId"`, 1),
			"name in upper case":       strings.Replace(valid, `"companyId"`, `"COMPANYID"`, 1),
			"lone surrogate":           strings.Replace(valid, `"companyId":"acme"`, `"companyId":"acme\ud800"`, 1),
			"invalid UTF-8":            strings.Replace(valid, `"companyId":"acme"`, "\"companyId\":\"acme\xed\xa0\x80\"", 1),
			"trailing brace":           valid + `}`,
			"trailing value":           valid + ` 1`,
		}
		if d.nested {
			attacks["duplicate name in the document"] = strings.Replace(valid, `"document":{`, `"document":{"id":"other",`, 1)
			attacks["document name in another case"] = strings.Replace(valid, `"revision":`, `"Revision":`, 1)
			attacks["object name in another case"] = strings.Replace(valid, `"document":`, `"Document":`, 1)
		}
		for name, data := range attacks {
			if data == valid {
				t.Fatalf("%s, %s: the attack did not change the message", d.name, name)
			}
			err := d.decode([]byte(data))
			if !errors.Is(err, d.sentry) {
				t.Errorf("%s, %s: error = %v, want %v", d.name, name, err, d.sentry)
				continue
			}
			if got, want := drivesync.ClassOf(err), drivesync.Permanent; got != want {
				t.Errorf("%s, %s: class %v, want %v", d.name, name, got, want)
			}
		}
	}
}
