package sms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-alerts/herald/channels"
)

const (
	testSID   = "AC0123456789abcdef0123456789abcdef"
	testToken = "s3cr3tT0k3nValue0123456789abcdef"
	testTo    = "+15005550006"
)

// fakeTwilio speaks the Messages API: POST
// /2010-04-01/Accounts/{sid}/Messages.json with a form body, answering
// 201 with the message JSON, or an error JSON {code, message, more_info,
// status}.
type fakeTwilio struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []fakeReq
	// answer, when set, replaces the default 201 answer.
	answer http.HandlerFunc
}

type fakeReq struct {
	Path, Method, ContentType string
	User, Pass                string
	Form                      url.Values
}

func newFakeTwilio(t *testing.T, answer http.HandlerFunc) *fakeTwilio {
	t.Helper()
	f := &fakeTwilio{answer: answer}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		_ = r.ParseForm()
		f.mu.Lock()
		f.reqs = append(f.reqs, fakeReq{r.URL.Path, r.Method, r.Header.Get("Content-Type"), user, pass, r.PostForm})
		f.mu.Unlock()
		if f.answer != nil {
			f.answer(w, r)
			return
		}
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/2010-04-01/Accounts/"+testSID+"/Messages.json") {
			twilioError(w, 404, 20404, "The requested resource was not found")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"sid":         "SM0123456789abcdef0123456789abcdef",
			"account_sid": testSID,
			"to":          r.PostForm.Get("to"),
			"body":        r.PostForm.Get("Body"),
			"status":      "queued",
		})
	})
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

func twilioError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"code": code, "message": msg, "status": status,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code),
	})
}

func (f *fakeTwilio) requests() []fakeReq {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeReq(nil), f.reqs...)
}

func newTwilio(t *testing.T, cfg Config) *Twilio {
	t.Helper()
	if cfg.AccountSID == "" {
		cfg.AccountSID = testSID
	}
	if cfg.AuthToken == "" {
		cfg.AuthToken = testToken
	}
	tw, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return tw
}

func TestSendFromNumber(t *testing.T) {
	f := newFakeTwilio(t, nil)
	tw := newTwilio(t, Config{From: "+15005550001", BaseURL: f.URL, StatusCallback: "https://herald.example/v1/sms/status"})
	rec, err := tw.Send(context.Background(), channels.Message{Key: "k1", To: testTo, Text: "Boil water: advisory for Springfield. Details https://h.example/a/1"})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if rec.ProviderID != "SM0123456789abcdef0123456789abcdef" {
		t.Errorf("ProviderID = %q", rec.ProviderID)
	}
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("fake got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodPost || r.Path != "/2010-04-01/Accounts/"+testSID+"/Messages.json" {
		t.Errorf("request = %s %s", r.Method, r.Path)
	}
	if r.ContentType != "application/x-www-form-urlencoded" {
		t.Errorf("Content-Type = %q", r.ContentType)
	}
	if r.User != testSID || r.Pass != testToken {
		t.Errorf("basic auth = %q / (token mismatch: %v)", r.User, r.Pass != testToken)
	}
	want := url.Values{
		"To":             {testTo},
		"From":           {"+15005550001"},
		"Body":           {"Boil water: advisory for Springfield. Details https://h.example/a/1"},
		"StatusCallback": {"https://herald.example/v1/sms/status?d=k1"}, // the delivery key comes back with the report
	}
	for k, v := range want {
		if got := r.Form[k]; len(got) != 1 || got[0] != v[0] {
			t.Errorf("form %s = %q, want %q", k, got, v)
		}
	}
	if _, ok := r.Form["MessagingServiceSid"]; ok {
		t.Errorf("MessagingServiceSid sent without being configured")
	}
}

