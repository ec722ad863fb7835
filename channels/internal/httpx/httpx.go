// Package httpx holds the small HTTP pieces the channel adapters share:
// reading Retry-After, classifying an HTTP status or a transport failure
// into channels.Permanent / channels.Retryable, and reading a bounded
// response body. It does not retry, wait or log.
package httpx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/herald-alerts/herald/channels"
)

// MaxBody is how much of a response body adapters read at most.
const MaxBody = 64 << 10

// RetryAfter parses a Retry-After header value (delay-seconds or an
// HTTP-date, RFC 9110 section 10.2.3) relative to now. It returns zero when
// the value is absent, malformed or in the past.
func RetryAfter(value string, now time.Time) time.Duration {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(value, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		const maxSecs = int64(1<<63-1) / int64(time.Second)
		if secs > maxSecs {
			secs = maxSecs
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(value); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// StatusCode is the Code the adapters report for an HTTP status ("http 503").
func StatusCode(status int) string { return "http " + strconv.Itoa(status) }

// Retryable reports whether an HTTP status is worth retrying: 408, 429 and
// 5xx. Everything else that is not 2xx (3xx because redirects are not
// followed, other 4xx) is permanent.
func Retryable(status int) bool {
	return status == http.StatusRequestTimeout ||
		status == http.StatusTooManyRequests ||
		status >= 500
}

// StatusError classifies a non-2xx status: retryable (with retryAfter)
// when Retryable(status), permanent otherwise. Code is StatusCode(status).
func StatusError(status int, retryAfter time.Duration, err error) error {
	if Retryable(status) {
		return channels.Retryable(StatusCode(status), retryAfter, err)
	}
	return channels.Permanent(StatusCode(status), err)
}

// TransportError classifies a failure to get any HTTP response: a timeout
// (Code "timeout"), the caller cancelling ctx ("canceled") or any other
// network failure ("network"); all retryable. The *url.Error wrapper, whose
// text carries the request URL (it may hold tokens or account ids), is
// dropped; op says what was attempted ("sms: twilio request").
func TransportError(ctx context.Context, op string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout()):
		return channels.Retryable("timeout", 0, fmt.Errorf("%s: timed out: %w", op, err))
	case errors.Is(err, context.Canceled) || ctx.Err() != nil:
		return channels.Retryable("canceled", 0, fmt.Errorf("%s: canceled: %w", op, err))
	default:
		return channels.Retryable("network", 0, fmt.Errorf("%s: %w", op, err))
	}
}

// ReadBody reads at most MaxBody bytes of body, discards the rest up to
// another MaxBody (so a small remainder does not cost the connection) and
// closes it.
func ReadBody(body io.ReadCloser) ([]byte, error) {
	defer body.Close()
	b, err := io.ReadAll(io.LimitReader(body, MaxBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(body, MaxBody))
	return b, err
}

// Snippet shortens s for an error message.
func Snippet(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary.
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
