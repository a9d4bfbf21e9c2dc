package oauth

import (
	"net"
	"net/http"
	"time"

	"golang.org/x/oauth2"
)

// NewTransport returns an HTTP transport whose every phase but the transfer of bodies has a
// bound, so a Google endpoint that stops answering cannot hold a function instance until its own
// timeout: 10 s to connect, 10 s for TLS, 2 min for response headers once the request is sent.
// Bodies are left unbounded because Drive uploads and downloads can be large; bound them with
// the request's context.
func NewTransport() *http.Transport {
	// Built from scratch rather than cloned from http.DefaultTransport, which instrumentation
	// may have replaced with another RoundTripper.
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 2 * time.Minute,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   16,
	}
}

// NewHTTPClient returns the client for calls to the OAuth endpoints, whose answers are small:
// NewTransport's bounds and 30 s for the whole exchange.
func NewHTTPClient() *http.Client {
	return &http.Client{Transport: NewTransport(), Timeout: 30 * time.Second}
}

// DriveClient returns an HTTP client that authorizes each request with a token from ts, for
// Google Drive API calls. base carries the requests; nil means NewTransport(). The client has no
// overall timeout, because uploads can be long; give each request a context deadline instead.
//
// A request whose token cannot be had fails with the token source's classified error, wrapped
// in a *url.Error, so drivesync.ClassOf still reads its class. DriveClient panics if ts is nil.
//
// Unlike oauth2.NewClient, it does not wrap ts in oauth2.ReuseTokenSource: ts, from
// Config.TokenSource, already caches, by the Config's clock.
func DriveClient(ts oauth2.TokenSource, base http.RoundTripper) *http.Client {
	if ts == nil {
		panic("oauth: DriveClient: nil token source")
	}
	if base == nil {
		base = NewTransport()
	}
	return &http.Client{Transport: &oauth2.Transport{Source: ts, Base: base}}
}
