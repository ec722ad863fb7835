// Package acks tracks hospitals' acknowledgements of alerts that require
// one, and escalates, tier by tier, to the people a hospital named when
// its webhook goes unanswered: the duty officer's phone, then the next.
//
// Each (alert, hospital) pair has a record in the key-value bucket
// HERALD_ACKS, and a timer: a message in the work-queue stream
// HERALD_ACK_TIMERS that the escalator holds back (nak with delay) until
// the current tier's time is up. Timers therefore outlive a crash or a
// restart and are shared by every Herald process of a cluster; the
// record's compare-and-set keeps an acknowledgement and an escalation
// from both winning.
//
// This package decides who is asked and when, and records answers. It
// does not deliver the webhook (dispatch does) nor authenticate callers
// (httpapi checks links, hospital tokens and SMS senders before calling
// Ack).
package acks

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/channels/phone"
	"github.com/herald-alerts/herald/internal/hospitals"
	"github.com/herald-alerts/herald/internal/sharedkey"
)

// JetStream names.
const (
	Bucket       = "HERALD_ACKS"
	TimerStream  = "HERALD_ACK_TIMERS"
	TimerSubject = "herald.acks.due." // + alert id + "." + subscription id
	ConsumerName = "herald-acks"
)

// States of a hospital's acknowledgement.
const (
	Pending        = "pending"        // asked, no answer yet
	Acknowledged   = "acknowledged"   // answered
	Unacknowledged = "unacknowledged" // every tier asked and timed out
)

// Paths an acknowledgement can come by.
const (
	PathLink  = "link"  // the signed link in the webhook (or a page opened from it)
	PathToken = "token" // an API call with the hospital's own token
	PathSMS   = "sms"   // "ACK <code>" texted from a duty phone
)

// Parameter is the CAP <parameter> valueName by which an alert says
// whether it requires acknowledgement ("true" or "false"), overriding the
// policy either way.
const Parameter = "AckRequired"

// Errors callers branch on.
var (
	ErrNotFound = errors.New("no acknowledgement is asked of this hospital for this alert")
	ErrBadLink  = errors.New("acknowledgement link not valid")
)

// Policy says which alerts require acknowledgement (config acks.*).
type Policy struct {
	Severities []cap.Severity
	HANTypes   []cap.HANType
	// Timeout is how long each tier has to answer before the next is asked.
	Timeout time.Duration
}

// Required reports whether a requires acknowledgement: its AckRequired
// parameter when it has one, else the policy. Only Alerts and Updates ask;
// a Cancel never does.
func (p Policy) Required(a *cap.Alert) bool {
	if a.MsgType != cap.MsgAlert && a.MsgType != cap.MsgUpdate {
		return false
	}
	for _, in := range a.Info {
		for _, prm := range in.Parameter {
			if strings.EqualFold(prm.ValueName, Parameter) {
				switch strings.ToLower(strings.TrimSpace(prm.Value)) {
				case "true", "yes", "1":
					return true
				case "false", "no", "0":
					return false
				}
			}
		}
	}
	if slices.Contains(p.Severities, a.MostSevere()) {
		return true
	}
	han, _ := a.HANType()
	return han != "" && slices.Contains(p.HANTypes, han)
}

// Step is one escalation: the tier asked, when, and how the texts went.
type Step struct {
	Tier     int       `json:"tier"`
	At       time.Time `json:"at"`
	Contacts int       `json:"contacts"`
	Sent     int       `json:"sent"`
	Done     bool      `json:"done"` // every contact was tried
	Error    string    `json:"error,omitempty"`
}

// Record is one hospital's acknowledgement of one alert.
type Record struct {
	AlertID      string    `json:"alert_id"`
	Subscription string    `json:"subscription"`
	Hospital     string    `json:"hospital"`
	State        string    `json:"state"`
	Tier         int       `json:"tier"` // 0: the webhook; n: escalation tier n
	Started      time.Time `json:"started"`
	Due          time.Time `json:"due"` // when the current tier's time is up
	Steps        []Step    `json:"steps,omitempty"`
	// Code is what a duty officer texts back ("ACK 482913").
	Code    string    `json:"code"`
	AckedAt time.Time `json:"acked_at,omitzero"`
	AckedBy string    `json:"acked_by,omitempty"`
	Path    string    `json:"path,omitempty"`
}

// Store holds the records and timers.
type Store struct {
	kv      jetstream.KeyValue
	js      jetstream.JetStream
	linkKey []byte
	timeout time.Duration
	now     func() time.Time

	outcomes    *prometheus.CounterVec
	escalations *prometheus.CounterVec
}