func TestSendMessagingServiceAndPathPrefix(t *testing.T) {
	f := newFakeTwilio(t, nil)
	tw := newTwilio(t, Config{MessagingServiceSID: "MG0123456789abcdef0123456789abcdef", BaseURL: f.URL + "/gw/"})
	if _, err := tw.Send(context.Background(), channels.Message{To: testTo, Text: "hi"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	r := f.requests()[0]
	if r.Path != "/gw/2010-04-01/Accounts/"+testSID+"/Messages.json" {
		t.Errorf("path = %q", r.Path)
	}
	if r.Form.Get("MessagingServiceSid") != "MG0123456789abcdef0123456789abcdef" {
		t.Errorf("MessagingServiceSid = %q", r.Form.Get("MessagingServiceSid"))
	}
	if _, ok := r.Form["From"]; ok {
		t.Errorf("From sent without being configured")
	}
	if _, ok := r.Form["StatusCallback"]; ok {
		t.Errorf("StatusCallback sent without being configured")
	}
}

func TestSendClassification(t *testing.T) {
	refused := func() string { // an address nothing listens on
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return "http://" + addr
	}()
	numberInMessage := "The 'To' number " + testTo + " is not a valid phone number."
	tests := []struct {
		name       string
		answer     http.HandlerFunc
		baseURL    string
		permanent  bool
		code       string
		retryAfter time.Duration
	}{
		{"21610 unsubscribed", func(w http.ResponseWriter, r *http.Request) {
			twilioError(w, 400, 21610, "Attempt to send to unsubscribed recipient "+testTo)
		}, "", true, "21610", 0},
		{"21211 invalid To", func(w http.ResponseWriter, r *http.Request) {
			twilioError(w, 400, 21211, numberInMessage)
		}, "", true, "21211", 0},
		{"21614 not mobile", func(w http.ResponseWriter, r *http.Request) {
			twilioError(w, 400, 21614, "'To' number "+testTo+" is not a valid mobile number")
		}, "", true, "21614", 0},
		{"other 400", func(w http.ResponseWriter, r *http.Request) {
			twilioError(w, 400, 21602, "Message body is required.")
		}, "", true, "21602", 0},
		{"401 auth", func(w http.ResponseWriter, r *http.Request) {
			twilioError(w, 401, 20003, "Authenticate")
		}, "", true, "20003", 0},
		{"429 with Retry-After", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "7")
			twilioError(w, 429, 20429, "Too Many Requests")
		}, "", false, "20429", 7 * time.Second},
		{"500", func(w http.ResponseWriter, r *http.Request) {
			twilioError(w, 500, 20500, "Internal Server Error")
		}, "", false, "20500", 0},
		{"503 html from a proxy", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "3")
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(503)
			fmt.Fprint(w, "<html>Service Unavailable</html>")
		}, "", false, "http 503", 3 * time.Second},
		{"302 not followed", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://elsewhere.example/", http.StatusFound)
		}, "", true, "http 302", 0},
		{"timeout", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, "", false, "timeout", 0},
		{"connection refused", nil, refused, false, "network", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := tc.baseURL
			if base == "" {
				base = newFakeTwilio(t, tc.answer).URL
			}
			tw := newTwilio(t, Config{From: "+15005550001", BaseURL: base, Timeout: 200 * time.Millisecond})
			start := time.Now()
			_, err := tw.Send(context.Background(), channels.Message{Key: "k", To: testTo, Text: "hello"})
			if err == nil {
				t.Fatal("Send succeeded, want error")
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("Send took %v", d)
			}
			permanent, retryAfter, code := channels.Classify(err)
			if permanent != tc.permanent || code != tc.code || retryAfter != tc.retryAfter {
				t.Errorf("Classify = (permanent %v, %v, %q), want (%v, %v, %q); err: %v",
					permanent, retryAfter, code, tc.permanent, tc.retryAfter, tc.code, err)
			}
			msg := err.Error()
			for _, secret := range []string{testTo, strings.TrimPrefix(testTo, "+"), testToken, testSID} {
				if strings.Contains(msg, secret) {
					t.Errorf("error %q leaks %q", msg, secret)
				}
			}
		})
	}
}

