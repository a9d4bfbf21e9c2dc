package api

import (
	"encoding/json"
	"testing"

	"github.com/efactori/drivesync/shared/problem"
)

// problemBody is a problem as a client reads it, with the extension members this API sends.
type problemBody struct {
	problem.Problem
	Code         string `json:"code"`
	ConnectionID string `json:"connectionId"`
	Limit        int    `json:"limit"`
}

func decodeProblem(t *testing.T, b []byte) problemBody {
	t.Helper()
	var p problemBody
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("decode problem %q: %v", b, err)
	}
	return p
}
