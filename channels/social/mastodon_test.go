package social

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-alerts/herald/channels"
)

const testToken = "tok_0123456789"

// fakeMastodon answers POST /api/v1/statuses like Mastodon: it checks the
// bearer token, and replays the same status for a repeated
// Idempotency-Key.
type fakeMastodon struct {
	*httptest.Server
	mu       sync.Mutex
	posts    []post
	byKey    map[string]string
	nextID   int
	override http.HandlerFunc
}

type post struct {
	Auth, IdempotencyKey, ContentType string
	Status, InReplyTo, Visibility     string
	Language                          string
	HasInReplyTo                      bool
}

func newFake(t *testing.T, override http.HandlerFunc) *fakeMastodon {
	t.Helper()
	f := &fakeMastodon{byKey: map[string]string{}, nextID: 110000000000000001, override: override}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/statuses", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		_, hasReply := r.PostForm["in_reply_to_id"]
		p := post{
			Auth: r.Header.Get("Authorization"), IdempotencyKey: r.Header.Get("Idempotency-Key"),
			ContentType: r.Header.Get("Content-Type"), Status: r.PostForm.Get("status"),
			InReplyTo: r.PostForm.Get("in_reply_to_id"), Visibility: r.PostForm.Get("visibility"),
			Language: r.PostForm.Get("language"), HasInReplyTo: hasReply,
		}
		f.mu.Lock()
		f.posts = append(f.posts, p)
		f.mu.Unlock()
		if f.override != nil {
			f.override(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if p.Auth != "Bearer "+testToken {
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "The access token is invalid"})
			return
		}
		f.mu.Lock()
		id, seen := f.byKey[p.IdempotencyKey]
		if !seen || p.IdempotencyKey == "" {
			id = strconv.Itoa(f.nextID)
			f.nextID++
			f.byKey[p.IdempotencyKey] = id
		}
		f.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": id, "content": "<p>" + p.Status + "</p>", "visibility": p.Visibility,
			"in_reply_to_id": nilIfEmpty(p.InReplyTo), "url": "https://m.example/@herald/" + id,
		})
	})
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (f *fakeMastodon) all() []post {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]post(nil), f.posts...)
}