func TestSendAPIErrorType(t *testing.T) {
	f := newFakeTwilio(t, func(w http.ResponseWriter, r *http.Request) {
		twilioError(w, 400, 21610, "unsubscribed")
	})
	_, err := newTwilio(t, Config{From: "+15005550001", BaseURL: f.URL}).Send(context.Background(), channels.Message{To: testTo, Text: "x"})
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Code != 21610 || apiErr.Status != 400 ||
		apiErr.MoreInfo != "https://www.twilio.com/docs/errors/21610" {
		t.Fatalf("err = %#v", err)
	}
}

func TestSendContextCanceled(t *testing.T) {
	release := make(chan struct{})
	f := newFakeTwilio(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	tw := newTwilio(t, Config{From: "+15005550001", BaseURL: f.URL, Timeout: 10 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := tw.Send(ctx, channels.Message{To: testTo, Text: "x"})
	if time.Since(start) > 2*time.Second {
		t.Fatalf("Send ignored ctx cancellation")
	}
	if permanent, _, code := channels.Classify(err); permanent || code != "canceled" {
		t.Fatalf("err = %v (permanent %v, code %q)", err, permanent, code)
	}
}

func TestSendRefusesEmptyMessage(t *testing.T) {
	tw := newTwilio(t, Config{From: "+15005550001", BaseURL: "http://127.0.0.1:1"})
	for _, m := range []channels.Message{{Text: "x"}, {To: testTo}} {
		if permanent, _, _ := channels.Classify(mustErr(tw.Send(context.Background(), m))); !permanent {
			t.Errorf("Send(%+v) not permanent", m)
		}
	}
}

func mustErr(_ channels.Receipt, err error) error { return err }

func TestNewValidation(t *testing.T) {
	ok := Config{AccountSID: testSID, AuthToken: testToken, From: "+15005550001"}
	tests := []struct {
		name string
		mod  func(*Config)
	}{
		{"no sid", func(c *Config) { c.AccountSID = "" }},
		{"no token", func(c *Config) { c.AuthToken = "" }},
		{"token with symbols", func(c *Config) { c.AuthToken = "abc$def" }},
		{"no sender", func(c *Config) { c.From = "" }},
		{"bad base URL", func(c *Config) { c.BaseURL = "ftp://x" }},
		{"base URL without host", func(c *Config) { c.BaseURL = "http://" }},
		{"relative status callback", func(c *Config) { c.StatusCallback = "/v1/sms/status" }},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }},
	}
	if _, err := New(ok); err != nil {
		t.Fatalf("New(valid) = %v", err)
	}
	for _, tc := range tests {
		cfg := ok
		tc.mod(&cfg)
		_, err := New(cfg)
		if err == nil {
			t.Errorf("%s: New succeeded", tc.name)
			continue
		}
		if strings.Contains(err.Error(), "abc$def") || strings.Contains(err.Error(), testToken) {
			t.Errorf("%s: error leaks the token: %v", tc.name, err)
		}
	}
}

func TestCallbackURL(t *testing.T) {
	tests := []struct{ base, key, want string }{
		{"https://h.example/v1/sms/status", "a1.sms.r1", "https://h.example/v1/sms/status?d=a1.sms.r1"},
		{"https://h.example/v1/sms/status?x=1", "a1.sms.r1", "https://h.example/v1/sms/status?x=1&d=a1.sms.r1"},
		{"https://h.example/v1/sms/status", "a b&c", "https://h.example/v1/sms/status?d=a+b%26c"},
		{"https://h.example/v1/sms/status", "", "https://h.example/v1/sms/status"},
	}
	for _, tt := range tests {
		if got := CallbackURL(tt.base, tt.key); got != tt.want {
			t.Errorf("CallbackURL(%q, %q) = %q, want %q", tt.base, tt.key, got, tt.want)
		}
	}
}
