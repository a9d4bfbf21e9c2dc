package efactori

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/api/idtoken"
)

// NewTransport returns the transport under the eFactori clients: every phase but the transfer
// of bodies is bounded, so an eFactori that stops answering cannot hold a function instance
// until its own timeout. Bodies are not bounded because content can be up to 5 GiB; bound each
// request with its context instead.
func NewTransport() *http.Transport {
	// Built from scratch rather than cloned from http.DefaultTransport, which instrumentation
	// may have replaced with another RoundTripper.
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: time.Minute,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   32,
	}
}

// NewStaticTokenClient returns an HTTP client that sends token as the bearer token of every
// request: the stand-in's dev token (local/efactori, Options.DevToken) for tests and the local
// stack. base carries the requests; nil means NewTransport(). The client has no overall timeout,
// because content streams can be long.
func NewStaticTokenClient(token string, base http.RoundTripper) (*http.Client, error) {
	if token == "" {
		return nil, errors.New("new static token client: empty token")
	}
	if base == nil {
		base = NewTransport()
	}
	ts := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token, TokenType: "Bearer"})
	return &http.Client{Transport: &oauth2.Transport{Source: ts, Base: base}}, nil
}

// NewIDTokenClient returns the production HTTP client: every request carries a Google-signed ID
// token of the runtime service account (from the metadata server on Cloud Functions, or
// Application Default Credentials elsewhere) with aud = audience, the eFactori API base URL,
// which is what eFactori checks (docs/efactori-contract.md). Tokens are cached and refreshed
// before they expire. base carries the requests; nil means NewTransport().
//
// ctx is kept by the token source for later refreshes: pass a context that lives as long as the
// client, not a request's. It needs Google credentials, so no test exercises it; tests use NewStaticTokenClient against
// the stand-in.
func NewIDTokenClient(ctx context.Context, audience string, base http.RoundTripper, opts ...idtoken.ClientOption) (*http.Client, error) {
	if audience == "" {
		return nil, errors.New("new id token client: empty audience")
	}
	if base == nil {
		base = NewTransport()
	}
	ts, err := idtoken.NewTokenSource(ctx, audience, opts...)
	if err != nil {
		return nil, fmt.Errorf("new id token client for %s: %w", audience, err)
	}
	return &http.Client{Transport: &oauth2.Transport{Source: oauth2.ReuseTokenSource(nil, ts), Base: base}}, nil
}
