package bluesky

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-alerts/herald/channels"
)

// fakePDS answers the three XRPC methods the adapter uses, keeps the
// records written, and can be told to fail the next putRecord.
type fakePDS struct {
	*httptest.Server
	mu       sync.Mutex
	records  map[string]map[string]any // rkey -> record
	order    []string
	sessions int
	refresh  int
	fail     []func(w http.ResponseWriter) // next putRecord answers
	access   string
}

func newFakePDS(t *testing.T) *fakePDS {
	f := &fakePDS{records: map[string]map[string]any{}, access: "access-1"}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func xrpcError(w http.ResponseWriter, status int, name, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": name, "message": msg})
}

func (f *fakePDS) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/xrpc/com.atproto.server.createSession":
		var in struct{ Identifier, Password string }
		json.NewDecoder(r.Body).Decode(&in)
		if in.Identifier != "health.test" || in.Password != "app-pass-1234" {
			xrpcError(w, 401, "AuthenticationRequired", "Invalid identifier or password")
			return
		}
		f.sessions++
		f.access = fmt.Sprintf("access-s%d", f.sessions)
		json.NewEncoder(w).Encode(map[string]string{"accessJwt": f.access, "refreshJwt": "refresh-1", "handle": "health.test", "did": "did:plc:health"})
	case "/xrpc/com.atproto.server.refreshSession":
		if r.Header.Get("Authorization") != "Bearer refresh-1" {
			xrpcError(w, 400, "InvalidToken", "wrong token")
			return
		}
		f.refresh++
		f.access = fmt.Sprintf("access-r%d", f.refresh)
		json.NewEncoder(w).Encode(map[string]string{"accessJwt": f.access, "refreshJwt": "refresh-1", "handle": "health.test", "did": "did:plc:health"})
	case "/xrpc/com.atproto.repo.putRecord":
		if r.Header.Get("Authorization") != "Bearer "+f.access {
			xrpcError(w, 400, "ExpiredToken", "Token has expired")
			return
		}
		if len(f.fail) > 0 {
			next := f.fail[0]
			f.fail = f.fail[1:]
			next(w)
			return
		}
		var in struct {
			Repo, Collection, Rkey string
			Record                 map[string]any
		}
		json.NewDecoder(r.Body).Decode(&in)
		if in.Repo != "did:plc:health" || in.Collection != "app.bsky.feed.post" {
			xrpcError(w, 400, "InvalidRequest", "bad repo or collection")
			return
		}
		if _, ok := f.records[in.Rkey]; !ok {
			f.order = append(f.order, in.Rkey)
		}
		f.records[in.Rkey] = in.Record
		json.NewEncoder(w).Encode(map[string]string{"uri": "at://did:plc:health/app.bsky.feed.post/" + in.Rkey, "cid": "cid-" + in.Rkey})
	default:
		http.NotFound(w, r)
	}
}

func (f *fakePDS) record(i int) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.records[f.order[i]]
}

