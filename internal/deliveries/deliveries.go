// Package deliveries records the outcome of every delivery (alert, channel,
// recipient) in the JetStream KV bucket HERALD_DELIVERIES. The record is
// the dispatcher's idempotency check (a delivery marked sent is not sent
// again) and the source of the per-alert status view.
//
// It stores and summarizes; it does not send or retry.
package deliveries

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/herald-alerts/herald/broadcaster/api"
	"github.com/herald-alerts/herald/channels"
	"github.com/herald-alerts/herald/internal/jobs"
)

// Bucket is the KV bucket name.
const Bucket = "HERALD_DELIVERIES"

// States of a delivery.
const (
	Queued    = "queued"
	Sent      = "sent"
	Delivered = "delivered"
	Failed    = "failed"
	Skipped   = "skipped"
	// Logged: nothing left Herald (sms.provider log); the text was only
	// written to the log. Final, like Sent, but never counted as sent.
	Logged = "logged"
)

// ErrNotFound means no record exists.
var ErrNotFound = errors.New("delivery record not found")

// Record is one delivery's outcome.
type Record struct {
	State      string    `json:"state"`
	Reason     string    `json:"reason,omitempty"`
	ProviderID string    `json:"provider_id,omitempty"`
	Attempts   int       `json:"attempts,omitempty"`
	At         time.Time `json:"at"`
}

// Final reports whether nothing more will happen to the delivery (other
// than a provider's later delivered/failed report for a sent one).
func (r Record) Final() bool { return r.State != Queued && r.State != "" }

// Plan is how many deliveries the planner queued for an alert, per channel.
type Plan map[channels.Channel]int

// Store is the bucket.
type Store struct {
	kv jetstream.KeyValue
}

// Config is what Open needs.
type Config struct {
	JS       jetstream.JetStream
	Replicas int // JetStream replicas of the stream or bucket (1 on one server)
}

// Open creates or updates the bucket.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	js, replicas := cfg.JS, cfg.Replicas
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      Bucket,
		Description: "Herald: delivery outcomes (idempotency records) and plans",
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
		History:     1,
	})
	if err != nil {
		return nil, fmt.Errorf("create bucket %s: %w", Bucket, err)
	}
	return &Store{kv: kv}, nil
}

func recordKey(j jobs.Job) string   { return "d." + j.Key() }
func planKey(alertID string) string { return "plan." + alertID }
func providerKey(channel channels.Channel, id string) string {
	return "p." + string(channel) + "." + sanitize(id)
}

// Get returns a delivery's record.
func (s *Store) Get(ctx context.Context, j jobs.Job) (Record, error) {
	var r Record
	return r, s.get(ctx, recordKey(j), &r)
}

func (s *Store) get(ctx context.Context, key string, v any) error {
	e, err := s.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", key, err)
	}
	if err := json.Unmarshal(e.Value(), v); err != nil {
		return fmt.Errorf("decode %s: %w", key, err)
	}
	return nil
}

// Put records a delivery's outcome; a sent delivery with a provider id is
// also indexed by it, so provider status reports find their delivery.
func (s *Store) Put(ctx context.Context, j jobs.Job, r Record) error {
	if r.At.IsZero() {
		r.At = time.Now().UTC()
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if _, err := s.kv.Put(ctx, recordKey(j), b); err != nil {
		return fmt.Errorf("record delivery %s: %w", j.Key(), err)
	}
	if r.ProviderID != "" && r.State == Sent {
		jb, _ := json.Marshal(j)
		if _, err := s.kv.Put(ctx, providerKey(j.Channel, r.ProviderID), jb); err != nil {
			return fmt.Errorf("index provider id of %s: %w", j.Key(), err)
		}
	}
	return nil
}

// ProviderReport applies a provider's later report (e.g. a Twilio status
// callback) to the delivery it sent as providerID. state is Delivered or
// Failed. Unknown ids return ErrNotFound.
func (s *Store) ProviderReport(ctx context.Context, channel channels.Channel, providerID, state, reason string) (jobs.Job, error) {
	var j jobs.Job
	if err := s.get(ctx, providerKey(channel, providerID), &j); err != nil {
		return j, err
	}
	r, err := s.Get(ctx, j)
	if err != nil {
		return j, err
	}
	// A late "sent" report must not undo "delivered"; a failed report after
	// delivered is the provider changing its mind and is kept.
	if r.State == Delivered && state != Failed {
		return j, nil
	}
	r.State, r.Reason, r.At = state, reason, time.Now().UTC()
	return j, s.Put(ctx, j, r)
}

// SetPlan records how many deliveries were queued per channel.
func (s *Store) SetPlan(ctx context.Context, alertID string, p Plan) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	if _, err := s.kv.Put(ctx, planKey(alertID), b); err != nil {
		return fmt.Errorf("record plan %s: %w", alertID, err)
	}
	return nil
}

