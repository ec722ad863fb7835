// Package signing implements the scheme by which originators sign what they
// submit to Herald: an Ed25519 signature (NATS nkeys user keys) over an
// action, a timestamp and the exact bytes sent.
//
// The signed string is
//
//	"herald-v1." + action + "." + timestamp + "." + body
//
// where action names what the request does ("submit", "preview",
// "approve:<alert id>"), timestamp is Unix seconds in decimal and body is
// the request body byte for byte. Three headers carry it, on HTTP and NATS
// alike: Herald-Key (the public key, "U..."), Herald-Timestamp and
// Herald-Signature (standard base64 of the 64-byte signature). Binding the
// action stops a signed preview from being replayed as a submission.
//
// This package does not know who the keys belong to or what they may do;
// see the originators and intake packages.
package signing

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nkeys"
)

// Header names, shared by HTTP and NATS.
const (
	HeaderKey       = "Herald-Key"
	HeaderTimestamp = "Herald-Timestamp"
	HeaderSignature = "Herald-Signature"
)

// Actions.
const (
	ActionSubmit  = "submit"
	ActionPreview = "preview"
)

// ActionApprove is the action of approving alert id.
func ActionApprove(id string) string { return "approve:" + id }

// ActionReject is the action of refusing alert id, held for approval; the
// body is the JSON {"reason": "..."}.
func ActionReject(id string) string { return "reject:" + id }

// ActionSession is the action of opening a console session; the body is
// the challenge the server handed out.
const ActionSession = "session"

// MaxSkew is how far a submission's timestamp may be from Herald's clock.
const MaxSkew = 5 * time.Minute

// Errors callers branch on. All verification failures wrap ErrUnauthorized.
var (
	ErrUnauthorized = errors.New("unauthorized")
	ErrMissing      = fmt.Errorf("%w: missing signature headers (%s, %s, %s)", ErrUnauthorized, HeaderKey, HeaderTimestamp, HeaderSignature)
	ErrStale        = fmt.Errorf("%w: timestamp outside the allowed window of ±%s", ErrUnauthorized, MaxSkew)
	ErrBadSignature = fmt.Errorf("%w: signature does not match the key and body", ErrUnauthorized)
	ErrBadKey       = fmt.Errorf("%w: %s is not an originator public key (U...)", ErrUnauthorized, HeaderKey)
)

// Headers is the signature as carried on a request.
type Headers struct {
	Key       string
	Timestamp string
	Signature string
}

// Getter reads a header; http.Header.Get and nats.Header.Get both fit.
type Getter func(name string) string

// FromGetter reads the three headers.
func FromGetter(get Getter) Headers {
	return Headers{Key: get(HeaderKey), Timestamp: get(HeaderTimestamp), Signature: get(HeaderSignature)}
}

// Set writes the headers with set (http.Header.Set, nats.Header.Set).
func (h Headers) Set(set func(name, value string)) {
	set(HeaderKey, h.Key)
	set(HeaderTimestamp, h.Timestamp)
	set(HeaderSignature, h.Signature)
}

func message(action, ts string, body []byte) []byte {
	b := make([]byte, 0, len("herald-v1...")+len(action)+len(ts)+len(body))
	b = append(b, "herald-v1."...)
	b = append(b, action...)
	b = append(b, '.')
	b = append(b, ts...)
	b = append(b, '.')
	return append(b, body...)
}

// Sign signs body for action at time now with the seed's key pair.
func Sign(kp nkeys.KeyPair, action string, now time.Time, body []byte) (Headers, error) {
	pub, err := kp.PublicKey()
	if err != nil {
		return Headers{}, fmt.Errorf("sign: public key: %w", err)
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	sig, err := kp.Sign(message(action, ts, body))
	if err != nil {
		return Headers{}, fmt.Errorf("sign: %w", err)
	}
	return Headers{Key: pub, Timestamp: ts, Signature: base64.StdEncoding.EncodeToString(sig)}, nil
}

// Verify checks h against action and body at time now. It returns the
// signing time. Knowing whether the key belongs to an originator is the
// caller's job.
func Verify(h Headers, action string, body []byte, now time.Time) (time.Time, error) {
	if h.Key == "" || h.Timestamp == "" || h.Signature == "" {
		return time.Time{}, ErrMissing
	}
	if !nkeys.IsValidPublicUserKey(h.Key) {
		return time.Time{}, ErrBadKey
	}
	secs, err := strconv.ParseInt(strings.TrimSpace(h.Timestamp), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %s is not Unix seconds", ErrUnauthorized, HeaderTimestamp)
	}
	ts := time.Unix(secs, 0)
	if d := now.Sub(ts); d > MaxSkew || d < -MaxSkew {
		return time.Time{}, ErrStale
	}
	sig, err := base64.StdEncoding.DecodeString(h.Signature)
	// The decoder skips newlines; insist on the canonical form so that one
	// signature has exactly one spelling (the replay check keys on it).
	if err != nil || base64.StdEncoding.EncodeToString(sig) != h.Signature {
		return time.Time{}, fmt.Errorf("%w: %s is not base64", ErrUnauthorized, HeaderSignature)
	}
	kp, err := nkeys.FromPublicKey(h.Key)
	if err != nil {
		return time.Time{}, ErrBadKey
	}
	if err := kp.Verify(message(action, h.Timestamp, body), sig); err != nil {
		return time.Time{}, ErrBadSignature
	}
	return ts, nil
}

// GenerateSeed returns a new originator seed ("SU...") and its public key.
func GenerateSeed() (seed []byte, public string, err error) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		return nil, "", fmt.Errorf("generate key: %w", err)
	}
	if seed, err = kp.Seed(); err != nil {
		return nil, "", fmt.Errorf("generate key: %w", err)
	}
	if public, err = kp.PublicKey(); err != nil {
		return nil, "", fmt.Errorf("generate key: %w", err)
	}
	return seed, public, nil
}

// ParseSeed reads a seed file's content (surrounding whitespace ignored).
func ParseSeed(b []byte) (nkeys.KeyPair, error) {
	kp, err := nkeys.FromSeed([]byte(strings.TrimSpace(string(b))))
	if err != nil {
		return nil, fmt.Errorf("parse seed: %w", err)
	}
	if pub, _ := kp.PublicKey(); !nkeys.IsValidPublicUserKey(pub) {
		return nil, errors.New("parse seed: not a user seed (SU...)")
	}
	return kp, nil
}