func newAdapter(t *testing.T, f *fakePDS) *Bluesky {
	b, err := New(Config{PDS: f.URL, Handle: "health.test", AppPassword: "app-pass-1234"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var sent = time.Date(2026, 12, 3, 9, 30, 0, 0, time.UTC)

func thread() channels.Message {
	return channels.Message{Key: "a1.social.bluesky", Created: sent, Thread: []channels.Post{
		{Text: "Boil water: King County. Ask @mayor.bsky.social, see https://evil.example #fake\nhttps://h.example/a/a1?lang=en\n#HealthAlert #KingCountyWA",
			Lang: "en", Link: "https://h.example/a/a1?lang=en", Tags: []string{"#HealthAlert", "#KingCountyWA"}},
		{Text: "¡Hierva el agua! Condado de King, señal ☕\nhttps://h.example/a/a1?lang=es\n#HealthAlert #KingCountyWA",
			Lang: "es", Link: "https://h.example/a/a1?lang=es", Tags: []string{"#HealthAlert", "#KingCountyWA"}},
	}}
}

// facetsOf reads a record's facets back as "kind:text[start:end]".
func facetsOf(t *testing.T, rec map[string]any) []string {
	t.Helper()
	text := rec["text"].(string)
	var out []string
	facets, _ := rec["facets"].([]any)
	for _, f := range facets {
		fm := f.(map[string]any)
		idx := fm["index"].(map[string]any)
		start, end := int(idx["byteStart"].(float64)), int(idx["byteEnd"].(float64))
		feat := fm["features"].([]any)[0].(map[string]any)
		switch feat["$type"] {
		case "app.bsky.richtext.facet#link":
			if feat["uri"] != text[start:end] {
				t.Errorf("link facet %q covers %q", feat["uri"], text[start:end])
			}
			out = append(out, "link:"+text[start:end])
		case "app.bsky.richtext.facet#tag":
			if "#"+feat["tag"].(string) != text[start:end] {
				t.Errorf("tag facet %q covers %q", feat["tag"], text[start:end])
			}
			out = append(out, "tag:"+text[start:end])
		default:
			t.Errorf("unexpected facet %v", feat)
		}
	}
	return out
}

func TestThread(t *testing.T) {
	f := newFakePDS(t)
	b := newAdapter(t, f)
	receipt, err := b.Send(context.Background(), thread())
	if err != nil {
		t.Fatal(err)
	}
	if len(f.order) != 2 {
		t.Fatalf("%d records, want 2", len(f.order))
	}
	first, second := f.record(0), f.record(1)
	if first["reply"] != nil {
		t.Errorf("first post is a reply: %v", first["reply"])
	}
	if langs := fmt.Sprint(first["langs"], second["langs"]); langs != "[en] [es]" {
		t.Errorf("langs %s", langs)
	}
	// Only Herald's link and hashtags are active: not the mention, the
	// link or the tag written in the alert's text.
	if got := strings.Join(facetsOf(t, first), " "); got != "link:https://h.example/a/a1?lang=en tag:#HealthAlert tag:#KingCountyWA" {
		t.Errorf("facets of the first post: %s", got)
	}
	if got := strings.Join(facetsOf(t, second), " "); got != "link:https://h.example/a/a1?lang=es tag:#HealthAlert tag:#KingCountyWA" {
		t.Errorf("facets of the second post (multi-byte text before them): %s", got)
	}
	reply := second["reply"].(map[string]any)
	firstURI := "at://did:plc:health/app.bsky.feed.post/" + f.order[0]
	if reply["root"].(map[string]any)["uri"] != firstURI || reply["parent"].(map[string]any)["uri"] != firstURI {
		t.Errorf("second post replies to %v, want the first", reply)
	}
	if !strings.HasPrefix(receipt.ProviderID, firstURI+" ") {
		t.Errorf("ProviderID %q", receipt.ProviderID)
	}

	// A retry writes the same records under the same keys.
	if _, err := b.Send(context.Background(), thread()); err != nil {
		t.Fatal(err)
	}
	if len(f.order) != 2 || f.sessions != 1 {
		t.Errorf("retry: %d records, %d sign-ins; want 2 and 1", len(f.order), f.sessions)
	}

	// A Cancel answers the original thread's first post.
	cancel := channels.Message{Key: "a2.social.bluesky", Created: sent.Add(time.Hour), ReplyTo: receipt.ProviderID,
		Thread: []channels.Post{{Text: "CANCELLED: Boil water", Lang: "en"}}}
	if _, err := b.Send(context.Background(), cancel); err != nil {
		t.Fatal(err)
	}
	r := f.record(2)["reply"].(map[string]any)
	if r["root"].(map[string]any)["uri"] != firstURI || r["parent"].(map[string]any)["uri"] != firstURI {
		t.Errorf("cancel replies to %v", r)
	}
}

func TestSessionRenewed(t *testing.T) {
	f := newFakePDS(t)
	b := newAdapter(t, f)
	if _, err := b.Send(context.Background(), channels.Message{Key: "k1", Text: "one"}); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.access = "rotated" // the PDS no longer takes the session's token
	f.mu.Unlock()
	if _, err := b.Send(context.Background(), channels.Message{Key: "k2", Text: "two"}); err != nil {
		t.Fatal(err)
	}
	if f.refresh != 1 || len(f.order) != 2 {
		t.Errorf("%d refreshes, %d records; want 1 and 2", f.refresh, len(f.order))
	}
}

func TestErrorsClassified(t *testing.T) {
	reset := time.Now().Add(42 * time.Second).Unix()
	tests := []struct {
		name      string
		fail      func(w http.ResponseWriter)
		permanent bool
		after     bool
	}{
		{"rate limited", func(w http.ResponseWriter) {
			w.Header().Set("ratelimit-limit", "30")
			w.Header().Set("ratelimit-remaining", "0")
			w.Header().Set("ratelimit-reset", strconv.FormatInt(reset, 10))
			xrpcError(w, 429, "RateLimitExceeded", "slow down")
		}, false, true},
		{"server error", func(w http.ResponseWriter) { xrpcError(w, 502, "UpstreamFailure", "down") }, false, false},
		{"refused post", func(w http.ResponseWriter) { xrpcError(w, 400, "InvalidRequest", "grapheme too big") }, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakePDS(t)
			f.fail = append(f.fail, tt.fail)
			_, err := newAdapter(t, f).Send(context.Background(), channels.Message{Key: "k", Text: "x"})
			permanent, after, code := channels.Classify(err)
			if err == nil || permanent != tt.permanent || (after > 30*time.Second) != tt.after {
				t.Errorf("err %v: permanent %v, retry after %v, code %q", err, permanent, after, code)
			}
		})
	}
	t.Run("wrong app password", func(t *testing.T) {
		f := newFakePDS(t)
		b, _ := New(Config{PDS: f.URL, Handle: "health.test", AppPassword: "wrong"})
		_, err := b.Send(context.Background(), channels.Message{Key: "k", Text: "x"})
		if permanent, _, _ := channels.Classify(err); err == nil || !permanent || !strings.Contains(err.Error(), "sign in as health.test") {
			t.Errorf("err %v, permanent %v", err, permanent)
		}
	})
	t.Run("too long", func(t *testing.T) {
		f := newFakePDS(t)
		_, err := newAdapter(t, f).Send(context.Background(), channels.Message{Key: "k", Text: strings.Repeat("🇺🇸", MaxGraphemes+1)})
		if permanent, _, _ := channels.Classify(err); !permanent || f.sessions != 0 {
			t.Errorf("err %v: permanent %v, %d sign-ins", err, permanent, f.sessions)
		}
	})
	t.Run("no answer", func(t *testing.T) {
		b, _ := New(Config{PDS: "http://127.0.0.1:1", Handle: "h.test", AppPassword: "p"})
		_, err := b.Send(context.Background(), channels.Message{Key: "k", Text: "x"})
		if permanent, _, _ := channels.Classify(err); err == nil || permanent {
			t.Errorf("err %v, permanent %v", err, permanent)
		}
	})
}

func TestRecordKeyStable(t *testing.T) {
	a, b := recordKey("a1.social.bluesky", sent, 0), recordKey("a1.social.bluesky", sent, 1)
	if a == b || a != recordKey("a1.social.bluesky", sent, 0) || len(a) != 13 {
		t.Errorf("keys %q %q", a, b)
	}
}