func newMastodon(t *testing.T, cfg Config) *Mastodon {
	t.Helper()
	if cfg.AccessToken == "" {
		cfg.AccessToken = testToken
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

func TestSendPostsWithIdempotencyKey(t *testing.T) {
	f := newFake(t, nil)
	c := newMastodon(t, Config{Server: f.URL + "/"})
	m := channels.Message{Key: "a1/social/mastodon", Text: "Boil-water advisory for King County #HealthAlert", To: "ignored"}
	r1, err := c.Send(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := c.Send(context.Background(), m) // a retry
	if err != nil {
		t.Fatal(err)
	}
	if r1.ProviderID == "" || r1.ProviderID != r2.ProviderID {
		t.Errorf("ProviderIDs %q, %q: a retry must return the same status", r1.ProviderID, r2.ProviderID)
	}
	posts := f.all()
	if len(posts) != 2 {
		t.Fatalf("%d posts", len(posts))
	}
	p := posts[0]
	if p.Auth != "Bearer "+testToken || p.IdempotencyKey != m.Key || p.Status != m.Text ||
		p.Visibility != "public" || p.HasInReplyTo || p.ContentType != "application/x-www-form-urlencoded" {
		t.Errorf("post = %+v", p)
	}
}

func TestSendReply(t *testing.T) {
	f := newFake(t, nil)
	c := newMastodon(t, Config{Server: f.URL, Visibility: "unlisted"})
	rec, err := c.Send(context.Background(), channels.Message{Key: "a2/social", Text: "Update: advisory lifted", ReplyTo: "109999"})
	if err != nil {
		t.Fatal(err)
	}
	p := f.all()[0]
	if p.InReplyTo != "109999" || p.Visibility != "unlisted" || rec.ProviderID == "" {
		t.Errorf("post = %+v, receipt %+v", p, rec)
	}
}

// TestSendThread: one status per language, the second answering the
// first; a retry after the thread was cut short posts only what is
// missing (each status has its own Idempotency-Key).
func TestSendThread(t *testing.T) {
	f := newFake(t, nil)
	c := newMastodon(t, Config{Server: f.URL})
	m := channels.Message{Key: "a1.social.mastodon", ReplyTo: "1000", Thread: []channels.Post{
		{Text: "Boil water", Lang: "en-US"}, {Text: "Hierva el agua", Lang: "es"},
	}}
	rec, err := c.Send(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	posts := f.all()
	if len(posts) != 2 {
		t.Fatalf("%d posts", len(posts))
	}
	first, second := posts[0], posts[1]
	if first.InReplyTo != "1000" || first.Language != "en" || first.IdempotencyKey != "a1.social.mastodon" {
		t.Errorf("first post %+v", first)
	}
	if second.InReplyTo != rec.ProviderID || second.Language != "es" || second.IdempotencyKey != "a1.social.mastodon.1" {
		t.Errorf("second post %+v, first id %s", second, rec.ProviderID)
	}
	again, err := c.Send(context.Background(), m)
	if err != nil || again.ProviderID != rec.ProviderID {
		t.Errorf("retry: %+v, %v", again, err)
	}
}

func TestRouter(t *testing.T) {
	f := newFake(t, nil)
	r := Router{"mastodon": newMastodon(t, Config{Server: f.URL})}
	if _, err := r.Send(context.Background(), channels.Message{To: "mastodon", Text: "x"}); err != nil {
		t.Fatal(err)
	}
	_, err := r.Send(context.Background(), channels.Message{To: "myspace", Text: "x"})
	if permanent, _, _ := channels.Classify(err); !permanent {
		t.Errorf("unknown account: %v", err)
	}
}

func TestClassification(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	answer := func(code int, body string, hdr ...string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			for i := 0; i+1 < len(hdr); i += 2 {
				w.Header().Set(hdr[i], hdr[i+1])
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			_, _ = w.Write([]byte(body))
		}
	}
	refused := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return "http://" + l.Addr().String()
	}()
	tests := []struct {
		name       string
		answer     http.HandlerFunc
		server     string
		token      string
		permanent  bool
		code       string
		retryAfter time.Duration
		errText    string
	}{
		{"401 bad token", nil, "", "wrong", true, "http 401", 0, "access token is invalid"},
		{"403", answer(403, `{"error":"This action is not allowed"}`), "", "", true, "http 403", 0, "not allowed"},
		{"422 too long", answer(422, `{"error":"Validation failed: Text character limit of 500 exceeded"}`), "", "", true, "http 422", 0, "character limit"},
		{"404", answer(404, `{"error":"Record not found"}`), "", "", true, "http 404", 0, ""},
		{"302", answer(302, ``, "Location", "https://elsewhere.example/"), "", "", true, "http 302", 0, ""},
		{"429 Retry-After", answer(429, `{"error":"Too many requests"}`, "Retry-After", "12"), "", "", false, "http 429", 12 * time.Second, ""},
		{"429 X-RateLimit-Reset", answer(429, `{"error":"Too many requests"}`,
			"X-RateLimit-Limit", "300", "X-RateLimit-Remaining", "0",
			"X-RateLimit-Reset", now.Add(5*time.Minute).Format("2006-01-02T15:04:05.000Z")), "", "", false, "http 429", 5 * time.Minute, ""},
		{"429 nothing", answer(429, ``), "", "", false, "http 429", 0, ""},
		{"500", answer(500, `oops`), "", "", false, "http 500", 0, ""},
		{"503 Retry-After", answer(503, ``, "Retry-After", "4"), "", "", false, "http 503", 4 * time.Second, ""},
		{"200 without id", answer(200, `{}`), "", "", false, "bad response", 0, ""},
		{"timeout", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, "", "", false, "timeout", 0, ""},
		{"connection refused", nil, refused, "", false, "network", 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			server := tc.server
			if server == "" {
				server = newFake(t, tc.answer).URL
			}
			c := newMastodon(t, Config{Server: server, AccessToken: tc.token, Timeout: 200 * time.Millisecond})
			c.now = func() time.Time { return now }
			_, err := c.Send(context.Background(), channels.Message{Key: "k", Text: "hello"})
			if err == nil {
				t.Fatal("Send succeeded, want error")
			}
			permanent, retryAfter, code := channels.Classify(err)
			if permanent != tc.permanent || code != tc.code || retryAfter != tc.retryAfter {
				t.Errorf("Classify = (permanent %v, %v, %q), want (%v, %v, %q); err: %v",
					permanent, retryAfter, code, tc.permanent, tc.retryAfter, tc.code, err)
			}
			if !strings.Contains(err.Error(), tc.errText) {
				t.Errorf("error %q lacks %q", err, tc.errText)
			}
			if strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), "Bearer") {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}

func TestSendRefusesEmptyText(t *testing.T) {
	c := newMastodon(t, Config{Server: "http://127.0.0.1:1"})
	_, err := c.Send(context.Background(), channels.Message{Key: "k", Text: "  "})
	if permanent, _, _ := channels.Classify(err); !permanent {
		t.Fatalf("err = %v", err)
	}
}

func TestNewValidation(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no server":      {AccessToken: "t"},
		"bad scheme":     {Server: "ftp://m.example", AccessToken: "t"},
		"no token":       {Server: "https://m.example"},
		"bad visibility": {Server: "https://m.example", AccessToken: "t", Visibility: "everyone"},
		"negative":       {Server: "https://m.example", AccessToken: "t", Timeout: -1},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	c, err := New(Config{Server: "https://m.example/base/", AccessToken: "t"})
	if err != nil || c.endpoint != "https://m.example/base/api/v1/statuses" {
		t.Errorf("endpoint = %q, %v", c.endpoint, err)
	}
}
