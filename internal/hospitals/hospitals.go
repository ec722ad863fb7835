// Package hospitals keeps hospitals' webhook subscriptions: where to POST
// alerts (a URL and its signing secret), for which regions, from which CAP
// severity up, and whether exercises are wanted. Subscriptions live in the
// JetStream KV bucket HERALD_WEBHOOKS, shared by every Herald process on
// the NATS.
//
// The package decides which subscriptions an alert goes to (Matching). It
// does not deliver, sign or retry (channels/webhook and the dispatcher
// do); the dispatcher calls Disable when a receiver answers HTTP 410. The
// rules that live elsewhere (what URL is acceptable, which regions exist,
// how secrets are made) come in through a Policy, because the broadcaster
// does not import concrete adapters or geo.
//
// A Subscription's Secret is in its JSON (the store needs it), but never in
// its String or log value, nor in any error of this package.
package hospitals

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/herald-alerts/herald/broadcaster/cap"
)

// Bucket is the JetStream KV bucket that holds subscriptions, one key per
// subscription id.
const Bucket = "HERALD_WEBHOOKS"

// Errors callers branch on.
var (
	// ErrInvalid is wrapped by every validation error of Add.
	ErrInvalid = errors.New("invalid webhook subscription")
	// ErrNotFound is returned for an id that has no subscription.
	ErrNotFound = errors.New("webhook subscription not found")
)

// Subscription is one hospital endpoint.
type Subscription struct {
	ID      string   `json:"id"` // "wh_" + 26 random base32 characters
	URL     string   `json:"url"`
	Regions []string `json:"regions"` // sorted, no duplicates
	// MinSeverity is the lowest CAP severity delivered; "" means any.
	MinSeverity cap.Severity `json:"min_severity"`
	// Exercise subscriptions also receive Exercise and Test alerts.
	Exercise bool `json:"exercise"`
	// HANTypes, when set, are the CDC HAN types delivered (an alert
	// without a HAN type is then not); empty means every alert.
	HANTypes []cap.HANType `json:"han_types,omitempty"`
	Secret   string        `json:"secret"` // "whsec_..."
	// PreviousSecret, after a rotation, also signs deliveries until
	// PreviousUntil, so the hospital can switch its verifier without
	// missing an alert (Standard Webhooks allows several signatures).
	PreviousSecret string    `json:"previous_secret,omitempty"`
	PreviousUntil  time.Time `json:"previous_until,omitzero"`
	// Disabled subscriptions receive nothing; DisabledReason says why
	// (e.g. the receiver answered HTTP 410 Gone).
	Disabled       bool      `json:"disabled,omitempty"`
	DisabledReason string    `json:"disabled_reason,omitempty"`
	Created        time.Time `json:"created"`
	// Name is the hospital's name, for officers (acknowledgement views).
	Name string `json:"name,omitempty"`
	// Escalation lists who is texted, tier after tier, when an alert that
	// requires acknowledgement goes unacknowledged: each tier is a list of
	// E.164 numbers (the duty officer's phone, then the next contacts).
	Escalation [][]string `json:"escalation,omitempty"`
	// TokenHash is the SHA-256 (hex) of the hospital's own API token, with
	// which it manages this subscription and acknowledges alerts.
	TokenHash string `json:"token_hash,omitempty"`
}

// DisplayName is the hospital's name, or its URL's host when it gave none.
func (s Subscription) DisplayName() string {
	if s.Name != "" {
		return s.Name
	}
	return urlHost(s.URL)
}

// maxTiers and maxTierContacts bound an escalation list.
const (
	maxTiers        = 5
	maxTierContacts = 5
	maxName         = 200
)

// NormalizePhone makes an escalation contact E.164; the app passes
// channels/phone.Normalize with the default region.
type NormalizePhone func(raw string) (string, error)

// LogValue implements slog.LogValuer: never the secret, and of the URL only
// the host, since a path or query may carry the receiver's token.
func (s Subscription) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("id", s.ID),
		slog.String("host", urlHost(s.URL)),
		slog.Any("regions", s.Regions),
		slog.Any("min_severity", s.MinSeverity),
		slog.Bool("exercise", s.Exercise),
		slog.Bool("disabled", s.Disabled),
	)
}

// String names the subscription without its secret or full URL.
func (s Subscription) String() string { return "webhook subscription " + s.ID }

// GoString is String, for %#v.
func (s Subscription) GoString() string { return s.String() }

func urlHost(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Hostname()
	}
	return ""
}

// URLValidator checks a webhook URL when a subscription is added; the app
// passes channels/webhook.ValidateURL with its private-address setting.
type URLValidator func(raw string) error

