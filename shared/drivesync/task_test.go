package drivesync_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/efactori/drivesync/shared/drivesync"
)

func validCopyTask() drivesync.CopyTask {
	return drivesync.CopyTask{
		SchemaVersion: drivesync.CopyTaskSchemaVersion,
		CompanyID:     "acme",
		ConnectionID:  "conn-1",
		RunID:         "run-1",
		Document:      validEvent().Document,
	}
}

func TestDecodeCopyTaskRoundTrip(t *testing.T) {
	t.Parallel()
	want := validCopyTask()
	data := mustJSON(t, want)
	if !strings.Contains(string(data), `"connectionId":"conn-1"`) || !strings.Contains(string(data), `"contentUrl":`) {
		t.Errorf("task JSON is not camelCase: %s", data)
	}
	got, err := drivesync.DecodeCopyTask(data)
	if err != nil {
		t.Fatalf("DecodeCopyTask: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decoded task differs (-want +got):\n%s", diff)
	}
	wantAttrs := map[string]string{
		"companyId": "acme", "connectionId": "conn-1", "runId": "run-1", "documentId": "doc-1", "schemaVersion": "1",
	}
	if diff := cmp.Diff(wantAttrs, got.Attributes()); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
}

func TestDecodeCopyTaskRejects(t *testing.T) {
	t.Parallel()
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(mustJSON(t, validCopyTask()), &m); err != nil {
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
		{name: "not utf8", data: []byte("{\"runId\":\"\xff\"}")},
		{name: "null", data: []byte("null")},
		{name: "missing version", data: edit(func(m map[string]any) { delete(m, "schemaVersion") })},
		{name: "future version", data: edit(func(m map[string]any) { m["schemaVersion"] = 2; m["priority"] = 1 }), wantSchema: true},
		{name: "unknown field", data: edit(func(m map[string]any) { m["extra"] = true })},
		{name: "unknown document field", data: edit(func(m map[string]any) { doc(m)["extra"] = true })},
		{name: "two values", data: append(mustJSON(t, validCopyTask()), []byte(" {}")...)},
		{name: "stray brace", data: append(mustJSON(t, validCopyTask()), '}')},
		{name: "wrong type", data: edit(func(m map[string]any) { doc(m)["size"] = "12" })},
		{name: "too large", data: []byte(`{"schemaVersion":1,"runId":"` + strings.Repeat("x", drivesync.MaxCopyTaskBytes) + `"}`)},
		{name: "bad fields", data: edit(func(m map[string]any) {
			m["companyId"] = ""
			m["connectionId"] = strings.Repeat("c", drivesync.MaxIDLength+1)
			m["runId"] = "run\x00"
			doc(m)["sha256"] = "abc"
			doc(m)["contentUrl"] = "file:///etc/passwd"
		}), wantFields: []string{"companyId", "connectionId", "runId", "document.sha256", "document.contentUrl"}},
		{name: "no document", data: edit(func(m map[string]any) { delete(m, "document") }),
			wantFields: []string{"document.id", "document.revision", "document.kind", "document.date", "document.fileName", "document.contentType", "document.sha256", "document.contentUrl"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := drivesync.DecodeCopyTask(tt.data)
			if !errors.Is(err, drivesync.ErrInvalidCopyTask) {
				t.Fatalf("DecodeCopyTask error = %v, want ErrInvalidCopyTask", err)
			}
			if got := errors.Is(err, drivesync.ErrUnsupportedSchema); got != tt.wantSchema {
				t.Errorf("errors.Is(ErrUnsupportedSchema) = %v, want %v (%v)", got, tt.wantSchema, err)
			}
			var ce *drivesync.ClassifiedError
			if !errors.As(err, &ce) || ce.Class != drivesync.Permanent || ce.Code != "invalid_copy_task" {
				t.Errorf("error %v is not classified permanent invalid_copy_task", err)
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

func TestCopyTaskValidate(t *testing.T) {
	t.Parallel()
	if err := validCopyTask().Validate(); err != nil {
		t.Errorf("Validate(valid task) = %v", err)
	}
	task := validCopyTask()
	task.SchemaVersion = 0
	var got []string
	for _, fe := range drivesync.FieldErrors(task.Validate()) {
		got = append(got, fe.Field)
	}
	if diff := cmp.Diff([]string{"schemaVersion"}, got); diff != "" {
		t.Errorf("field errors (-want +got):\n%s", diff)
	}
}

func FuzzDecodeCopyTask(f *testing.F) {
	b, _ := json.Marshal(validCopyTask())
	f.Add(b)
	f.Add([]byte(`{"schemaVersion":2}`))
	f.Add([]byte(`{"schemaVersion":1,"document":{"revision":-1}}`))
	f.Add(append(b, '}'))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		task, err := drivesync.DecodeCopyTask(data)
		if err != nil {
			if !errors.Is(err, drivesync.ErrInvalidCopyTask) {
				t.Fatalf("error %v does not wrap ErrInvalidCopyTask", err)
			}
			if got := drivesync.ClassOf(err); got != drivesync.Permanent {
				t.Fatalf("error %v has class %v, want permanent", err, got)
			}
			return
		}
		// Anything accepted must be valid and survive a round trip unchanged.
		if err := task.Validate(); err != nil {
			t.Fatalf("accepted an invalid task: %v", err)
		}
		again, err := drivesync.DecodeCopyTask(mustJSON(t, task))
		if err != nil {
			t.Fatalf("re-decoding an accepted task: %v", err)
		}
		if diff := cmp.Diff(task, again); diff != "" {
			t.Fatalf("round trip changed the task:\n%s", diff)
		}
	})
}

// The IDs of a company, connection and run become Firestore document IDs: a message that could
// turn one into a path elsewhere (a slash, a dot segment, a reserved name) is invalid, whichever
// message carries it.
func TestMessagesRefusePathLikeIDs(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"acme/connections/c1", "..", ".", "__x__", "a b", "é", strings.Repeat("a", 129), ""} {
		ev := drivesync.Event{SchemaVersion: drivesync.SchemaVersion, EventID: "e1", EventType: drivesync.EventUpserted, OccurredAt: time.Now(), CompanyID: id}
		if err := ev.Validate(); err == nil || !strings.Contains(err.Error(), "companyId") {
			t.Errorf("event with companyId %q: %v, want a companyId error", id, err)
		}
		task := drivesync.CopyTask{SchemaVersion: drivesync.CopyTaskSchemaVersion, CompanyID: "acme", ConnectionID: id, RunID: "r1"}
		if err := task.Validate(); err == nil || !strings.Contains(err.Error(), "connectionId") {
			t.Errorf("task with connectionId %q: %v, want a connectionId error", id, err)
		}
		req := drivesync.CopyRequest{SchemaVersion: drivesync.CopyRequestSchemaVersion, CompanyID: "acme", ConnectionID: "c1", RunID: id}
		if err := req.Validate(); err == nil || !strings.Contains(err.Error(), "runId") {
			t.Errorf("request with runId %q: %v, want a runId error", id, err)
		}
	}
	for _, id := range []string{"acme", "A-b_9", "_x_", strings.Repeat("a", 128)} {
		if !drivesync.ValidID(id) {
			t.Errorf("ValidID(%q) = false, want true", id)
		}
	}
}
