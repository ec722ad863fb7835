package test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// fakeTwilio speaks Twilio's Messages API (the real twilio-go client talks
// to it through twilio.api_base_url) and records what it was asked to send.
type fakeTwilio struct {
	*httptest.Server
	mu   sync.Mutex
	sent []twilioMsg
	// fail, when set, answers an error for a number: (http status, twilio code).
	fail  func(to string, attempt int) (int, int)
	tries map[string]int
}

type twilioMsg struct {
	SID, To, Body, From, Service, Callback string
}

func newFakeTwilio(t *testing.T) *fakeTwilio {
	f := &fakeTwilio{tries: map[string]int{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/Messages.json") {
			http.NotFound(w, r)
			return
		}
		if _, tok, ok := r.BasicAuth(); !ok || tok != "testauthtoken0123" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_ = r.ParseForm()
		to := r.PostForm.Get("To")
		f.mu.Lock()
		f.tries[to]++
		attempt := f.tries[to]
		fail := f.fail
		f.mu.Unlock()
		if fail != nil {
			if status, code := fail(to, attempt); status != 0 {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				fmt.Fprintf(w, `{"code": %d, "message": "fake error", "more_info": "", "status": %d}`, code, status)
				return
			}
		}
		f.mu.Lock()
		sid := fmt.Sprintf("SM%032d", len(f.sent)+1)
		f.sent = append(f.sent, twilioMsg{SID: sid, To: to, Body: r.PostForm.Get("Body"), From: r.PostForm.Get("From"),
			Service: r.PostForm.Get("MessagingServiceSid"), Callback: r.PostForm.Get("StatusCallback")})
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"sid": %q, "status": "queued", "to": %q}`, sid, to)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeTwilio) messages() []twilioMsg {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]twilioMsg(nil), f.sent...)
}

func (f *fakeTwilio) attempts(to string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tries[to]
}

// receiver is a hospital's webhook endpoint that verifies every request
// with the Standard Webhooks library before accepting it.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	secret   string
	verified []webhookDelivery
	ids      []string // webhook-id of every request, verified or not
	bad      int
	// status, when set, picks the answer for the n-th request (1-based).
	status func(n int) int
}

type webhookDelivery struct {
	ID      string
	Payload map[string]any
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.ids = append(rc.ids, r.Header.Get("webhook-id"))
		if rc.status != nil {
			if s := rc.status(len(rc.ids)); s != 0 && s != http.StatusOK {
				w.WriteHeader(s)
				return
			}
		}
		wh, err := standardwebhooks.NewWebhook(rc.secret)
		if err != nil || wh.Verify(body, r.Header) != nil {
			rc.bad++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var p map[string]any
		_ = json.Unmarshal(body, &p)
		rc.verified = append(rc.verified, webhookDelivery{ID: r.Header.Get("webhook-id"), Payload: p})
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) got() ([]webhookDelivery, []string, int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]webhookDelivery(nil), rc.verified...), append([]string(nil), rc.ids...), rc.bad
}

// fakeMastodon records statuses posted to it, honouring Idempotency-Key as
// Mastodon does.
type fakeMastodon struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []mastodonStatus
	byKey    map[string]string
}

type mastodonStatus struct {
	ID, Text, InReplyTo, Key string
}

func newFakeMastodon(t *testing.T) *fakeMastodon {
	f := &fakeMastodon{byKey: map[string]string{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/statuses" || r.Header.Get("Authorization") != "Bearer test-mastodon-token" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_ = r.ParseForm()
		key := r.Header.Get("Idempotency-Key")
		f.mu.Lock()
		id, seen := f.byKey[key]
		if !seen {
			id = fmt.Sprint(len(f.statuses) + 1)
			f.byKey[key] = id
			f.statuses = append(f.statuses, mastodonStatus{ID: id, Text: r.PostForm.Get("status"), InReplyTo: r.PostForm.Get("in_reply_to_id"), Key: key})
		}
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id": %q, "url": "https://social.example/@health/%s"}`, id, id)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeMastodon) posts() []mastodonStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]mastodonStatus(nil), f.statuses...)
}