// Policy is what Add needs from the rest of Herald. Every field is required.
type Policy struct {
	ValidateURL URLValidator
	// KnownRegion reports whether a region id exists (the geo registry).
	KnownRegion func(id string) bool
	// NewSecret makes a signing secret (channels/webhook.NewSecret).
	NewSecret func() (string, error)
	// NormalizePhone checks escalation contacts.
	NormalizePhone NormalizePhone
}

// Store reads and writes subscriptions. It is safe for concurrent use.
type Store struct {
	kv     jetstream.KeyValue
	policy Policy
}

// Config is what Open needs.
type Config struct {
	JS       jetstream.JetStream
	Replicas int // JetStream replicas of the stream or bucket (1 on one server)
	// Policy decides URLs, regions and secrets.
	Policy Policy
}

// Open creates the bucket, or updates its configuration, with the given
// number of replicas.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	js, replicas := cfg.JS, cfg.Replicas
	p := cfg.Policy
	if p.ValidateURL == nil || p.KnownRegion == nil || p.NewSecret == nil {
		return nil, errors.New("hospitals: Policy needs ValidateURL, KnownRegion and NewSecret")
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      Bucket,
		Description: "Herald: hospitals' webhook subscriptions",
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
		// One revision: a deleted subscription's secret does not linger.
		History: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("hospitals: create bucket %s: %w", Bucket, err)
	}
	return &Store{kv: kv, policy: p}, nil
}

// Limits on what a subscription may hold.
const (
	maxURL     = 2048
	maxRegions = 1000
)

var regionID = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)

// Add validates sub and stores it as a new subscription with a fresh ID,
// Secret and Created (whatever sub had in them is ignored, as are Disabled
// and DisabledReason). Regions are deduplicated and sorted and MinSeverity
// is put in its CAP spelling. Validation errors wrap ErrInvalid.
func (s *Store) Add(ctx context.Context, sub Subscription) (Subscription, error) {
	sub, err := s.check(sub)
	if err != nil {
		return Subscription{}, fmt.Errorf("hospitals: %w: %w", ErrInvalid, err)
	}
	sub.ID = "wh_" + strings.ToLower(rand.Text())
	if sub.Secret, err = s.policy.NewSecret(); err != nil {
		return Subscription{}, fmt.Errorf("hospitals: add: %w", err)
	}
	sub.Created = time.Now().UTC()
	b, err := json.Marshal(sub)
	if err != nil {
		return Subscription{}, fmt.Errorf("hospitals: encode %s: %w", sub, err)
	}
	if _, err := s.kv.Create(ctx, sub.ID, b); err != nil {
		return Subscription{}, fmt.Errorf("hospitals: store %s: %w", sub.ID, err)
	}
	return sub, nil
}

// check returns sub as Add stores it, or what is wrong with it.
func (s *Store) check(sub Subscription) (Subscription, error) {
	sub.URL = strings.TrimSpace(sub.URL)
	switch {
	case sub.URL == "":
		return sub, errors.New("url: missing")
	case len(sub.URL) > maxURL:
		return sub, fmt.Errorf("url: longer than %d bytes", maxURL)
	}
	if err := s.policy.ValidateURL(sub.URL); err != nil {
		return sub, fmt.Errorf("url: %w", err)
	}

	if len(sub.Regions) == 0 {
		return sub, errors.New("regions: at least one region is needed")
	}
	regions := slices.Clone(sub.Regions)
	slices.Sort(regions)
	sub.Regions = slices.Compact(regions)
	if len(sub.Regions) > maxRegions {
		return sub, fmt.Errorf("regions: more than %d", maxRegions)
	}
	for _, id := range sub.Regions {
		if !regionID.MatchString(id) || !s.policy.KnownRegion(id) {
			return sub, fmt.Errorf("regions: unknown region %q", truncate(id, 64))
		}
	}

	if sub.MinSeverity != "" {
		minSev, ok := cap.ParseSeverity(string(sub.MinSeverity))
		if !ok {
			return sub, fmt.Errorf("min_severity: want one of %v, or empty for any", cap.Severities)
		}
		sub.MinSeverity = minSev
	}
	for i, t := range sub.HANTypes {
		parsed, err := cap.ParseHANType(string(t))
		if err != nil {
			return sub, fmt.Errorf("han_types: %w", err)
		}
		sub.HANTypes[i] = parsed
	}
	sub.Name = strings.TrimSpace(sub.Name)
	if len(sub.Name) > maxName {
		return sub, fmt.Errorf("name: longer than %d bytes", maxName)
	}
	if len(sub.Escalation) > maxTiers {
		return sub, fmt.Errorf("escalation: at most %d tiers", maxTiers)
	}
	tiers := make([][]string, 0, len(sub.Escalation))
	for i, tier := range sub.Escalation {
		if len(tier) == 0 || len(tier) > maxTierContacts {
			return sub, fmt.Errorf("escalation[%d]: 1 to %d phone numbers", i, maxTierContacts)
		}
		contacts := make([]string, len(tier))
		for j, raw := range tier {
			e164, err := s.policy.NormalizePhone(raw)
			if err != nil {
				return sub, fmt.Errorf("escalation[%d][%d]: %w", i, j, err)
			}
			contacts[j] = e164
		}
		tiers = append(tiers, contacts)
	}
	sub.Escalation = tiers
	sub.Secret, sub.Disabled, sub.DisabledReason, sub.TokenHash = "", false, "", ""
	return sub, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// SeverityAtLeast reports whether an alert of severity sev reaches a
// subscription whose minimum is minSev: minSev "" (or Unknown) takes every
// alert, and an unknown or missing sev ranks lowest. Case is ignored.
func SeverityAtLeast(sev, minSev cap.Severity) bool {
	return sev.Rank() >= minSev.Rank()
}

// Get returns the subscription with the given id, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (Subscription, error) {
	sub, _, err := s.get(ctx, id)
	return sub, err
}

