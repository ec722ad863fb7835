// Package webhook delivers signed JSON to hospitals' webhook endpoints.
//
// A Sender POSTs channels.Message.Body to the URL in Message.To, signed per
// the Standard Webhooks specification (https://www.standardwebhooks.com)
// with the standard-webhooks Go library: headers webhook-id (Message.Key,
// the same on every retry), webhook-timestamp (Unix seconds) and
// webhook-signature ("v1,<base64 HMAC-SHA256>"), secret Message.Secret
// ("whsec_<base64>"). NewSecret makes such a secret.
//
// Guarding against SSRF: only http and https URLs are used, redirects are
// never followed (a 3xx is a permanent failure), proxies from the
// environment are not used, and unless Config.AllowPrivate the address is
// checked when the connection is dialled (code.dny.dev/ssrf as the
// net.Dialer Control), so a name that resolves, or later rebinds, to a
// loopback, private, link-local or other special-purpose address is
// refused. ValidateURL is the early check for subscription time.
//
// It does not build the JSON (internal/render does), retry, honour
// Retry-After by waiting, or disable subscriptions after a 410: it only
// classifies, and the dispatcher acts.
package webhook

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"code.dny.dev/ssrf"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/herald-alerts/herald/channels"
	"github.com/herald-alerts/herald/channels/internal/httpx"
)

// DefaultTimeout bounds one delivery when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// DefaultUserAgent is sent when Config.UserAgent is empty.
const DefaultUserAgent = "Herald-Webhooks/1"

// ErrAddressNotAllowed is the cause of a refused destination: a loopback,
// private, link-local or other non-public address while private addresses
// are not allowed.
var ErrAddressNotAllowed = errors.New("destination address not allowed")

// Config configures a Sender.
type Config struct {
	// AllowPrivate allows destinations on loopback, private, link-local and
	// other special-purpose addresses (webhooks.allow_private_addresses);
	// for tests and closed networks.
	AllowPrivate bool
	// Timeout bounds one delivery, from dial to reading the answer; zero
	// means DefaultTimeout.
	Timeout time.Duration
	// UserAgent is the User-Agent header; empty means DefaultUserAgent.
	UserAgent string
}

// Sender delivers webhooks. It is safe for concurrent use.
type Sender struct {
	client    *http.Client
	userAgent string
	now       func() time.Time
}

var _ channels.Notifier = (*Sender)(nil)

// New returns a Sender for cfg.
func New(cfg Config) *Sender {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	dialer := &net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}
	if !cfg.AllowPrivate {
		// Any port: hospitals run receivers on 8443 and the like. The
		// Guardian's default networks (tcp4, tcp6) and deny lists stay.
		dialer.Control = ssrf.New(ssrf.WithAnyPort()).Safe
	}
	transport := &http.Transport{
		Proxy:                 nil, // a proxy would dial on our behalf, past the address check
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          0, // unlimited: one idle connection per hospital host is the common case
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   cfg.Timeout,
		ResponseHeaderTimeout: cfg.Timeout,
		ExpectContinueTimeout: time.Second,
	}
	return &Sender{
		client: &http.Client{
			Transport: transport,
			Timeout:   cfg.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
		userAgent: cfg.UserAgent,
		now:       time.Now,
	}
}