// Counts is a channel's deliveries by state.
type Counts = api.DeliveryCounts

// Failure is a failed or skipped delivery, by recipient id (never a phone
// number or URL).
type Failure = api.DeliveryFailure

// Summary is GET /v1/alerts/{id}/deliveries.
type Summary = api.Deliveries

// maxFailuresListed bounds the failure list of one summary.
const maxFailuresListed = 1000

// Summarize counts an alert's deliveries. It reads the latest record of
// each of the alert's deliveries in one pass over the bucket's stream.
func (s *Store) Summarize(ctx context.Context, alertID string) (*Summary, error) {
	sum := &Summary{AlertID: alertID, Channels: map[string]Counts{}, Failures: []Failure{}}
	for _, ch := range channels.All {
		sum.Channels[string(ch)] = Counts{}
	}
	var plan Plan
	switch err := s.get(ctx, planKey(alertID), &plan); {
	case errors.Is(err, ErrNotFound):
		return sum, nil
	case err != nil:
		return nil, err
	}
	sum.Planned = true
	w, err := s.kv.Watch(ctx, "d."+alertID+".>", jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("read deliveries of %s: %w", alertID, err)
	}
	defer w.Stop()
	final := map[channels.Channel]int{}
	for e := range w.Updates() {
		if e == nil { // all current values delivered
			break
		}
		var r Record
		if err := json.Unmarshal(e.Value(), &r); err != nil {
			continue
		}
		ch, recipient := splitKey(e.Key(), alertID)
		c := sum.Channels[string(ch)]
		switch r.State {
		case Sent:
			c.Sent++
		case Logged:
			c.Logged++
		case Delivered:
			c.Delivered++
		case Failed:
			c.Failed++
		case Skipped:
			c.Skipped++
		default:
			continue
		}
		final[ch]++
		sum.Channels[string(ch)] = c
		if (r.State == Failed || r.State == Skipped) && len(sum.Failures) < maxFailuresListed {
			sum.Failures = append(sum.Failures, Failure{Channel: string(ch), Recipient: recipient, State: r.State, Reason: r.Reason})
		}
	}
	sum.Done = true
	for ch, n := range plan {
		c := sum.Channels[string(ch)]
		c.Queued = max(n-final[ch], 0)
		sum.Channels[string(ch)] = c
		if c.Queued > 0 {
			sum.Done = false
		}
	}
	return sum, nil
}

// Reached lists the recipients of an alert on a channel whose delivery was
// sent or delivered: who must hear about its Update or Cancel.
func (s *Store) Reached(ctx context.Context, alertID string, channel channels.Channel) ([]string, error) {
	w, err := s.kv.Watch(ctx, "d."+alertID+"."+string(channel)+".*", jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("read deliveries of %s: %w", alertID, err)
	}
	defer w.Stop()
	var out []string
	for {
		select {
		case e := <-w.Updates():
			if e == nil {
				return out, nil
			}
			var r Record
			if json.Unmarshal(e.Value(), &r) == nil && (r.State == Sent || r.State == Delivered || r.State == Logged) {
				_, recipient := splitKey(e.Key(), alertID)
				out = append(out, recipient)
			}
		case <-ctx.Done():
			return nil, fmt.Errorf("read deliveries of %s: %w", alertID, ctx.Err())
		}
	}
}

// splitKey turns "d.<alert>.<channel>.<recipient>" into channel, recipient.
func splitKey(key, alertID string) (channels.Channel, string) {
	rest := key[len("d."+alertID+"."):]
	for i := 0; i < len(rest); i++ {
		if rest[i] == '.' {
			return channels.Channel(rest[:i]), rest[i+1:]
		}
	}
	return channels.Channel(rest), ""
}

// sanitize keeps provider ids within KV key characters.
func sanitize(id string) string {
	b := []byte(id)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}