// Delete removes the subscription with the given id, or returns
// ErrNotFound.
func (s *Store) Delete(ctx context.Context, id string) error {
	if _, _, err := s.get(ctx, id); err != nil {
		return err
	}
	if err := s.kv.Delete(ctx, id); err != nil {
		return fmt.Errorf("hospitals: delete %s: %w", id, err)
	}
	return nil
}

// maxCASRetries bounds the read-modify-write loop of update.
const maxCASRetries = 8

// update changes a subscription with compare-and-set: change is applied
// to the latest version, again if another writer got there first. It
// returns ErrNotFound for an unknown id.
func (s *Store) update(ctx context.Context, id string, change func(*Subscription) error) (Subscription, error) {
	for range maxCASRetries {
		sub, rev, err := s.get(ctx, id)
		if err != nil {
			return Subscription{}, err
		}
		if err := change(&sub); err != nil {
			return Subscription{}, err
		}
		b, err := json.Marshal(sub)
		if err != nil {
			return Subscription{}, fmt.Errorf("hospitals: encode %s: %w", sub, err)
		}
		_, err = s.kv.Update(ctx, id, b, rev)
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			continue // changed meanwhile: read it again
		}
		if err != nil {
			return Subscription{}, fmt.Errorf("hospitals: update %s: %w", id, err)
		}
		return sub, nil
	}
	return Subscription{}, fmt.Errorf("hospitals: update %s: too many concurrent updates", id)
}

// TokenPrefix starts every hospital token.
const TokenPrefix = "hk_"

