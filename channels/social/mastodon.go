// Package social posts public alert notices to social networks.
//
// Mastodon posts channels.Message.Text as a status on one account of a
// Mastodon (or Mastodon-API compatible) server, threaded under
// Message.ReplyTo when set, with Message.Key as the Idempotency-Key header
// so that a retry after a lost answer does not post twice (Mastodon keeps
// keys for about an hour). Message.To is ignored.
//
// It talks to the REST API (POST /api/v1/statuses) with net/http rather
// than through github.com/mattn/go-mastodon: go-mastodon retries 429
// answers itself with a backoff of up to an hour, hides Retry-After and the
// rate-limit headers from the caller, and has no way to set a request
// header, so it could neither send Idempotency-Key nor leave retries to the
// dispatcher. One form POST is simpler than working around all three.
//
// It does not build the text (hashtags, length limit: internal/render),
// upload media, retry or wait for rate limits.
package social

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/herald-alerts/herald/channels"
	"github.com/herald-alerts/herald/channels/internal/httpx"
)

// DefaultTimeout bounds one post when Config.Timeout is zero.
const DefaultTimeout = 15 * time.Second

// DefaultVisibility is used when Config.Visibility is empty.
const DefaultVisibility = "public"

// Config configures the Mastodon adapter (social.mastodon.*).
type Config struct {
	// Server is the instance's base URL ("https://mastodon.example").
	Server string
	// AccessToken is a user token with the write:statuses scope.
	AccessToken string
	// Timeout bounds one post; zero means DefaultTimeout.
	Timeout time.Duration
	// Visibility of posts: public, unlisted, private or direct; empty
	// means DefaultVisibility.
	Visibility string
}

// Mastodon posts statuses. It is safe for concurrent use.
type Mastodon struct {
	endpoint   string
	token      string
	visibility string
	client     *http.Client
	now        func() time.Time
}

var _ channels.Notifier = (*Mastodon)(nil)

// New checks cfg and returns the adapter. It does not contact the server.
func New(cfg Config) (*Mastodon, error) {
	u, err := url.Parse(strings.TrimRight(cfg.Server, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return nil, errors.New("social: mastodon server must be an http(s) base URL")
	}
	if cfg.AccessToken == "" {
		return nil, errors.New("social: mastodon access token is missing")
	}
	switch cfg.Visibility {
	case "":
		cfg.Visibility = DefaultVisibility
	case "public", "unlisted", "private", "direct":
	default:
		return nil, fmt.Errorf("social: mastodon visibility %q is not public, unlisted, private or direct", cfg.Visibility)
	}
	if cfg.Timeout < 0 {
		return nil, errors.New("social: mastodon timeout must not be negative")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	return &Mastodon{
		endpoint:   u.JoinPath("api", "v1", "statuses").String(),
		token:      cfg.AccessToken,
		visibility: cfg.Visibility,
		client: &http.Client{
			Transport: http.DefaultTransport.(*http.Transport).Clone(),
			Timeout:   cfg.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse // never carry the token elsewhere
			},
		},
		now: time.Now,
	}, nil
}

// Send posts m.Text and returns the new status id. Failures: 429 (waiting
// per Retry-After, else X-RateLimit-Reset), 408 and 5xx answers, timeouts
// and network errors are retryable; 401, 403, 422, 3xx and every other 4xx
// are permanent, with Code "http <status>" and the server's error text.
func (c *Mastodon) Send(ctx context.Context, m channels.Message) (channels.Receipt, error) {
	if strings.TrimSpace(m.Text) == "" {
		return channels.Receipt{}, channels.Permanent("invalid message", errors.New("social: message has no text"))
	}
	form := url.Values{"status": {m.Text}, "visibility": {c.visibility}}
	if m.ReplyTo != "" {
		form.Set("in_reply_to_id", m.ReplyTo)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return channels.Receipt{}, channels.Permanent("invalid message", fmt.Errorf("social: building request: %w", err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	if m.Key != "" {
		req.Header.Set("Idempotency-Key", m.Key)
	}

	resp, err := c.client.Do(req)
	if err != nil {
		return channels.Receipt{}, httpx.TransportError(ctx, "social: mastodon post", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		body, _ := httpx.ReadBody(resp.Body)
		var after time.Duration
		if resp.StatusCode == http.StatusTooManyRequests {
			after = rateLimitWait(resp.Header, c.now())
		} else {
			after = httpx.RetryAfter(resp.Header.Get("Retry-After"), c.now())
		}
		return channels.Receipt{}, httpx.StatusError(resp.StatusCode, after,
			fmt.Errorf("social: mastodon answered http %d%s", resp.StatusCode, apiError(body)))
	}
	defer resp.Body.Close()
	var status struct {
		ID string `json:"id"`
	}
	// A Status entity is a few KiB; 1 MiB is generous.
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&status); err != nil || status.ID == "" {
		// Posted, probably, but the answer is unusable: a retry carries the
		// same Idempotency-Key and gets the same status back.
		return channels.Receipt{}, channels.Retryable("bad response", 0,
			fmt.Errorf("social: mastodon answered http %d without a readable status id", resp.StatusCode))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, httpx.MaxBody))
	return channels.Receipt{ProviderID: status.ID}, nil
}

// rateLimitWait is Retry-After when given, else the time until
// X-RateLimit-Reset (an ISO 8601 timestamp).
func rateLimitWait(h http.Header, now time.Time) time.Duration {
	if d := httpx.RetryAfter(h.Get("Retry-After"), now); d > 0 {
		return d
	}
	if reset := strings.TrimSpace(h.Get("X-RateLimit-Reset")); reset != "" {
		if t, err := time.Parse(time.RFC3339Nano, reset); err == nil && t.After(now) {
			return t.Sub(now)
		}
	}
	return 0
}

// apiError renders Mastodon's {"error": "..."} answer for an error message.
func apiError(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return ": " + httpx.Snippet(e.Error, 200)
	}
	return ""
}
