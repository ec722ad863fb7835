// Package client is a Go client for Herald's HTTP API: it signs and submits
// alerts and previews, and reads alert state. The herald CLI and the
// end-to-end tests use it; other Go programs may too.
//
// It does not know how Herald works inside: it speaks the HTTP contract.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/herald-alerts/herald/broadcaster/api"
	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/broadcaster/signing"
)

// Config says which server a Client talks to, and how.
type Config struct {
	Server string // base URL, e.g. http://127.0.0.1:8080
	Token  string // admin token for management endpoints; "" for none
	// HTTP is the client used; nil means one with a 30 s request timeout.
	HTTP *http.Client
	// Now is the signing clock; nil means time.Now.
	Now func() time.Time
}

// Client talks to one Herald server.
type Client struct {
	Config
}

// New returns a client for cfg.Server.
func New(cfg Config) *Client {
	cfg.Server = strings.TrimRight(cfg.Server, "/")
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{Config: cfg}
}

// Error is a refusal from the server (an RFC 9457 problem).
type Error struct {
	Status int           `json:"status"`
	Title  string        `json:"title"`
	Detail string        `json:"detail"`
	Errors []cap.Problem `json:"errors"`
	// Raw is the response body, for --json output.
	Raw []byte `json:"-"`
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s", e.Status, e.Title)
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	for _, p := range e.Errors {
		b.WriteString("\n  " + p.String())
	}
	return b.String()
}

// Accepted is the answer to a submission.
type Accepted = api.Accepted

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Publish signs body with kp and submits it. raw is the server's JSON.
func (c *Client) Publish(ctx context.Context, kp nkeys.KeyPair, body []byte) (acc Accepted, raw []byte, err error) {
	raw, err = c.signed(ctx, kp, signing.ActionSubmit, "/v1/alerts", body)
	if err == nil {
		err = json.Unmarshal(raw, &acc)
	}
	return acc, raw, err
}

// Preview is the answer of POST /v1/alerts/preview.
type Preview = api.Preview

// Preview signs body for preview and asks which regions and recipients it
// would reach.
func (c *Client) Preview(ctx context.Context, kp nkeys.KeyPair, body []byte) (p Preview, raw []byte, err error) {
	raw, err = c.signed(ctx, kp, signing.ActionPreview, "/v1/alerts/preview", body)
	if err == nil {
		err = json.Unmarshal(raw, &p)
	}
	return p, raw, err
}

// Reject refuses alert id, held for approval, as a second officer, saying
// why (the issuer reads the reason).
func (c *Client) Reject(ctx context.Context, kp nkeys.KeyPair, id, reason string) (acc Accepted, raw []byte, err error) {
	body, err := json.Marshal(api.Rejection{Reason: reason})
	if err != nil {
		return acc, nil, err
	}
	raw, err = c.signedAs(ctx, kp, signing.ActionReject(id), "/v1/alerts/"+url.PathEscape(id)+"/reject", "application/json", body)
	if err == nil {
		err = json.Unmarshal(raw, &acc)
	}
	return acc, raw, err
}

// Alerts is GET /v1/alerts.
type Alerts = api.Alerts

// List reads the alerts the token may see, newest first; state filters
// ("" for all, or states separated by commas), limit 0 is the server's
// default.
func (c *Client) List(ctx context.Context, state string, limit int) (l Alerts, raw []byte, err error) {
	q := url.Values{}
	if state != "" {
		q.Set("state", state)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := "/v1/alerts"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	raw, err = c.Get(ctx, path)
	if err == nil {
		err = json.Unmarshal(raw, &l)
	}
	return l, raw, err
}

func (c *Client) signed(ctx context.Context, kp nkeys.KeyPair, action, path string, body []byte) ([]byte, error) {
	return c.signedAs(ctx, kp, action, path, "application/cap+xml", body)
}

func (c *Client) signedAs(ctx context.Context, kp nkeys.KeyPair, action, path, contentType string, body []byte) ([]byte, error) {
	h, err := signing.Sign(kp, action, c.now(), body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Server+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", contentType)
	h.Set(req.Header.Set)
	return c.do(req)
}

// Approve releases alert id, held for approval, as a second officer.
func (c *Client) Approve(ctx context.Context, kp nkeys.KeyPair, id string) (acc Accepted, raw []byte, err error) {
	raw, err = c.signed(ctx, kp, signing.ActionApprove(id), "/v1/alerts/"+url.PathEscape(id)+"/approve", nil)
	if err == nil {
		err = json.Unmarshal(raw, &acc)
	}
	return acc, raw, err
}

// Alert is GET /v1/alerts/{id}.
type Alert = api.Alert

// Alert reads an alert's state.
func (c *Client) Alert(ctx context.Context, id string) (a Alert, raw []byte, err error) {
	raw, err = c.Get(ctx, "/v1/alerts/"+url.PathEscape(id))
	if err == nil {
		err = json.Unmarshal(raw, &a)
	}
	return a, raw, err
}

// CAP reads an alert's CAP XML.
func (c *Client) CAP(ctx context.Context, id string) ([]byte, error) {
	return c.Get(ctx, "/v1/alerts/"+url.PathEscape(id)+".cap")
}

// Get fetches path with the admin token when one is set.
func (c *Client) Get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Server+path, nil)
	if err != nil {
		return nil, err
	}
	return c.do(req)
}

// Send makes a JSON request with the admin token (management endpoints).
func (c *Client) Send(ctx context.Context, method, path string, in any) ([]byte, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Server+path, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.do(req)
}

// Upload posts a raw body of the given content type (CSV imports).
func (c *Client) Upload(ctx context.Context, path, contentType string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Server+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", contentType)
	return c.do(req)
}

func (c *Client) do(req *http.Request) ([]byte, error) {
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("herald server %s: %w", c.Server, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode >= 300 {
		e := &Error{Status: resp.StatusCode, Title: resp.Status, Raw: raw}
		if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "application/problem+json" {
			_ = json.Unmarshal(raw, e)
		}
		return raw, e
	}
	return raw, nil
}
