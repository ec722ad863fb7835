package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"code.dny.dev/ssrf"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/herald-alerts/herald/channels"
)

// receiver is a hospital endpoint that verifies each delivery with the
// standard-webhooks library.
type receiver struct {
	*httptest.Server
	mu        sync.Mutex
	ids       []string
	bodies    []string
	verifyErr []error
	headers   []http.Header
}

func newReceiver(t *testing.T, secret string, answer http.HandlerFunc) *receiver {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.ids = append(rc.ids, r.Header.Get("webhook-id"))
		rc.bodies = append(rc.bodies, string(body))
		rc.verifyErr = append(rc.verifyErr, wh.Verify(body, r.Header))
		rc.headers = append(rc.headers, r.Header.Clone())
		rc.mu.Unlock()
		if answer != nil {
			answer(w, r)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.ids)
}

func mustSecret(t *testing.T) string {
	t.Helper()
	s, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const body = `{"type":"alert.published","alert_id":"a1","regions":["us-county-53033"],"headline":"Boil water"}`

func TestSendSignedAndVerified(t *testing.T) {
	secret := mustSecret(t)
	rc := newReceiver(t, secret, nil)
	s := New(Config{AllowPrivate: true, UserAgent: "Herald-Test/1"})
	m := channels.Message{Key: "a1/webhook/h7", To: rc.URL + "/hooks/herald?token=abc", Body: []byte(body), Secret: secret}
	for i := 0; i < 2; i++ {
		if _, err := s.Send(context.Background(), m); err != nil {
			t.Fatalf("Send #%d: %v", i+1, err)
		}
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.ids) != 2 {
		t.Fatalf("receiver got %d deliveries", len(rc.ids))
	}
	for i := range rc.ids {
		if rc.verifyErr[i] != nil {
			t.Errorf("delivery %d: signature does not verify: %v", i, rc.verifyErr[i])
		}
		if rc.bodies[i] != body {
			t.Errorf("delivery %d: body = %q", i, rc.bodies[i])
		}
		h := rc.headers[i]
		if h.Get("Content-Type") != "application/json" || h.Get("User-Agent") != "Herald-Test/1" {
			t.Errorf("delivery %d: headers %v", i, h)
		}
		if sig := h.Get("webhook-signature"); !strings.HasPrefix(sig, "v1,") {
			t.Errorf("delivery %d: webhook-signature = %q", i, sig)
		}
	}
	if rc.ids[0] != "a1/webhook/h7" || rc.ids[1] != rc.ids[0] {
		t.Errorf("webhook-id across retries = %q", rc.ids)
	}
}

func TestSignatureFailsWithOtherSecret(t *testing.T) {
	rc := newReceiver(t, mustSecret(t), nil)
	s := New(Config{AllowPrivate: true})
	if _, err := s.Send(context.Background(), channels.Message{Key: "k", To: rc.URL, Body: []byte(body), Secret: mustSecret(t)}); err != nil {
		t.Fatal(err)
	}
	if err := rc.verifyErr[0]; !errors.Is(err, standardwebhooks.ErrNoMatchingSignature) {
		t.Fatalf("Verify with the wrong secret = %v", err)
	}
}

func TestPrivateAddressRefusedAtDial(t *testing.T) {
	secret := mustSecret(t)
	rc := newReceiver(t, secret, nil)
	s := New(Config{}) // AllowPrivate false
	for _, to := range []string{
		rc.URL, // 127.0.0.1: Send does no early check, so this is the dial-time Control
		strings.Replace(rc.URL, "127.0.0.1", "localhost", 1), // a name resolving to loopback
	} {
		_, err := s.Send(context.Background(), channels.Message{Key: "k", To: to, Body: []byte(body), Secret: secret})
		permanent, _, code := channels.Classify(err)
		if !permanent || code != "address not allowed" || !errors.Is(err, ErrAddressNotAllowed) {
			t.Errorf("Send(%s) = %v (permanent %v, code %q)", to, err, permanent, code)
		}
		if err != nil && !strings.Contains(err.Error(), "destination address not allowed") {
			t.Errorf("error text = %q", err)
		}
	}
	if n := rc.count(); n != 0 {
		t.Errorf("receiver got %d requests, want none", n)
	}
}

func TestGuardianWrapsThroughDial(t *testing.T) {
	// The classification relies on the Control error surviving net's and
	// http's wrapping.
	d := &net.Dialer{Control: ssrf.New(ssrf.WithAnyPort()).Safe}
	_, err := (&http.Client{Transport: &http.Transport{DialContext: d.DialContext}}).Get("http://127.0.0.1:9/")
	if !errors.Is(err, ssrf.ErrProhibitedIP) {
		t.Fatalf("err = %v, want ssrf.ErrProhibitedIP in the chain", err)
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	secret := mustSecret(t)
	target := newReceiver(t, secret, nil)
	rc := newReceiver(t, secret, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
	})
	_, err := New(Config{AllowPrivate: true}).Send(context.Background(),
		channels.Message{Key: "k", To: rc.URL, Body: []byte(body), Secret: secret})
	permanent, _, code := channels.Classify(err)
	if !permanent || code != "http 307" || !strings.Contains(err.Error(), "307") {
		t.Fatalf("err = %v (permanent %v, code %q)", err, permanent, code)
	}
	if target.count() != 0 {
		t.Error("redirect was followed")
	}
}

func TestClassification(t *testing.T) {
	secret := mustSecret(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	refused := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return "http://" + l.Addr().String()
	}()
	status := func(code int, hdr ...string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			for i := 0; i+1 < len(hdr); i += 2 {
				w.Header().Set(hdr[i], hdr[i+1])
			}
			w.WriteHeader(code)
			fmt.Fprint(w, strings.Repeat("x", 200<<10)) // a big answer is read bounded
		}
	}
	tests := []struct {
		name       string
		answer     http.HandlerFunc
		to         string
		ok         bool
		permanent  bool
		code       string
		retryAfter time.Duration
	}{
		{"200", status(200), "", true, false, "", 0},
		{"202", status(202), "", true, false, "", 0},
		{"400", status(400), "", false, true, "http 400", 0},
		{"401", status(401), "", false, true, "http 401", 0},
		{"404", status(404), "", false, true, "http 404", 0},
		{"408", status(408), "", false, false, "http 408", 0},
		{"410 gone", status(410), "", false, true, "http 410", 0},
		{"413", status(413), "", false, true, "http 413", 0},
		{"429 seconds", status(429, "Retry-After", "30"), "", false, false, "http 429", 30 * time.Second},
		{"429 http-date", status(429, "Retry-After", now.Add(90*time.Second).Format(http.TimeFormat)), "", false, false, "http 429", 90 * time.Second},
		{"429 garbage Retry-After", status(429, "Retry-After", "soon"), "", false, false, "http 429", 0},
		{"500", status(500), "", false, false, "http 500", 0},
		{"503 Retry-After", status(503, "Retry-After", "5"), "", false, false, "http 503", 5 * time.Second},
		{"301", status(301, "Location", "https://example.org/"), "", false, true, "http 301", 0},
		{"timeout", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, "", false, false, "timeout", 0},
		{"connection refused", nil, refused, false, false, "network", 0},
		{"ftp scheme", nil, "ftp://example.org/hook", false, true, "invalid message", 0},
		{"relative URL", nil, "/hook", false, true, "invalid message", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			to := tc.to
			if to == "" {
				to = newReceiver(t, secret, tc.answer).URL + "/hook?token=sekrit"
			}
			s := New(Config{AllowPrivate: true, Timeout: 200 * time.Millisecond})
			s.now = func() time.Time { return now }
			start := time.Now()
			_, err := s.Send(context.Background(), channels.Message{Key: "k", To: to, Body: []byte(body), Secret: secret})
			if time.Since(start) > 2*time.Second {
				t.Errorf("Send took %v", time.Since(start))
			}
			if tc.ok {
				if err != nil {
					t.Fatalf("Send = %v, want success", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Send succeeded, want error")
			}
			permanent, retryAfter, code := channels.Classify(err)
			if permanent != tc.permanent || code != tc.code || retryAfter != tc.retryAfter {
				t.Errorf("Classify = (permanent %v, %v, %q), want (%v, %v, %q); err: %v",
					permanent, retryAfter, code, tc.permanent, tc.retryAfter, tc.code, err)
			}
			if strings.Contains(err.Error(), "sekrit") || strings.Contains(err.Error(), secret) {
				t.Errorf("error leaks the URL token or secret: %v", err)
			}
		})
	}
}

func TestSendRefusesBadMessage(t *testing.T) {
	s := New(Config{AllowPrivate: true})
	good := channels.Message{Key: "k", To: "http://127.0.0.1:1/", Body: []byte(body), Secret: mustSecret(t)}
	for name, mod := range map[string]func(*channels.Message){
		"no key":            func(m *channels.Message) { m.Key = "" },
		"no secret":         func(m *channels.Message) { m.Secret = "" },
		"secret w/o prefix": func(m *channels.Message) { m.Secret = "c2VjcmV0" },
		"secret not base64": func(m *channels.Message) { m.Secret = "whsec_!!!not-base64!!!" },
	} {
		m := good
		mod(&m)
		_, err := s.Send(context.Background(), m)
		if permanent, _, code := channels.Classify(err); !permanent || code != "invalid message" {
			t.Errorf("%s: err = %v", name, err)
		}
		if err != nil && strings.Contains(err.Error(), "not-base64") {
			t.Errorf("%s: error quotes the secret: %v", name, err)
		}
	}
}

func TestNewSecret(t *testing.T) {
	a, b := mustSecret(t), mustSecret(t)
	if a == b || !strings.HasPrefix(a, "whsec_") {
		t.Fatalf("secrets %q %q", a, b)
	}
	if _, err := standardwebhooks.NewWebhook(a); err != nil {
		t.Fatalf("library rejects our secret: %v", err)
	}
	if n := len(strings.TrimPrefix(a, "whsec_")); n != 44 { // base64 of 32 bytes
		t.Errorf("encoded key length %d", n)
	}
}

func TestValidateURL(t *testing.T) {
	tests := []struct {
		url          string
		allowPrivate bool
		wantErr      bool
		notAllowed   bool
	}{
		{"https://hospital.example.org/hooks/herald", false, false, false},
		{"http://hospital.example.org:8080/h", false, false, false},
		{"https://93.184.215.14/h", false, false, false},
		{"https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/h", false, false, false},
		{"ftp://hospital.example.org/h", false, true, false},
		{"hospital.example.org/h", false, true, false},
		{"https:///h", false, true, false},
		{"://bad", false, true, false},
		{"http://localhost:8080/h", false, true, true},
		{"http://LOCALHOST./h", false, true, true},
		{"http://api.localhost/h", false, true, true},
		{"http://127.0.0.1/h", false, true, true},
		{"http://10.1.2.3/h", false, true, true},
		{"http://192.168.1.10/h", false, true, true},
		{"http://172.16.0.1/h", false, true, true},
		{"http://169.254.169.254/latest/meta-data", false, true, true},
		{"http://100.64.0.1/h", false, true, true},
		{"http://0.0.0.0/h", false, true, true},
		{"http://[::1]/h", false, true, true},
		{"http://[fe80::1]/h", false, true, true},
		{"http://[fd00::1]/h", false, true, true},
		{"http://[::ffff:127.0.0.1]/h", false, true, true},
		{"http://127.0.0.1:8080/h", true, false, false},
		{"http://localhost/h", true, false, false},
		{"ftp://localhost/h", true, true, false},
	}
	for _, tc := range tests {
		err := ValidateURL(tc.url, tc.allowPrivate)
		if (err != nil) != tc.wantErr || errors.Is(err, ErrAddressNotAllowed) != tc.notAllowed {
			t.Errorf("ValidateURL(%q, %v) = %v", tc.url, tc.allowPrivate, err)
		}
	}
}

// TestRotationSignsWithBoth: during a rotation a delivery carries both
// signatures, so a receiver verifying with the old secret and one that
// moved to the new one both accept it; a third secret does not.
func TestRotationSignsWithBoth(t *testing.T) {
	oldSecret, newSecret := mustSecret(t), mustSecret(t)
	s := New(Config{AllowPrivate: true})
	for _, tc := range []struct {
		name   string
		secret string
		ok     bool
	}{{"old secret", oldSecret, true}, {"new secret", newSecret, true}, {"other secret", mustSecret(t), false}} {
		rc := newReceiver(t, tc.secret, nil)
		m := channels.Message{Key: "k", To: rc.URL, Body: []byte(body), Secret: newSecret, PreviousSecret: oldSecret}
		if _, err := s.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		if err := rc.verifyErr[0]; (err == nil) != tc.ok {
			t.Errorf("%s: Verify = %v", tc.name, err)
		}
		if n := len(strings.Fields(rc.headers[0].Get("webhook-signature"))); n != 2 {
			t.Errorf("%s: %d signatures, want 2", tc.name, n)
		}
	}
}
