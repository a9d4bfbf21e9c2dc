package auth_test

import (
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/shared/auth"
)

// attackCompanyIDs are company_id claims a signed token could carry to reach outside its
// company's Firestore subtree, or to make Firestore refuse the path: each must be refused.
var attackCompanyIDs = map[string]string{
	"path into a connection": "acme/connections/abc",
	"path to the root":       "../oauthStates/x",
	"dot":                    ".",
	"dot dot":                "..",
	"reserved name":          "__x__",
	"reserved, short":        "____",
	"2,000 characters":       strings.Repeat("a", 2000),
	"129 characters":         strings.Repeat("a", 129),
	"space":                  "acme corp",
	"quote":                  "acme'",
	"backslash":              `acme\x`,
	"dot inside":             "acme.example",
	"NUL":                    "acme\x00",
	"non-ASCII":              "société",
	"newline":                "acme\n",
}

func TestValidCompanyID(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"acme", "a", "ACME-2_b", strings.Repeat("z", auth.MaxCompanyIDLength), "__x", "x__", "___", "_", "-"} {
		if !auth.ValidCompanyID(id) {
			t.Errorf("ValidCompanyID(%q) = false, want true", id)
		}
	}
	for name, id := range attackCompanyIDs {
		if auth.ValidCompanyID(id) {
			t.Errorf("%s: ValidCompanyID(%.40q) = true, want false", name, id)
		}
	}
	if auth.ValidCompanyID("") {
		t.Error(`ValidCompanyID("") = true`)
	}
}

// TestVerifyRefusesBadCompanyID checks that a token signed by the right issuer, valid in every
// other way, does not verify when its company_id could not be a company's ID, and that the
// error does not repeat the claim.
func TestVerifyRefusesBadCompanyID(t *testing.T) {
	t.Parallel()
	const audience = "drivesync-auth-test"
	iss, err := efactori.New(efactori.Options{DevToken: "dev", Audience: audience, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("efactori.New: %v", err)
	}
	ts := httptest.NewServer(iss)
	t.Cleanup(ts.Close)
	if err := iss.SetBaseURL(ts.URL); err != nil {
		t.Fatalf("SetBaseURL: %v", err)
	}
	v, err := auth.NewVerifier(iss.Issuer(), audience, nil)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	mint := func(companyID string) string {
		tok, err := iss.MintToken(efactori.Claims{Subject: "u1", CompanyID: companyID, Roles: []string{auth.RoleManage}})
		if err != nil {
			t.Fatalf("MintToken: %v", err)
		}
		return tok
	}
	c, err := v.Verify(t.Context(), mint("acme"))
	if err != nil || c.CompanyID != "acme" {
		t.Fatalf("Verify(acme) = %+v, %v", c, err)
	}
	for name, id := range attackCompanyIDs {
		c, err := v.Verify(t.Context(), mint(id))
		if !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("%s: Verify = %+v, %v; want ErrUnauthenticated", name, c, err)
			continue
		}
		if len(id) > 2 && strings.Contains(err.Error(), id) {
			t.Errorf("%s: the error repeats the claim: %v", name, err)
		}
	}
}
