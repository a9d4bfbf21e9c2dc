package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"time"
)

// The connection API as the eFactori frontend sees it (docs/api/openapi.yaml); only the fields
// the story reads.
type (
	connection struct {
		ID                 string      `json:"id"`
		Name               string      `json:"name"`
		FolderLayout       string      `json:"folderLayout"`
		Locale             string      `json:"locale"`
		Status             string      `json:"status"`
		GoogleAccountEmail *string     `json:"googleAccountEmail"`
		Target             *target     `json:"target"`
		InitialCopy        initialCopy `json:"initialCopy"`
		LastError          *lastError  `json:"lastError"`
	}
	target struct {
		FolderID string   `json:"folderId"`
		Path     []string `json:"path"`
	}
	initialCopy struct {
		State  string `json:"state"`
		Listed int    `json:"listed"`
		Synced int    `json:"synced"`
		Failed int    `json:"failed"`
	}
	lastError struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	folder struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	folderListing struct {
		Folder struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"folder"`
		Folders       []folder `json:"folders"`
		NextPageToken *string  `json:"nextPageToken"`
	}
	problemDoc struct {
		Type   string `json:"type"`
		Title  string `json:"title"`
		Detail string `json:"detail"`
		Code   string `json:"code"`
	}
)

// apiClient calls the Connections function with an eFactori token, as the frontend does, and
// plays the customer's browser on drivesync's OAuth pages: it keeps their cookie.
type apiClient struct {
	base, token string
	hc          *http.Client
}

func newAPIClient(base, token string) *apiClient {
	jar, err := cookiejar.New(nil)
	if err != nil {
		panic(err) // cookiejar.New with nil options never fails
	}
	return &apiClient{base: strings.TrimSuffix(base, "/"), token: token, hc: &http.Client{
		Timeout: time.Minute,
		Jar:     jar,
		// The start link and the OAuth callback answer redirects (to Google, to the frontend),
		// which the story reads rather than follows.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// call sends in (when not nil) as JSON and decodes the answer into out (when not nil). Any
// status but want is an error that carries the problem document's type and detail.
func (c *apiClient) call(ctx context.Context, method, path string, in, out any, want int) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode != want {
		var p problemDoc
		if json.Unmarshal(data, &p) == nil && p.Type != "" {
			return fmt.Errorf("%s %s: %d %s: %s (%s)", method, path, resp.StatusCode, p.Title, p.Detail, p.Type)
		}
		return fmt.Errorf("%s %s: status %d, want %d: %.200s", method, path, resp.StatusCode, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

// follow GETs u, where a browser would go next, with the cookies the browser holds, and returns
// the redirect it answers.
func (c *apiClient) follow(ctx context.Context, u string) (status int, location string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, "", fmt.Errorf("GET %s: %w", u, err)
	}
	req.Header.Set("Accept", "text/html")
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, resp.Header.Get("Location"), nil
}
