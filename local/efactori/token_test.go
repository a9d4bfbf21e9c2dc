package efactori_test

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/go-cmp/cmp"

	"github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/shared/auth"
)

func TestMintedTokensVerifyWithGoOIDC(t *testing.T) {
	t.Parallel()
	s, base := newServer(t, 7)
	ctx := t.Context()
	provider, err := oidc.NewProvider(ctx, base)
	if err != nil {
		t.Fatalf("oidc.NewProvider(%s): %v", base, err)
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: audience})
	claims := efactori.Claims{
		Subject: "user-17", Email: "anne@acme.example", CompanyID: "acme", CompanyName: "Acme Bâtiment SPRL",
		Roles: []string{efactori.RoleIntegrationsManage},
	}

	tok, err := s.MintToken(claims)
	if err != nil {
		t.Fatalf("MintToken: %v", err)
	}
	idt, err := verifier.Verify(ctx, tok)
	if err != nil {
		t.Fatalf("a valid token does not verify: %v", err)
	}
	var got efactori.Claims
	if err := idt.Claims(&got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(claims, got); diff != "" {
		t.Errorf("claims (-minted +verified):\n%s", diff)
	}
	if got, want := idt.Issuer, base; got != want {
		t.Errorf("iss = %s, want %s", got, want)
	}
	if d := time.Until(idt.Expiry); d < 59*time.Minute || d > time.Hour {
		t.Errorf("token expires in %v, want one hour", d)
	}

	bad := []struct {
		name string
		opt  efactori.MintOption
		want string // part of the verifier's error, so each token fails for its own reason
	}{
		{"expired", efactori.Expired(), "expired"},
		{"wrong issuer", efactori.WithIssuer("https://evil.example"), "different provider"},
		{"wrong audience", efactori.WithAudience("someone-else"), "audience"},
		{"signed by another key", efactori.SignedByOtherKey(), "signature"},
		{"alg none", efactori.AlgNone(), ""},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tok, err := s.MintToken(claims, tt.opt)
			if err != nil {
				t.Fatalf("MintToken: %v", err)
			}
			_, err = verifier.Verify(ctx, tok)
			if err == nil {
				t.Fatal("the spoiled token verifies")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestMintOverHTTP(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, 7)
	provider, err := oidc.NewProvider(t.Context(), base)
	if err != nil {
		t.Fatal(err)
	}
	resp := do(t, "POST", base+"/admin/tokens", devToken, map[string]any{
		"sub": "u1", "company_id": "acme", "roles": []string{"integrations:manage"}, "ttl": "5m",
	})
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Fatalf("POST /admin/tokens: status %d, want %d", got, want)
	}
	tr := decode[efactori.TokenResponse](t, resp)
	idt, err := provider.Verifier(&oidc.Config{ClientID: audience}).Verify(t.Context(), tr.Token)
	if err != nil {
		t.Fatalf("minted token does not verify: %v", err)
	}
	if d := time.Until(idt.Expiry); d > 5*time.Minute || d < 4*time.Minute {
		t.Errorf("token expires in %v, want 5m", d)
	}
	if !idt.Expiry.Equal(tr.ExpiresAt) {
		t.Errorf("expiresAt %v, token exp %v", tr.ExpiresAt, idt.Expiry)
	}
	var c efactori.Claims
	if err := idt.Claims(&c); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Roles, []string{"integrations:manage"}) || c.CompanyID != "acme" {
		t.Errorf("claims = %+v", c)
	}
	for _, body := range []map[string]any{
		{"company_id": "acme"},                            // no sub
		{"sub": "u1", "company_id": "acme", "ttl": "-1m"}, // bad ttl
	} {
		if got, want := do(t, "POST", base+"/admin/tokens", devToken, body).StatusCode, http.StatusBadRequest; got != want {
			t.Errorf("POST /admin/tokens %v: status %d, want %d", body, got, want)
		}
	}
	if got, want := do(t, "POST", base+"/admin/tokens", "", map[string]any{"sub": "u"}).StatusCode, http.StatusUnauthorized; got != want {
		t.Errorf("POST /admin/tokens without token: status %d, want %d", got, want)
	}
}

// drivesync's own verifier (shared/auth) is what production runs against these tokens.
func TestSharedAuthVerifierAcceptsMintedTokens(t *testing.T) {
	t.Parallel()
	s, base := newServer(t, 7)
	v, err := auth.NewVerifier(base, audience, nil)
	if err != nil {
		t.Fatal(err)
	}
	claims := efactori.Claims{Subject: "u9", Email: "z@x.example", CompanyID: "acme", CompanyName: "Acme", Roles: []string{auth.RoleManage}}
	tok, err := s.MintToken(claims)
	if err != nil {
		t.Fatal(err)
	}
	caller, err := v.Verify(t.Context(), tok)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	want := auth.Caller{Subject: "u9", Email: "z@x.example", CompanyID: "acme", CompanyName: "Acme", Roles: []string{auth.RoleManage}}
	if diff := cmp.Diff(want, caller); diff != "" {
		t.Errorf("caller (-want +got):\n%s", diff)
	}
	for _, opt := range []efactori.MintOption{efactori.Expired(), efactori.AlgNone(), efactori.SignedByOtherKey(), efactori.WithAudience("x"), efactori.WithIssuer("http://127.0.0.1:1")} {
		tok, err := s.MintToken(claims, opt)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(t.Context(), tok); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("spoiled token: error = %v, want ErrUnauthenticated", err)
		}
	}
}
