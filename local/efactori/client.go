package efactori

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/efactori/drivesync/shared/drivesync"
)

// AdminClient calls the admin endpoints of a running stand-in, for scripts and the demo.
type AdminClient struct {
	baseURL  string
	devToken string
	http     *http.Client
}

// NewAdminClient returns a client for the stand-in at baseURL; hc nil means http.DefaultClient.
func NewAdminClient(baseURL, devToken string, hc *http.Client) (*AdminClient, error) {
	if err := checkBaseURL(baseURL); err != nil {
		return nil, fmt.Errorf("new admin client: %w", err)
	}
	if devToken == "" {
		return nil, errors.New("new admin client: empty dev token")
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	return &AdminClient{baseURL: strings.TrimSuffix(baseURL, "/"), devToken: devToken, http: hc}, nil
}

// Upsert calls PUT /admin/companies/{companyId}/documents/{documentId}.
func (c *AdminClient) Upsert(ctx context.Context, companyID, documentID string, u Upsert) (drivesync.Event, error) {
	var e drivesync.Event
	err := c.call(ctx, http.MethodPut, documentPath(companyID, documentID), u, &e)
	return e, err
}

// Delete calls DELETE /admin/companies/{companyId}/documents/{documentId}.
func (c *AdminClient) Delete(ctx context.Context, companyID, documentID string) (drivesync.Event, error) {
	var e drivesync.Event
	err := c.call(ctx, http.MethodDelete, documentPath(companyID, documentID), nil, &e)
	return e, err
}

// MintToken calls POST /admin/tokens.
func (c *AdminClient) MintToken(ctx context.Context, req TokenRequest) (TokenResponse, error) {
	var tr TokenResponse
	err := c.call(ctx, http.MethodPost, "/admin/tokens", req, &tr)
	return tr, err
}

func documentPath(companyID, documentID string) string {
	return "/admin/companies/" + url.PathEscape(companyID) + "/documents/" + url.PathEscape(documentID)
}

func (c *AdminClient) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.devToken)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		var p Problem
		_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&p)
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, p.Detail)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}