// Config is what Open needs.
type Config struct {
	JS       jetstream.JetStream
	Replicas int
	// Timeout is how long each tier has to answer.
	Timeout time.Duration
	// Metrics, when set, registers the acknowledgement metrics.
	Metrics prometheus.Registerer
}

// Open creates (or binds to) the bucket and the timer stream.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	kv, err := cfg.JS.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: Bucket, Description: "Herald: hospitals' acknowledgements and escalations",
		Storage: jetstream.FileStorage, Replicas: cfg.Replicas, History: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("create bucket %s: %w", Bucket, err)
	}
	if _, err := cfg.JS.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: TimerStream, Description: "Herald: acknowledgement timers (one per alert and hospital until settled)",
		Subjects: []string{TimerSubject + ">"}, Storage: jetstream.FileStorage, Replicas: cfg.Replicas,
		Retention: jetstream.WorkQueuePolicy, Duplicates: 10 * time.Minute,
	}); err != nil {
		return nil, fmt.Errorf("create stream %s: %w", TimerStream, err)
	}
	s := &Store{kv: kv, js: cfg.JS, timeout: cfg.Timeout, now: time.Now}
	s.registerMetrics(cfg.Metrics)
	if s.linkKey, err = sharedkey.Load(ctx, kv, "link-key"); err != nil {
		return nil, err
	}
	return s, nil
}

func recordKey(alertID, sub string) string { return "a." + alertID + "." + sub }

// Link returns the token of the acknowledgement link for (alert,
// hospital): the ids and a MAC over them, so only Herald can make one.
func (s *Store) Link(alertID, sub string) string {
	m := hmac.New(sha256.New, s.linkKey)
	m.Write([]byte(alertID + "." + sub))
	return alertID + "." + sub + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// ParseLink checks a link token and returns its alert and subscription.
func (s *Store) ParseLink(token string) (alertID, sub string, err error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || !hmac.Equal([]byte(s.Link(parts[0], parts[1])), []byte(token)) {
		return "", "", ErrBadLink
	}
	return parts[0], parts[1], nil
}

// Start asks each subscription to acknowledge alert id: a record and a
// timer each. Starting again (a replanned alert) changes nothing.
func (s *Store) Start(ctx context.Context, alertID string, subs []hospitals.Subscription) error {
	now := s.now()
	for _, sub := range subs {
		rec := Record{AlertID: alertID, Subscription: sub.ID, Hospital: sub.DisplayName(), State: Pending,
			Started: now, Due: now.Add(s.timeout)}
		err := s.create(ctx, &rec)
		if err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
			return err
		}
		msg := nats.NewMsg(TimerSubject + alertID + "." + sub.ID)
		if _, err := s.js.PublishMsg(ctx, msg, jetstream.WithMsgID("due."+alertID+"."+sub.ID)); err != nil {
			return fmt.Errorf("start acknowledgement timer %s/%s: %w", alertID, sub.ID, err)
		}
	}
	return nil
}

// create stores a new record with a code no pending record uses.
func (s *Store) create(ctx context.Context, rec *Record) error {
	for range 10 {
		n, _ := rand.Int(rand.Reader, big.NewInt(1_000_000))
		rec.Code = fmt.Sprintf("%06d", n.Int64())
		if _, err := s.kv.Create(ctx, "c."+rec.Code, []byte(rec.AlertID+"."+rec.Subscription)); errors.Is(err, jetstream.ErrKeyExists) {
			continue
		} else if err != nil {
			return fmt.Errorf("reserve acknowledgement code: %w", err)
		}
		b, _ := json.Marshal(rec)
		if _, err := s.kv.Create(ctx, recordKey(rec.AlertID, rec.Subscription), b); err != nil {
			_ = s.kv.Delete(ctx, "c."+rec.Code)
			if errors.Is(err, jetstream.ErrKeyExists) {
				return err
			}
			return fmt.Errorf("store acknowledgement %s/%s: %w", rec.AlertID, rec.Subscription, err)
		}
		return nil
	}
	return errors.New("no free acknowledgement code after 10 tries")
}

// Get reads one record.
func (s *Store) Get(ctx context.Context, alertID, sub string) (Record, error) {
	rec, _, err := s.get(ctx, alertID, sub)
	return rec, err
}

