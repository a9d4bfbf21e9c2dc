package drivesync_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/google/go-cmp/cmp"
)

func validEvent() drivesync.Event {
	return drivesync.Event{
		SchemaVersion: 1,
		EventID:       "evt-1",
		EventType:     drivesync.EventUpserted,
		OccurredAt:    time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC),
		CompanyID:     "acme",
		Document: drivesync.Document{
			ID: "doc-1", Revision: 3, Kind: drivesync.KindSalesInvoice, Number: "F-2026-001",
			Date: "2026-03-01", Title: "Facture été", FileName: "F-2026-001.pdf",
			ContentType: "application/pdf", Size: 1234,
			SHA256:     strings.Repeat("ab", 32),
			ContentURL: "http://127.0.0.1:8080/v1/documents/doc-1/content?revision=3",
		},
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeEventRoundTrip(t *testing.T) {
	t.Parallel()
	want := validEvent()
	got, err := drivesync.DecodeEvent(mustJSON(t, want))
	if err != nil {
		t.Fatalf("DecodeEvent: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decoded event differs (-want +got):\n%s", diff)
	}
	if got, want := got.Document.Year(), 2026; got != want {
		t.Errorf("Year() = %d, want %d", got, want)
	}
	if got, want := got.Document.Month(), 3; got != want {
		t.Errorf("Month() = %d, want %d", got, want)
	}
}

func TestDecodeEventRejects(t *testing.T) {
	t.Parallel()
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(mustJSON(t, validEvent()), &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		return mustJSON(t, m)
	}
	doc := func(m map[string]any) map[string]any { return m["document"].(map[string]any) }
	tests := []struct {
		name       string
		data       []byte
		wantFields []string
		wantSchema bool
	}{
		{name: "not json", data: []byte("{")},
		{name: "not utf8", data: []byte("{\"eventId\":\"\xff\"}")},
		{name: "missing version", data: edit(func(m map[string]any) { delete(m, "schemaVersion") })},
		{name: "future version", data: edit(func(m map[string]any) { m["schemaVersion"] = 2; m["newField"] = 1 }), wantSchema: true},
		{name: "unknown field", data: edit(func(m map[string]any) { m["extra"] = true })},
		{name: "two values", data: append(mustJSON(t, validEvent()), []byte(" {}")...)},
		{name: "wrong type", data: edit(func(m map[string]any) { doc(m)["revision"] = "3" })},
		{name: "too large", data: []byte(`{"schemaVersion":1,"eventId":"` + strings.Repeat("x", drivesync.MaxEventDataBytes) + `"}`)},
		{name: "bad fields", data: edit(func(m map[string]any) {
			m["eventType"] = "document.moved"
			m["companyId"] = ""
			doc(m)["revision"] = 0
			doc(m)["kind"] = "receipt"
			doc(m)["date"] = "2026-13-01"
			doc(m)["sha256"] = strings.Repeat("AB", 32)
			doc(m)["contentUrl"] = "file:///etc/passwd"
		}), wantFields: []string{"eventType", "companyId", "document.revision", "document.kind", "document.date", "document.sha256", "document.contentUrl"}},
		{name: "no name at all", data: edit(func(m map[string]any) { doc(m)["fileName"] = ""; doc(m)["number"] = "" }), wantFields: []string{"document.fileName"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := drivesync.DecodeEvent(tt.data)
			if !errors.Is(err, drivesync.ErrInvalidEvent) {
				t.Fatalf("DecodeEvent error = %v, want ErrInvalidEvent", err)
			}
			if got := errors.Is(err, drivesync.ErrUnsupportedSchema); got != tt.wantSchema {
				t.Errorf("errors.Is(ErrUnsupportedSchema) = %v, want %v (%v)", got, tt.wantSchema, err)
			}
			if got, want := drivesync.ClassOf(err), drivesync.Permanent; got != want {
				t.Errorf("ClassOf = %v, want %v", got, want)
			}
			if tt.wantFields != nil {
				var got []string
				for _, fe := range drivesync.FieldErrors(err) {
					got = append(got, fe.Field)
				}
				if diff := cmp.Diff(tt.wantFields, got); diff != "" {
					t.Errorf("field errors (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func FuzzDecodeEvent(f *testing.F) {
	b, _ := json.Marshal(validEvent())
	f.Add(b)
	f.Add([]byte(`{"schemaVersion":2}`))
	f.Add([]byte(`{"schemaVersion":1,"document":{"revision":-1}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := drivesync.DecodeEvent(data)
		if err != nil {
			if !errors.Is(err, drivesync.ErrInvalidEvent) {
				t.Fatalf("error %v does not wrap ErrInvalidEvent", err)
			}
			return
		}
		// Anything accepted must be valid and survive a round trip unchanged.
		if err := e.Validate(); err != nil {
			t.Fatalf("accepted an invalid event: %v", err)
		}
		again, err := drivesync.DecodeEvent(mustJSON(t, e))
		if err != nil {
			t.Fatalf("re-decoding an accepted event: %v", err)
		}
		if diff := cmp.Diff(e, again); diff != "" {
			t.Fatalf("round trip changed the event:\n%s", diff)
		}
	})
}
