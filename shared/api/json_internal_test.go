package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/efactori/drivesync/shared/problem"
	"github.com/google/go-cmp/cmp"
)

// FuzzDecodeJSON checks decodeJSON against encoding/json: whatever the strict decoder accepts,
// the lenient one accepts too and reads the same way, and every refusal is a 400 problem.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"name":"Compta","folderLayout":"year","locale":"fr"}`,
		`{"name":"a","name":"b"}`,
		`{"Name":"a"}`,
		"{\"name\":\"\xff\"}",
		`{"name":"\ud800"}`,
		`{"name":"\u00e9"}`,
		`{} {}`,
		`null`,
		``,
		`{"name":1}`,
	} {
		f.Add([]byte(s))
	}
	type request struct {
		Name         *string `json:"name"`
		FolderLayout *string `json:"folderLayout"`
		Locale       *string `json:"locale"`
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var strict request
		err := decodeJSON(bytes.NewReader(data), &strict)
		if err != nil {
			var p *problem.Problem
			if !errors.As(err, &p) || p.Status != 400 {
				t.Fatalf("decodeJSON(%q) = %v, want a 400 problem", data, err)
			}
			return
		}
		if !utf8.Valid(data) {
			t.Fatalf("decodeJSON accepted invalid UTF-8 %q", data)
		}
		var lenient request
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&lenient); err != nil {
			t.Fatalf("decodeJSON accepted %q, encoding/json refuses it: %v", data, err)
		}
		if diff := cmp.Diff(lenient, strict); diff != "" {
			t.Fatalf("decodeJSON(%q) reads differently from encoding/json (-lenient +strict):\n%s", data, diff)
		}
		for _, v := range []*string{strict.Name, strict.FolderLayout, strict.Locale} {
			if v != nil && strings.ContainsRune(*v, utf8.RuneError) && !bytes.Contains(data, []byte("\uFFFD")) && !bytes.Contains(data, []byte(`\ufffd`)) && !bytes.Contains(data, []byte(`\uFFFD`)) {
				t.Fatalf("decodeJSON(%q) made up U+FFFD in %q", data, *v)
			}
		}
	})
}