func (s *Store) get(ctx context.Context, alertID, sub string) (Record, uint64, error) {
	e, err := s.kv.Get(ctx, recordKey(alertID, sub))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Record{}, 0, ErrNotFound
	}
	if err != nil {
		return Record{}, 0, fmt.Errorf("read acknowledgement %s/%s: %w", alertID, sub, err)
	}
	var rec Record
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		return Record{}, 0, fmt.Errorf("decode acknowledgement %s/%s: %w", alertID, sub, err)
	}
	return rec, e.Revision(), nil
}

// ByCode finds the record a texted code names.
func (s *Store) ByCode(ctx context.Context, code string) (Record, error) {
	e, err := s.kv.Get(ctx, "c."+code)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Record{}, ErrNotFound
	}
	if err != nil {
		return Record{}, fmt.Errorf("read acknowledgement code: %w", err)
	}
	alertID, sub, _ := strings.Cut(string(e.Value()), ".")
	return s.Get(ctx, alertID, sub)
}

// update changes a record atomically (retrying on a concurrent write);
// change returns false to leave it.
func (s *Store) update(ctx context.Context, alertID, sub string, change func(*Record) bool) (Record, bool, error) {
	for range 10 {
		rec, rev, err := s.get(ctx, alertID, sub)
		if err != nil {
			return rec, false, err
		}
		if !change(&rec) {
			return rec, false, nil
		}
		b, _ := json.Marshal(rec)
		if _, err := s.kv.Update(ctx, recordKey(alertID, sub), b, rev); err == nil {
			return rec, true, nil
		} else if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return rec, false, fmt.Errorf("write acknowledgement %s/%s: %w", alertID, sub, err)
		}
	}
	return Record{}, false, fmt.Errorf("write acknowledgement %s/%s: too many concurrent writes", alertID, sub)
}

// Ack records that the hospital acknowledged, by whom and by which path.
// The first acknowledgement counts; later ones return it unchanged. An
// acknowledgement after the last tier timed out is still recorded.
func (s *Store) Ack(ctx context.Context, alertID, sub, by, path string) (Record, error) {
	rec, changed, err := s.update(ctx, alertID, sub, func(r *Record) bool {
		if r.State == Acknowledged {
			return false
		}
		r.State, r.AckedAt, r.AckedBy, r.Path = Acknowledged, s.now(), by, path
		return true
	})
	if changed {
		s.outcomes.WithLabelValues(Acknowledged, path).Inc()
	}
	return rec, err
}

// Asked returns the subscriptions an alert asks to acknowledge, from the
// record keys alone (no record is read): what the webhook composer checks
// before each post.
func (s *Store) Asked(ctx context.Context, alertID string) (map[string]bool, error) {
	lister, err := s.kv.ListKeysFiltered(ctx, "a."+alertID+".*")
	if err != nil {
		return nil, fmt.Errorf("list acknowledgements of %s: %w", alertID, err)
	}
	out := map[string]bool{}
	for k := range lister.Keys() {
		out[strings.TrimPrefix(k, "a."+alertID+".")] = true
	}
	return out, nil
}

// List returns the records of an alert, by hospital name.
func (s *Store) List(ctx context.Context, alertID string) ([]Record, error) {
	asked, err := s.Asked(ctx, alertID)
	if err != nil {
		return nil, err
	}
	var out []Record
	for sub := range asked {
		rec, err := s.Get(ctx, alertID, sub)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	slices.SortFunc(out, func(a, b Record) int { return strings.Compare(a.Hospital+a.Subscription, b.Hospital+b.Subscription) })
	return out, nil
}

// SMSAcks takes acknowledgements texted by duty officers.
type SMSAcks struct {
	Store         *Store
	Subscriptions interface {
		Get(ctx context.Context, id string) (hospitals.Subscription, error)
	}
}

// Ack records "ACK <code>" texted from number from (E.164): the code must
// name a hospital's acknowledgement and from must be one of that
// hospital's escalation contacts; anything else is ErrNotFound, so a
// guessed code from a stranger's phone acknowledges nothing.
func (a SMSAcks) Ack(ctx context.Context, from, code string) (Record, error) {
	rec, err := a.Store.ByCode(ctx, code)
	if err != nil {
		return Record{}, err
	}
	sub, err := a.Subscriptions.Get(ctx, rec.Subscription)
	if errors.Is(err, hospitals.ErrNotFound) {
		return Record{}, ErrNotFound
	}
	if err != nil {
		return Record{}, err
	}
	for _, tier := range sub.Escalation {
		if slices.Contains(tier, from) {
			return a.Store.Ack(ctx, rec.AlertID, rec.Subscription, phone.Redact(from), PathSMS)
		}
	}
	return Record{}, ErrNotFound
}
