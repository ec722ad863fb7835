package session

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTokens(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	m := New([]byte("k1"), time.Hour)
	m.now = func() time.Time { return now }
	other := New([]byte("k2"), time.Hour)
	other.now = m.now

	token, s := m.Mint("wa-doh-1", "UKEY")
	got, err := m.Parse(token)
	if err != nil || got.Originator != "wa-doh-1" || got.Key != "UKEY" || !got.Expires.Equal(s.Expires) {
		t.Fatalf("Parse(minted) = %+v, %v", got, err)
	}
	payload, sig, _ := strings.Cut(token, ".")
	forged, _ := other.Mint("wa-doh-1", "UKEY")
	tests := []struct {
		name  string
		token string
		after time.Duration
		want  error
	}{
		{"other server's key", forged, 0, ErrInvalid},
		{"payload changed", strings.ToUpper(payload[:4]) + payload[4:] + "." + sig, 0, ErrInvalid},
		{"no signature", payload, 0, ErrInvalid},
		{"empty", "", 0, ErrInvalid},
		{"expired", token, time.Hour, ErrExpired},
		{"valid until the end", token, time.Hour - time.Second, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m.now = func() time.Time { return now.Add(tt.after) }
			if _, err := m.Parse(tt.token); !errors.Is(err, tt.want) {
				t.Fatalf("Parse = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestChallenges(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	m := New([]byte("k1"), time.Hour)
	m.now = func() time.Time { return now }
	c := m.Challenge()
	if c == m.Challenge() {
		t.Fatal("two challenges are equal")
	}
	other := New([]byte("k2"), time.Hour)
	other.now = m.now
	tests := []struct {
		name      string
		challenge string
		after     time.Duration
		want      error
	}{
		{"fresh", c, time.Minute, nil},
		{"too old", c, ChallengeTTL + time.Second, ErrExpired},
		{"another server's", other.Challenge(), 0, ErrInvalid},
		{"altered", strings.Replace(c, "herald-challenge.", "herald-challenge.9", 1), 0, ErrInvalid},
		{"garbage", "x", 0, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m.now = func() time.Time { return now.Add(tt.after) }
			if err := m.CheckChallenge(tt.challenge); !errors.Is(err, tt.want) {
				t.Fatalf("CheckChallenge = %v, want %v", err, tt.want)
			}
		})
	}
}

// FuzzParse: a cookie is outside input; no token a client makes up is
// accepted, and none crashes the parser.
func FuzzParse(f *testing.F) {
	m := New([]byte("fuzz-key"), time.Hour)
	good, _ := m.Mint("wa-doh-1", "UKEY")
	f.Add(good)
	f.Add("")
	f.Add("e30.")
	f.Add(good + "x")
	f.Fuzz(func(t *testing.T, token string) {
		// The MAC covers the token's text, so the only token accepted is
		// the one minted.
		if s, err := m.Parse(token); err == nil && token != good {
			t.Fatalf("accepted a forged token %q as %+v", token, s)
		}
		_ = m.CheckChallenge(token)
	})
}
