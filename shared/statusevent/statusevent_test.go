package statusevent_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/statusevent"
)

var (
	t0 = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	t1 = t0.Add(time.Minute)
)

func conn(status drivesync.Status, ic drivesync.InitialCopy, lastErr string) drivesync.Connection {
	c := drivesync.Connection{ID: "c1", CompanyID: "acme", Name: "Compta", Status: status, InitialCopy: ic}
	if lastErr != "" {
		c.LastError = &drivesync.LastError{Code: lastErr, Message: "words for people", At: t0}
	}
	return c
}

func TestDerive(t *testing.T) {
	t.Parallel()
	running := drivesync.InitialCopy{State: drivesync.CopyRunning, RunID: "r1", Kind: drivesync.RunResync, StartedAt: t0}
	done := running
	done.State, done.Listed, done.Synced, done.Failed, done.FinishedAt = drivesync.CopyDone, 5, 4, 1, t1
	failed := done
	failed.State = drivesync.CopyFailed
	base := statusevent.Event{SchemaVersion: 1, CompanyID: "acme", ConnectionID: "c1", ConnectionName: "Compta", OccurredAt: t1}
	with := func(f func(*statusevent.Event)) statusevent.Event { e := base; f(&e); return e }
	tests := []struct {
		name          string
		before, after drivesync.Connection
		want          []statusevent.Event
	}{
		{"nothing changed", conn(drivesync.StatusActive, running, ""), conn(drivesync.StatusActive, running, ""), nil},
		{"a new connection", drivesync.Connection{}, conn(drivesync.StatusAwaitingAuthorization, drivesync.InitialCopy{}, ""), nil},
		{"needs reauthorization", conn(drivesync.StatusActive, running, ""), conn(drivesync.StatusNeedsReauthorization, running, "invalid_grant"),
			[]statusevent.Event{with(func(e *statusevent.Event) {
				e.EventID, e.Type, e.Status, e.PreviousStatus, e.ReasonCode = "c1.status.7", statusevent.TypeStatusChanged,
					drivesync.StatusNeedsReauthorization, drivesync.StatusActive, "invalid_grant"
			})}},
		{"run succeeded", conn(drivesync.StatusActive, running, "old_problem"), conn(drivesync.StatusActive, done, "old_problem"),
			[]statusevent.Event{with(func(e *statusevent.Event) {
				e.EventID, e.Type, e.Status = "c1.run.r1", statusevent.TypeRunEnded, drivesync.StatusActive
				e.Run = &statusevent.Run{ID: "r1", Kind: drivesync.RunResync, Outcome: statusevent.OutcomeSucceeded,
					Listed: 5, Synced: 4, Failed: 1, StartedAt: t0, EndedAt: t1}
			})}},
		{"run failed", conn(drivesync.StatusActive, running, ""), conn(drivesync.StatusActive, failed, drivesync.CodeCopyFailed),
			[]statusevent.Event{with(func(e *statusevent.Event) {
				e.EventID, e.Type, e.Status, e.ReasonCode = "c1.run.r1", statusevent.TypeRunEnded, drivesync.StatusActive, drivesync.CodeCopyFailed
				e.Run = &statusevent.Run{ID: "r1", Kind: drivesync.RunResync, Outcome: statusevent.OutcomeFailed,
					Listed: 5, Synced: 4, Failed: 1, StartedAt: t0, EndedAt: t1}
			})}},
		{"ended run written again", conn(drivesync.StatusActive, done, ""), conn(drivesync.StatusActive, done, ""), nil},
		{"deleted", conn(drivesync.StatusError, done, "storageQuotaExceeded"), conn(statusevent.StatusDeleted, done, "storageQuotaExceeded"),
			[]statusevent.Event{with(func(e *statusevent.Event) {
				e.EventID, e.Type, e.Status, e.PreviousStatus, e.ReasonCode = "c1.status.7", statusevent.TypeStatusChanged,
					statusevent.StatusDeleted, drivesync.StatusError, "storageQuotaExceeded"
			})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := statusevent.Derive(tt.before, tt.after, 7, t1)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Derive (-want +got):\n%s", diff)
			}
			for _, e := range got {
				b, err := statusevent.Encode(e)
				if err != nil {
					t.Fatalf("Encode: %v", err)
				}
				back, err := statusevent.Decode(b)
				if err != nil {
					t.Fatalf("Decode(Encode): %v", err)
				}
				if diff := cmp.Diff(e, back); diff != "" {
					t.Errorf("round trip (-want +got):\n%s", diff)
				}
				attrs := e.Attributes()
				if attrs["type"] != string(e.Type) || attrs["companyId"] != "acme" || attrs["connectionId"] != "c1" ||
					attrs["status"] != string(e.Status) || attrs["schemaVersion"] != "1" || len(attrs) != 5 {
					t.Errorf("attributes %v", attrs)
				}
			}
		})
	}
}

func TestDecodeRefuses(t *testing.T) {
	t.Parallel()
	good := `{"schemaVersion":1,"eventId":"c1.status.1","type":"connection.status_changed","companyId":"acme","connectionId":"c1","connectionName":"Compta","status":"active","occurredAt":"2026-03-14T09:00:00Z"}`
	if _, err := statusevent.Decode([]byte(good)); err != nil {
		t.Fatalf("Decode(good): %v", err)
	}
	for name, data := range map[string]string{
		"unknown field":   strings.Replace(good, `"status"`, `"token":"x","status"`, 1),
		"trailing data":   good + `{}`,
		"bad version":     strings.Replace(good, `"schemaVersion":1`, `"schemaVersion":2`, 1),
		"bad status":      strings.Replace(good, `"active"`, `"sleeping"`, 1),
		"bad type":        strings.Replace(good, `connection.status_changed`, `connection.renamed`, 1),
		"run on a status": strings.Replace(good, `"status"`, `"run":{"id":"r"},"status"`, 1),
		"run end no run":  strings.Replace(good, `connection.status_changed`, `run.ended`, 1),
		"no event id":     strings.Replace(good, `"c1.status.1"`, `""`, 1),
		"no time":         strings.Replace(good, `,"occurredAt":"2026-03-14T09:00:00Z"`, ``, 1),
		"too large":       strings.Replace(good, `"Compta"`, `"`+strings.Repeat("a", statusevent.MaxBytes)+`"`, 1),
	} {
		if _, err := statusevent.Decode([]byte(data)); !errors.Is(err, statusevent.ErrInvalid) {
			t.Errorf("%s: Decode = %v, want ErrInvalid", name, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":1,"eventId":"c1.run.r","type":"run.ended","companyId":"a","connectionId":"c1","connectionName":"","status":"active","run":{"id":"r","kind":"scheduled","outcome":"failed","listed":1,"synced":0,"failed":1,"startedAt":"2026-03-14T09:00:00Z","endedAt":"2026-03-14T09:00:00Z"},"occurredAt":"2026-03-14T09:00:00Z"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := statusevent.Decode(data)
		if err != nil {
			if !errors.Is(err, statusevent.ErrInvalid) {
				t.Fatalf("Decode error %v is not ErrInvalid", err)
			}
			return
		}
		b, err := statusevent.Encode(e)
		if err != nil {
			t.Fatalf("Encode of a decoded event: %v", err)
		}
		if _, err := statusevent.Decode(b); err != nil {
			t.Fatalf("Decode(Encode(Decode)): %v", err)
		}
	})
}
