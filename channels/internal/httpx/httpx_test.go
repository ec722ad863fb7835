package httpx

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/herald-alerts/herald/channels"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"7", 7 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"0", 0},
		{"-5", 0},
		{"1.5", 0},
		{"soon", 0},
		{now.Add(45 * time.Second).Format(http.TimeFormat), 45 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"99999999999999999999", 0}, // overflows int64: ignored
	}
	for _, tc := range tests {
		if got := RetryAfter(tc.in, now); got != tc.want {
			t.Errorf("RetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestStatusError(t *testing.T) {
	for status, wantPermanent := range map[int]bool{
		301: true, 400: true, 401: true, 404: true, 410: true, 422: true,
		408: false, 429: false, 500: false, 502: false, 503: false,
	} {
		permanent, _, code := channels.Classify(StatusError(status, 0, errors.New("x")))
		if permanent != wantPermanent || code != StatusCode(status) {
			t.Errorf("status %d: permanent %v code %q", status, permanent, code)
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestTransportError(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	secretURL := "https://h.example/hook?token=sekrit"
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		code string
	}{
		{"net timeout", context.Background(), &url.Error{Op: "Post", URL: secretURL, Err: timeoutErr{}}, "timeout"},
		{"deadline", context.Background(), &url.Error{Op: "Post", URL: secretURL, Err: context.DeadlineExceeded}, "timeout"},
		{"canceled", canceled, &url.Error{Op: "Post", URL: secretURL, Err: context.Canceled}, "canceled"},
		{"refused", context.Background(), &url.Error{Op: "Post", URL: secretURL, Err: errors.New("connection refused")}, "network"},
	}
	for _, tc := range tests {
		err := TransportError(tc.ctx, "test: post", tc.err)
		permanent, _, code := channels.Classify(err)
		if permanent || code != tc.code {
			t.Errorf("%s: permanent %v code %q (%v)", tc.name, permanent, code, err)
		}
		if strings.Contains(err.Error(), "sekrit") {
			t.Errorf("%s: error leaks the URL: %v", tc.name, err)
		}
	}
}

func TestSnippet(t *testing.T) {
	if got := Snippet("  héllo wörld  ", 2); got != "h…" {
		t.Errorf("Snippet = %q", got)
	}
	if got := Snippet("short", 10); got != "short" {
		t.Errorf("Snippet = %q", got)
	}
}

// FuzzRetryAfter: whatever a provider sends, the delay is never negative.
func FuzzRetryAfter(f *testing.F) {
	for _, seed := range []string{"", "7", "-1", "Wed, 21 Oct 2015 07:28:00 GMT", "9223372036854775807", " 12 ", "soon"} {
		f.Add(seed)
	}
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		if d := RetryAfter(v, now); d < 0 {
			t.Fatalf("RetryAfter(%q) = %v", v, d)
		}
	})
}
