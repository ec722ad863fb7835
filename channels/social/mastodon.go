// Package social posts public alert notices to social networks: a Router
// hands each message to the adapter of the account it names (Message.To),
// and Mastodon is the adapter for Mastodon; Bluesky's is in
// channels/social/bluesky.
//
// Mastodon posts channels.Message.Thread (or Text) as statuses on one account of a
// Mastodon (or Mastodon-API compatible) server, threaded under
// Message.ReplyTo when set, with Message.Key as the Idempotency-Key header
// so that a retry after a lost answer does not post twice (Mastodon keeps
// keys for about an hour).
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
	"strconv"
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

// Send posts m's thread (or m.Text as one status) and returns the first
// status's id: the first under m.ReplyTo, the others as replies to the
// first, each with its language. Each status has its own Idempotency-Key
// (m.Key, and ".<n>" for the n-th after the first), so a retry after a
// partial thread gets the statuses already posted back instead of posting
// them again.
//
// Failures: 429 (waiting per Retry-After, else X-RateLimit-Reset), 408 and
// 5xx answers, timeouts and network errors are retryable; 401, 403, 422,
// 3xx and every other 4xx are permanent, with Code "http <status>" and the
// server's error text.
func (c *Mastodon) Send(ctx context.Context, m channels.Message) (channels.Receipt, error) {
	posts := m.Thread
	if len(posts) == 0 {
		posts = []channels.Post{{Text: m.Text}}
	}
	replyTo, first := m.ReplyTo, ""
	for i, p := range posts {
		key := m.Key
		if i > 0 && key != "" {
			key += "." + strconv.Itoa(i)
		}
		id, err := c.post(ctx, p, replyTo, key)
		if err != nil {
			return channels.Receipt{}, err
		}
		if i == 0 {
			first, replyTo = id, id
		}
	}
	return channels.Receipt{ProviderID: first}, nil
}

func (c *Mastodon) post(ctx context.Context, p channels.Post, replyTo, key string) (string, error) {
	if strings.TrimSpace(p.Text) == "" {
		return "", channels.Permanent("invalid message", errors.New("social: message has no text"))
	}
	form := url.Values{"status": {p.Text}, "visibility": {c.visibility}}
	if replyTo != "" {
		form.Set("in_reply_to_id", replyTo)
	}
	if lang, _, _ := strings.Cut(p.Lang, "-"); lang != "" {
		form.Set("language", strings.ToLower(lang)) // ISO 639-1, as Mastodon takes it
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", channels.Permanent("invalid message", fmt.Errorf("social: building request: %w", err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}

	resp, err := c.client.Do(req)
	if err != nil {
		return "", httpx.TransportError(ctx, "social: mastodon post", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		body, _ := httpx.ReadBody(resp.Body)
		var after time.Duration
		if resp.StatusCode == http.StatusTooManyRequests {
			after = rateLimitWait(resp.Header, c.now())
		} else {
			after = httpx.RetryAfter(resp.Header.Get("Retry-After"), c.now())
		}
		return "", httpx.StatusError(resp.StatusCode, after,
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
		return "", channels.Retryable("bad response", 0,
			fmt.Errorf("social: mastodon answered http %d without a readable status id", resp.StatusCode))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, httpx.MaxBody))
	return status.ID, nil
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

// Router sends each message through the adapter of the account named by
// Message.To ("mastodon", "bluesky").
type Router map[string]channels.Notifier

// Send implements channels.Notifier.
func (r Router) Send(ctx context.Context, m channels.Message) (channels.Receipt, error) {
	n := r[m.To]
	if n == nil {
		return channels.Receipt{}, channels.Permanent("unknown account", fmt.Errorf("social: no account %q is configured", m.To))
	}
	return n.Send(ctx, m)
}