// IssueToken gives the hospital a token of its own (shown once; only its
// hash is kept), replacing any earlier one. With it the hospital manages
// this subscription and acknowledges alerts, without the admin token.
func (s *Store) IssueToken(ctx context.Context, id string) (string, error) {
	token := TokenPrefix + strings.ToLower(rand.Text()) + strings.ToLower(rand.Text())
	_, err := s.update(ctx, id, func(sub *Subscription) error {
		sub.TokenHash = tokenHash(token)
		return nil
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

func tokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// ByToken returns the subscription a hospital token belongs to, or
// ErrNotFound. Subscriptions are few (hundreds), so this reads them all.
func (s *Store) ByToken(ctx context.Context, token string) (Subscription, error) {
	if !strings.HasPrefix(token, TokenPrefix) {
		return Subscription{}, ErrNotFound
	}
	want := tokenHash(token)
	subs, err := s.List(ctx)
	if err != nil {
		return Subscription{}, err
	}
	for _, sub := range subs {
		if sub.TokenHash != "" && subtle.ConstantTimeCompare([]byte(sub.TokenHash), []byte(want)) == 1 {
			return sub, nil
		}
	}
	return Subscription{}, ErrNotFound
}

// Disable stops deliveries to the subscription, recording why (e.g. "HTTP
// 410 Gone"). It returns ErrNotFound for an unknown id.
func (s *Store) Disable(ctx context.Context, id, reason string) error {
	_, err := s.update(ctx, id, func(sub *Subscription) error {
		sub.Disabled, sub.DisabledReason = true, truncate(reason, 256)
		return nil
	})
	return err
}

// Pause stops deliveries until Resume (an operator's choice: a hospital's
// maintenance window, say). Alerts published meanwhile leave it out, and
// deliveries already queued for it are skipped.
func (s *Store) Pause(ctx context.Context, id string) (Subscription, error) {
	return s.update(ctx, id, func(sub *Subscription) error {
		sub.Disabled, sub.DisabledReason = true, "paused by an operator"
		return nil
	})
}

// Resume turns a paused or disabled subscription back on.
func (s *Store) Resume(ctx context.Context, id string) (Subscription, error) {
	return s.update(ctx, id, func(sub *Subscription) error {
		sub.Disabled, sub.DisabledReason = false, ""
		return nil
	})
}

// Rotate gives the subscription a new signing secret; the old one keeps
// signing too for grace, so a hospital can move its verifier to the new
// secret without a gap.
func (s *Store) Rotate(ctx context.Context, id string, grace time.Duration) (Subscription, error) {
	if s.policy.NewSecret == nil {
		return Subscription{}, errors.New("hospitals: no secret generator configured")
	}
	secret, err := s.policy.NewSecret()
	if err != nil {
		return Subscription{}, fmt.Errorf("hospitals: new secret: %w", err)
	}
	return s.update(ctx, id, func(sub *Subscription) error {
		sub.PreviousSecret, sub.PreviousUntil = sub.Secret, time.Now().Add(grace).UTC()
		sub.Secret = secret
		return nil
	})
}

// Secrets are the secrets that sign a delivery at now: the current one,
// and the previous one during its grace period.
func (s Subscription) Secrets(now time.Time) []string {
	if s.PreviousSecret != "" && now.Before(s.PreviousUntil) {
		return []string{s.Secret, s.PreviousSecret}
	}
	return []string{s.Secret}
}

// List returns every subscription, oldest first. It reads the bucket in
// one pass (a KV watch of the latest values), which takes milliseconds for
// the few thousand subscriptions a deployment has.
func (s *Store) List(ctx context.Context) ([]Subscription, error) {
	w, err := s.kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("hospitals: list %s: %w", Bucket, err)
	}
	defer func() {
		_ = w.Stop()
		// Let a delivery blocked on the full channel return, so the
		// subscription can close.
		go func() {
			for range w.Updates() {
			}
		}()
	}()

	var subs []Subscription
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("hospitals: list %s: %w", Bucket, ctx.Err())
		case e, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("hospitals: list %s: watch stopped", Bucket)
			}
			if e == nil { // all current values are in
				slices.SortFunc(subs, func(a, b Subscription) int {
					if c := a.Created.Compare(b.Created); c != 0 {
						return c
					}
					return strings.Compare(a.ID, b.ID)
				})
				return subs, nil
			}
			sub, err := decode(e.Key(), e.Value())
			if err != nil {
				// One bad record must not keep alerts from every other
				// hospital.
				slog.WarnContext(ctx, "hospitals: skipping a subscription that does not decode", "err", err)
				continue
			}
			subs = append(subs, sub)
		}
	}
}

// Matching returns the enabled subscriptions an alert goes to: those
// sharing at least one region with regions, whose MinSeverity severity
// reaches (see SeverityAtLeast), whose HAN types (if any) include han,
// and, for an exercise (CAP status Exercise
// or Test), only those with Exercise set. Draft alerts are the caller's to
// keep back.
func (s *Store) Matching(ctx context.Context, regions []string, severity cap.Severity, han cap.HANType, exercise bool) ([]Subscription, error) {
	subs, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	return match(subs, regions, severity, han, exercise), nil
}

func match(subs []Subscription, regions []string, severity cap.Severity, han cap.HANType, exercise bool) []Subscription {
	var out []Subscription
	for _, sub := range subs {
		if sub.Disabled || (exercise && !sub.Exercise) || !SeverityAtLeast(severity, sub.MinSeverity) {
			continue
		}
		if len(sub.HANTypes) > 0 && !slices.Contains(sub.HANTypes, han) {
			continue
		}
		if slices.ContainsFunc(regions, func(r string) bool { return slices.Contains(sub.Regions, r) }) {
			out = append(out, sub)
		}
	}
	return out
}

// validID reports whether id could be a subscription id, so that malformed
// ids from outside are ErrNotFound rather than a KV key error.
func validID(id string) bool {
	rest, ok := strings.CutPrefix(id, "wh_")
	if !ok || len(rest) != 26 {
		return false
	}
	for _, c := range rest {
		if (c < 'a' || c > 'z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}

func (s *Store) get(ctx context.Context, id string) (Subscription, uint64, error) {
	if !validID(id) {
		return Subscription{}, 0, ErrNotFound
	}
	e, err := s.kv.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Subscription{}, 0, ErrNotFound
	}
	if err != nil {
		return Subscription{}, 0, fmt.Errorf("hospitals: get %s: %w", id, err)
	}
	sub, err := decode(id, e.Value())
	return sub, e.Revision(), err
}

func decode(id string, b []byte) (Subscription, error) {
	var sub Subscription
	if err := json.Unmarshal(b, &sub); err != nil {
		return Subscription{}, fmt.Errorf("hospitals: decode %s: %w", id, err)
	}
	return sub, nil
}