// Send POSTs m.Body as application/json to m.To, signed with m.Secret (and
// m.PreviousSecret during a rotation),
// with webhook-id m.Key. Any 2xx is success (the Receipt has no
// ProviderID). Failures: 408, 429 and 5xx answers (with their Retry-After,
// seconds or HTTP-date), timeouts and network errors are retryable; 410 is
// permanent with Code "http 410" and wraps channels.ErrGone (the receiver
// asks to be unsubscribed);
// 3xx (redirects are not followed) and other 4xx are permanent with Code
// "http <status>"; a refused address is permanent with Code
// "address not allowed"; a bad URL, key or secret is permanent with Code
// "invalid message". Errors name at most the URL's host, never the full URL
// (it may hold a token) or the secret.
func (s *Sender) Send(ctx context.Context, m channels.Message) (channels.Receipt, error) {
	u, err := parseURL(m.To)
	if err != nil {
		return channels.Receipt{}, channels.Permanent("invalid message", err)
	}
	if m.Key == "" {
		return channels.Receipt{}, channels.Permanent("invalid message", errors.New("webhook: message has no key (webhook-id)"))
	}
	wh, err := signer(m.Secret)
	if err != nil {
		return channels.Receipt{}, channels.Permanent("invalid message", err)
	}
	ts := s.now()
	sig, err := wh.Sign(m.Key, ts, m.Body)
	if err != nil {
		return channels.Receipt{}, channels.Permanent("invalid message", errors.New("webhook: signing failed"))
	}
	if m.PreviousSecret != "" {
		// Standard Webhooks: several space-separated signatures, any of
		// which verifies; a rotation signs with the old and the new secret.
		old, err := signer(m.PreviousSecret)
		if err != nil {
			return channels.Receipt{}, channels.Permanent("invalid message", err)
		}
		oldSig, err := old.Sign(m.Key, ts, m.Body)
		if err != nil {
			return channels.Receipt{}, channels.Permanent("invalid message", errors.New("webhook: signing failed"))
		}
		sig += " " + oldSig
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(m.Body))
	if err != nil {
		return channels.Receipt{}, channels.Permanent("invalid message", errors.New("webhook: cannot build request"))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", s.userAgent)
	req.Header.Set(standardwebhooks.HeaderWebhookID, m.Key)
	req.Header.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set(standardwebhooks.HeaderWebhookSignature, sig)

	resp, err := s.client.Do(req)
	if err != nil {
		if isAddressRefused(err) {
			return channels.Receipt{}, channels.Permanent("address not allowed",
				fmt.Errorf("webhook: %w (host %s)", ErrAddressNotAllowed, u.Hostname()))
		}
		return channels.Receipt{}, httpx.TransportError(ctx, "webhook: delivery", err)
	}
	// The answer is not used, but read (bounded) so the connection can be
	// reused.
	_, _ = httpx.ReadBody(resp.Body)

	switch st := resp.StatusCode; {
	case st >= 200 && st < 300:
		// The hospital's own endpoint took it: that is delivery.
		return channels.Receipt{Delivered: true}, nil
	case st == http.StatusGone:
		return channels.Receipt{}, channels.Permanent(httpx.StatusCode(st),
			fmt.Errorf("webhook: receiver answered http %d: %w", st, channels.ErrGone))
	case st >= 300 && st < 400:
		return channels.Receipt{}, channels.Permanent(httpx.StatusCode(st),
			fmt.Errorf("webhook: receiver answered http %d; redirects are not followed", st))
	default:
		after := httpx.RetryAfter(resp.Header.Get("Retry-After"), s.now())
		return channels.Receipt{}, httpx.StatusError(st, after, fmt.Errorf("webhook: receiver answered http %d", st))
	}
}

func signer(secret string) (*standardwebhooks.Webhook, error) {
	if !strings.HasPrefix(secret, secretPrefix) || len(secret) == len(secretPrefix) {
		return nil, errors.New("webhook: signing secret is missing or not whsec_<base64>")
	}
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		// The library's error quotes no secret, but say it in our words.
		return nil, errors.New("webhook: signing secret is not valid base64 after whsec_")
	}
	return wh, nil
}

func isAddressRefused(err error) bool {
	return errors.Is(err, ssrf.ErrProhibitedIP) ||
		errors.Is(err, ssrf.ErrProhibitedNetwork) ||
		errors.Is(err, ssrf.ErrProhibitedPort) ||
		errors.Is(err, ssrf.ErrInvalidHostPort)
}

const secretPrefix = "whsec_"

// NewSecret returns a fresh signing secret: "whsec_" followed by the
// standard base64 of 32 random bytes.
func NewSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("webhook: generating secret: %w", err)
	}
	return secretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// parseURL accepts absolute http(s) URLs with a host.
func parseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("webhook: URL does not parse")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, errors.New("webhook: URL scheme must be http or https")
	}
	if u.Hostname() == "" {
		return nil, errors.New("webhook: URL has no host")
	}
	return u, nil
}

// ValidateURL is the subscription-time check of a webhook URL: it must be
// an absolute http or https URL with a host. Unless allowPrivate, a host
// that is "localhost" (or *.localhost) or a literal IP address in a
// loopback, private, link-local or other special-purpose range is refused
// with an error wrapping ErrAddressNotAllowed. Names are not resolved here:
// what they resolve to is checked again when each delivery dials.
func ValidateURL(raw string, allowPrivate bool) error {
	u, err := parseURL(raw)
	if err != nil {
		return err
	}
	if allowPrivate {
		return nil
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return fmt.Errorf("webhook: %w: %s", ErrAddressNotAllowed, host)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if err := ssrf.New(ssrf.WithAnyPort()).SafeAddr(ip); err != nil {
			return fmt.Errorf("webhook: %w: %s", ErrAddressNotAllowed, host)
		}
	}
	return nil
}
