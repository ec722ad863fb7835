// Package session signs officers in to the console: it hands out
// challenges for their browser to sign with their originator key, and
// mints and checks the short-lived session token (a cookie) that then
// lets them read their agency's alerts. Tokens are stateless HMACs under
// one key kept in JetStream, so every Herald process of a cluster accepts
// them.
//
// It does not verify originator signatures or decide what a session may
// read or do (intake and httpapi do); a session never authorizes a
// submission, a preview or an approval: those stay signed one by one.
package session

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/herald-alerts/herald/internal/sharedkey"
	"github.com/nats-io/nats.go/jetstream"
)

// Bucket is the JetStream key-value bucket holding the signing key.
const Bucket = "HERALD_SESSIONS"

const keyName = "session-key"

// ChallengeTTL is how long a challenge may wait to be signed.
const ChallengeTTL = 2 * time.Minute

// Errors callers branch on.
var (
	ErrInvalid = errors.New("session: invalid or forged")
	ErrExpired = errors.New("session: expired")
)

// Session is a signed-in officer.
type Session struct {
	Originator string
	Key        string // the public key that signed in
	Expires    time.Time
}

// payload is a token's signed content: short names, Unix seconds.
type payload struct {
	Originator string `json:"o"`
	Key        string `json:"k"`
	Expires    int64  `json:"e"`
}

// Manager mints and checks challenges and session tokens.
type Manager struct {
	key []byte
	ttl time.Duration
	now func() time.Time
}

// Open reads the signing key from JetStream, creating it (and its bucket)
// the first time; ttl is how long a session lasts.
func Open(ctx context.Context, js jetstream.JetStream, replicas int, ttl time.Duration) (*Manager, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      Bucket,
		Description: "Herald: console session signing key",
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("create bucket %s: %w", Bucket, err)
	}
	key, err := sharedkey.Load(ctx, kv, keyName)
	if err != nil {
		return nil, err
	}
	return New(key, ttl), nil
}

// New is a Manager signing with key (tests; Open for the shared key).
func New(key []byte, ttl time.Duration) *Manager {
	return &Manager{key: key, ttl: ttl, now: time.Now}
}

// TTL is how long a session lasts.
func (m *Manager) TTL() time.Duration { return m.ttl }

func (m *Manager) mac(kind, payload string) string {
	h := hmac.New(sha256.New, m.key)
	h.Write([]byte(kind + "\x00" + payload))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// Challenge returns a fresh challenge: a timestamp and a random nonce,
// authenticated so that only challenges this server issued are accepted.
func (m *Manager) Challenge() string {
	nonce := make([]byte, 18)
	_, _ = rand.Read(nonce)
	payload := "herald-challenge." + strconv.FormatInt(m.now().Unix(), 10) + "." + base64.RawURLEncoding.EncodeToString(nonce)
	return payload + "." + m.mac("challenge", payload)
}

// CheckChallenge reports whether c is a challenge issued here within
// ChallengeTTL. That it is used once is the replay store's job (the
// signature over it is spent like any other).
func (m *Manager) CheckChallenge(c string) error {
	i := strings.LastIndexByte(c, '.')
	if i < 0 || !hmac.Equal([]byte(c[i+1:]), []byte(m.mac("challenge", c[:i]))) {
		return fmt.Errorf("%w: challenge not issued by this server", ErrInvalid)
	}
	parts := strings.Split(c[:i], ".")
	if len(parts) != 3 {
		return fmt.Errorf("%w: challenge", ErrInvalid)
	}
	secs, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return fmt.Errorf("%w: challenge", ErrInvalid)
	}
	if age := m.now().Sub(time.Unix(secs, 0)); age > ChallengeTTL || age < -time.Minute {
		return fmt.Errorf("%w: challenge older than %s; ask for a new one", ErrExpired, ChallengeTTL)
	}
	return nil
}

// Mint returns a token for originator, signed in with public key.
func (m *Manager) Mint(originator, key string) (token string, s Session) {
	s = Session{Originator: originator, Key: key, Expires: m.now().Add(m.ttl).Truncate(time.Second)}
	b, _ := json.Marshal(payload{Originator: originator, Key: key, Expires: s.Expires.Unix()})
	p := base64.RawURLEncoding.EncodeToString(b)
	return p + "." + m.mac("session", p), s
}

// Parse checks a token and returns its session.
func (m *Manager) Parse(token string) (Session, error) {
	p, sig, ok := strings.Cut(token, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(m.mac("session", p))) {
		return Session{}, ErrInvalid
	}
	b, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return Session{}, ErrInvalid
	}
	var pl payload
	if err := json.Unmarshal(b, &pl); err != nil || pl.Originator == "" {
		return Session{}, ErrInvalid
	}
	s := Session{Originator: pl.Originator, Key: pl.Key, Expires: time.Unix(pl.Expires, 0)}
	if !m.now().Before(s.Expires) {
		return Session{}, ErrExpired
	}
	return s, nil
}
