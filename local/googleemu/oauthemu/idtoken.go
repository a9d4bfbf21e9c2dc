package oauthemu

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

func (s *Server) setKey(k *rsa.PrivateKey) error {
	thumb, err := (&jose.JSONWebKey{Key: &k.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		return fmt.Errorf("signing key thumbprint: %w", err)
	}
	s.key, s.keyID = k, base64.RawURLEncoding.EncodeToString(thumb)
	return nil
}

// keyLocked returns the signing key, generating it on first use so that servers which never
// issue ID tokens (most tests) do not pay for RSA key generation.
func (s *Server) keyLocked() (*rsa.PrivateKey, string, error) {
	if s.key == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, "", fmt.Errorf("generate signing key: %w", err)
		}
		if err := s.setKey(k); err != nil {
			return nil, "", err
		}
	}
	return s.key, s.keyID, nil
}

type idClaims struct {
	jwt.Claims
	AuthorizedParty string `json:"azp"`
	Email           string `json:"email,omitempty"`
	EmailVerified   *bool  `json:"email_verified,omitempty"`
	Name            string `json:"name,omitempty"`
	AtHash          string `json:"at_hash,omitempty"`
	Nonce           string `json:"nonce,omitempty"`
}

func (s *Server) signIDTokenLocked(k grantKey, scopes []string, nonce, accessToken string, now time.Time) (string, error) {
	key, kid, err := s.keyLocked()
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", fmt.Errorf("new signer: %w", err)
	}
	u := s.userinfoFor(k.account, scopes)
	// at_hash is the left half of the access token's SHA-256 (OIDC Core 3.1.3.6).
	sum := sha256.Sum256([]byte(accessToken))
	c := idClaims{
		Claims: jwt.Claims{
			Issuer:   s.issuer,
			Subject:  u.Sub,
			Audience: jwt.Audience{k.clientID},
			IssuedAt: jwt.NewNumericDate(now),
			Expiry:   jwt.NewNumericDate(now.Add(idTokenTTL)),
		},
		AuthorizedParty: k.clientID,
		Email:           u.Email,
		EmailVerified:   u.EmailVerified,
		Name:            u.Name,
		AtHash:          base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2]),
		Nonce:           nonce,
	}
	tok, err := jwt.Signed(signer).Claims(c).Serialize()
	if err != nil {
		return "", fmt.Errorf("sign id token: %w", err)
	}
	return tok, nil
}

func (s *Server) handleCerts(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	key, kid, err := s.keyLocked()
	s.mu.Unlock()
	if err != nil {
		s.log.Error("serve certs", "err", err)
		writeJSON(w, http.StatusInternalServerError, tokErr(0, "internal_failure", "Internal error"))
		return
	}
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key: &key.PublicKey, KeyID: kid, Algorithm: string(jose.RS256), Use: "sig",
	}}})
}

type discovery struct {
	Issuer                   string   `json:"issuer"`
	AuthorizationEndpoint    string   `json:"authorization_endpoint"`
	TokenEndpoint            string   `json:"token_endpoint"`
	UserinfoEndpoint         string   `json:"userinfo_endpoint"`
	RevocationEndpoint       string   `json:"revocation_endpoint"`
	JWKSURI                  string   `json:"jwks_uri"`
	ResponseTypes            []string `json:"response_types_supported"`
	SubjectTypes             []string `json:"subject_types_supported"`
	IDTokenSigningAlgs       []string `json:"id_token_signing_alg_values_supported"`
	Scopes                   []string `json:"scopes_supported"`
	TokenEndpointAuthMethods []string `json:"token_endpoint_auth_methods_supported"`
	Claims                   []string `json:"claims_supported"`
	CodeChallengeMethods     []string `json:"code_challenge_methods_supported"`
	GrantTypes               []string `json:"grant_types_supported"`
}

func (s *Server) handleDiscovery(w http.ResponseWriter, _ *http.Request) {
	iss := s.Issuer()
	if iss == "" {
		writeJSON(w, http.StatusServiceUnavailable, tokErr(0, "internal_failure", "Issuer not configured"))
		return
	}
	writeJSON(w, http.StatusOK, discovery{
		Issuer:                   iss,
		AuthorizationEndpoint:    iss + AuthPath,
		TokenEndpoint:            iss + TokenPath,
		UserinfoEndpoint:         iss + UserinfoPath,
		RevocationEndpoint:       iss + RevokePath,
		JWKSURI:                  iss + CertsPath,
		ResponseTypes:            []string{"code"},
		SubjectTypes:             []string{"public"},
		IDTokenSigningAlgs:       []string{string(jose.RS256)},
		Scopes:                   []string{"openid", "email", "profile"},
		TokenEndpointAuthMethods: []string{"client_secret_post", "client_secret_basic"},
		Claims:                   slices.Clone(supportedClaims),
		CodeChallengeMethods:     []string{"plain", "S256"},
		GrantTypes:               []string{"authorization_code", "refresh_token"},
	})
}

var supportedClaims = []string{"aud", "email", "email_verified", "exp", "iat", "iss", "name", "sub", "azp", "at_hash", "nonce"}
