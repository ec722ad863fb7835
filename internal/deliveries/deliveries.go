// Package deliveries records the outcome of every delivery (alert, channel,
// recipient) in the JetStream KV bucket HERALD_DELIVERIES and keeps
// per-alert counters of those outcomes in the counter stream
// HERALD_DELIVERY_COUNTS. The record is the dispatcher's idempotency check
// (a delivery marked sent is not sent again); the counters answer the
// status view without reading the records.
//
// It stores, counts and summarizes; it does not send or retry.
package deliveries

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/herald-alerts/herald/broadcaster/api"
	"github.com/herald-alerts/herald/channels"
	"github.com/herald-alerts/herald/internal/jobs"
)

// JetStream names.
const (
	Bucket = "HERALD_DELIVERIES"
	// FailuresBucket lists failed, skipped and retrying deliveries.
	FailuresBucket = "HERALD_DELIVERY_FAILURES"
	CountsStream   = "HERALD_DELIVERY_COUNTS"
	CountsSubject  = "herald.counts." // + alert + "." + channel + "." + state
)

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

// finalStates are the states a counter is kept for.
var finalStates = []string{Sent, Logged, Delivered, Failed, Skipped}

// ErrNotFound means no record exists.
var ErrNotFound = errors.New("delivery record not found")

// Record is one delivery's outcome.
type Record struct {
	State      string    `json:"state"`
	Reason     string    `json:"reason,omitempty"`
	ProviderID string    `json:"provider_id,omitempty"`
	Attempts   int       `json:"attempts,omitempty"`
	At         time.Time `json:"at"`
	// RetryAt is when a queued delivery is due again.
	RetryAt time.Time `json:"retry_at,omitzero"`
	// Expires is when the alert expires (zero: it does not): the record
	// is kept Retention after that.
	Expires time.Time `json:"expires,omitzero"`
	// Outcome is the state the dispatcher settled the delivery in (a
	// provider's later report changes State, not Outcome): what the
	// counters counted it as.
	Outcome string `json:"outcome,omitempty"`
}

// Final reports whether nothing more will happen to the delivery (other
// than a provider's later delivered/failed report for a sent one).
func (r Record) Final() bool { return r.State != Queued && r.State != "" }

// Counted is the state the counters hold the delivery under.
func (r Record) Counted() string { return cmp.Or(r.Outcome, r.State) }

// Plan is how many deliveries the planner queued for an alert, per channel.
type Plan map[channels.Channel]int

// Store is the bucket and the counters.
type Store struct {
	js        jetstream.JetStream
	kv        jetstream.KeyValue
	failed    jetstream.KeyValue
	counts    jetstream.Stream
	retention time.Duration
}

// Config is what Open needs.
type Config struct {
	JS       jetstream.JetStream
	Replicas int // JetStream replicas of the stream or bucket (1 on one server)
	// Retention is how long records, failure lists and plans are kept
	// after their alert expires (after they are written, for alerts that
	// do not expire), and counters after an alert's last settled
	// delivery; 0 keeps them forever.
	Retention time.Duration
}

// countDedup is the counter stream's duplicate window: a delivery's count
// is published again, with the same id, when its job comes back after a
// crash, and this window (longer than the dispatchers' ack wait) drops
// the second one.
const countDedup = 2 * time.Minute

// Recount is how young a final record must be for a redelivered job to
// publish its count again: older ones were counted before their job was
// handed back, or their crash would have brought the job back sooner.
const Recount = countDedup - 30*time.Second

// Open creates or updates the bucket and the counter stream.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	js, replicas := cfg.JS, cfg.Replicas
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      Bucket,
		Description: "Herald: delivery outcomes (idempotency records), failures and plans",
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
		History:     1,
		// Allows per-entry TTLs (Nats-TTL): entries expire Retention after
		// their alert.
		LimitMarkerTTL: time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("create bucket %s: %w", Bucket, err)
	}
	// Failures live apart from the records: listing an alert's failures
	// then reads a stream of failures, not one of every delivery (a
	// filtered consumer on millions of records slowed the dispatch that
	// writes them).
	failed, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:         FailuresBucket,
		Description:    "Herald: failed, skipped and retrying deliveries, listed by alert",
		Storage:        jetstream.FileStorage,
		Replicas:       replicas,
		History:        1,
		LimitMarkerTTL: time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("create bucket %s: %w", FailuresBucket, err)
	}
	counts, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:              CountsStream,
		Description:       "Herald: delivery counters per alert, channel and state",
		Subjects:          []string{CountsSubject + ">"},
		Storage:           jetstream.FileStorage,
		Replicas:          replicas,
		AllowMsgCounter:   true,
		MaxMsgsPerSubject: 1, // each counter message carries the running total
		MaxAge:            counterAge(cfg.Retention),
		Duplicates:        countDedup,
		AllowDirect:       true,
	})
	if err != nil {
		return nil, fmt.Errorf("create stream %s: %w", CountsStream, err)
	}
	return &Store{js: js, kv: kv, failed: failed, counts: counts, retention: cfg.Retention}, nil
}

// counterAge keeps counters retention after their last change, and never
// less than the duplicate window (the server requires it).
func counterAge(retention time.Duration) time.Duration {
	if retention <= 0 {
		return 0
	}
	return max(retention, countDedup)
}

func recordKey(d jobs.Delivery) string { return "d." + d.Key() }
func planKey(alertID string) string    { return "plan." + alertID }
func providerKey(channel channels.Channel, id string) string {
	return "p." + string(channel) + "." + sanitize(id)
}
func counterSubject(alertID string, ch channels.Channel, state string) string {
	return CountsSubject + alertID + "." + string(ch) + "." + state
}

// Get returns a delivery's record.
func (s *Store) Get(ctx context.Context, d jobs.Delivery) (Record, error) {
	var r Record
	return r, s.get(ctx, recordKey(d), &r)
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

// Put records a delivery's outcome; a failed or skipped one is also listed
// for the status view's failures. (Provider reports name their delivery
// themselves: see ProviderReportFor.)
func (s *Store) Put(ctx context.Context, d jobs.Delivery, r Record) error {
	if r.At.IsZero() {
		r.At = time.Now().UTC()
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := s.put(ctx, recordKey(d), b, r.Expires); err != nil {
		return fmt.Errorf("record delivery %s: %w", d.Key(), err)
	}
	// Failures are listed, and so are deliveries waiting for a retry after
	// an error (a hospital whose name does not resolve, say), with the
	// last error, while their retries go on.
	if r.State == Failed || r.State == Skipped || r.State == Queued && r.Reason != "" {
		fb, _ := json.Marshal(Failure{Channel: string(d.Channel), Recipient: d.Recipient, State: r.State, Reason: r.Reason})
		if err := s.putIn(ctx, s.failed, d.Key(), fb, r.Expires); err != nil {
			return fmt.Errorf("list failure of %s: %w", d.Key(), err)
		}
	}
	return nil
}

// Unlist takes a delivery off the failure list (a retry succeeded).
func (s *Store) Unlist(ctx context.Context, d jobs.Delivery) error {
	if err := s.failed.Delete(ctx, d.Key()); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("unlist failure of %s: %w", d.Key(), err)
	}
	return nil
}

// put writes a bucket entry that expires Retention after expires (after
// now when expires is zero or past).
func (s *Store) put(ctx context.Context, key string, value []byte, expires time.Time) error {
	return s.putIn(ctx, s.kv, key, value, expires)
}

// putIn is put into kv (the records' bucket or the failures').
func (s *Store) putIn(ctx context.Context, kv jetstream.KeyValue, key string, value []byte, expires time.Time) error {
	if s.retention <= 0 {
		_, err := kv.Put(ctx, key, value)
		return err
	}
	m := nats.NewMsg("$KV." + kv.Bucket() + "." + key)
	m.Data = value
	ttl := s.retention + max(time.Until(expires), 0)
	_, err := s.js.PublishMsg(ctx, m, jetstream.WithMsgTTL(ttl.Round(time.Second)))
	return err
}

// providerEntry is the provider-id index's value: the delivery.
type providerEntry struct {
	AlertID   string           `json:"alert_id"`
	Channel   channels.Channel `json:"channel"`
	Recipient string           `json:"recipient"`
}

// Count adds a settled delivery to its alert's counter for state. It is
// idempotent within the counter stream's duplicate window (the delivery's
// key is the message id), so a job redelivered after a crash may count
// its settled deliveries again. The caller waits for the returned future
// before acknowledging the job.
func (s *Store) Count(d jobs.Delivery, state string) (jetstream.PubAckFuture, error) {
	return s.incr(counterSubject(d.AlertID, d.Channel, state), 1, "c."+d.Key())
}

func (s *Store) incr(subject string, by int, id string) (jetstream.PubAckFuture, error) {
	m := nats.NewMsg(subject)
	m.Header.Set("Nats-Incr", strconv.Itoa(by))
	f, err := s.js.PublishMsgAsync(m, jetstream.WithMsgID(id))
	if err != nil {
		return nil, fmt.Errorf("count %s: %w", subject, err)
	}
	return f, nil
}

// Wait waits for the futures of Count.
func Wait(ctx context.Context, fs []jetstream.PubAckFuture) error {
	for _, f := range fs {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("count delivery: %w", err)
		case <-ctx.Done():
			return fmt.Errorf("count deliveries: %w", ctx.Err())
		}
	}
	return nil
}

// ProviderReport applies a provider's later report to the delivery it
// sent as providerID, found through the provider-id index that Herald
// before per-message callback keys wrote. state is Delivered or Failed.
// Unknown ids return ErrNotFound.
func (s *Store) ProviderReport(ctx context.Context, channel channels.Channel, providerID, state, reason string) (jobs.Delivery, error) {
	var e providerEntry
	if err := s.get(ctx, providerKey(channel, providerID), &e); err != nil {
		return jobs.Delivery{}, err
	}
	d := jobs.Delivery{AlertID: e.AlertID, Channel: e.Channel, Recipient: e.Recipient}
	r, err := s.Get(ctx, d)
	if err != nil {
		return d, err
	}
	return d, s.report(ctx, d, r, providerID, state, reason)
}

// ProviderReportFor applies a provider's later report (e.g. a Twilio
// status callback) to delivery d, which it must have sent as providerID
// (else ErrNotFound). state is Delivered or Failed.
//
// The counters move the delivery from its old state to the new one; each
// report moves them once however often the provider repeats it.
func (s *Store) ProviderReportFor(ctx context.Context, d jobs.Delivery, providerID, state, reason string) error {
	r, err := s.Get(ctx, d)
	if err != nil {
		return err
	}
	if r.Outcome != Sent {
		return ErrNotFound
	}
	return s.report(ctx, d, r, providerID, state, reason)
}

func (s *Store) report(ctx context.Context, d jobs.Delivery, r Record, providerID, state, reason string) error {
	if r.ProviderID != providerID {
		return ErrNotFound
	}
	// A late "sent" report must not undo "delivered"; a failed report after
	// delivered is the provider changing its mind and is kept.
	if r.State == state || r.State == Delivered && state != Failed {
		return nil
	}
	old := r.State
	r.State, r.Reason, r.At = state, reason, time.Now().UTC()
	if err := s.Put(ctx, d, r); err != nil {
		return err
	}
	if r.Outcome == "" {
		// Recorded by a Herald before counters: its alert is counted from
		// the records (rebuild), which this write already changed.
		return nil
	}
	id := "r." + sanitize(providerID) + "." + old + "." + state
	var fs []jetstream.PubAckFuture
	for _, c := range []struct {
		state string
		by    int
	}{{state, 1}, {old, -1}} {
		f, err := s.incr(counterSubject(d.AlertID, d.Channel, c.state), c.by, id+"."+strconv.Itoa(c.by))
		if err != nil {
			return err
		}
		fs = append(fs, f)
	}
	return Wait(ctx, fs)
}

// SetPlan records how many deliveries were queued per channel for an
// alert that expires at expires (zero: never).
func (s *Store) SetPlan(ctx context.Context, alertID string, p Plan, expires time.Time) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	if err := s.put(ctx, planKey(alertID), b, expires); err != nil {
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

// Summarize answers the status view from the alert's counters: a few
// reads, whatever the size of the fan-out. An alert planned before
// counters existed is counted from its records once, and its counters
// stored when it is done.
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
	counted, err := s.readCounters(ctx, alertID, sum)
	if err != nil {
		return nil, err
	}
	if !counted && planTotal(plan) > 0 {
		if err := s.rebuild(ctx, alertID, plan, sum); err != nil {
			return nil, err
		}
	}
	if sum.Failures, err = s.failures(ctx, alertID); err != nil {
		return nil, err
	}
	sum.Done = true
	for ch, n := range plan {
		c := sum.Channels[string(ch)]
		c.Queued = max(n-(c.Sent+c.Logged+c.Delivered+c.Failed+c.Skipped), 0)
		sum.Channels[string(ch)] = c
		if c.Queued > 0 {
			sum.Done = false
		}
	}
	return sum, nil
}

func planTotal(p Plan) (n int) {
	for _, v := range p {
		n += v
	}
	return n
}

// readCounters fills sum's counts from the counter stream; counted is
// false when the alert has no counter at all.
func (s *Store) readCounters(ctx context.Context, alertID string, sum *Summary) (counted bool, err error) {
	for _, ch := range channels.All {
		c := sum.Channels[string(ch)]
		for _, state := range finalStates {
			m, err := s.counts.GetLastMsgForSubject(ctx, counterSubject(alertID, ch, state))
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				continue
			}
			if err != nil {
				return false, fmt.Errorf("read counters of %s: %w", alertID, err)
			}
			var v struct {
				Val string `json:"val"`
			}
			n, perr := 0, json.Unmarshal(m.Data, &v)
			if perr == nil {
				n, perr = strconv.Atoi(v.Val)
			}
			if perr != nil {
				return false, fmt.Errorf("read counter %s: %w", m.Subject, perr)
			}
			counted = true
			*stateField(&c, state) = n
		}
		sum.Channels[string(ch)] = c
	}
	return counted, nil
}

func stateField(c *Counts, state string) *int {
	switch state {
	case Sent:
		return &c.Sent
	case Logged:
		return &c.Logged
	case Delivered:
		return &c.Delivered
	case Failed:
		return &c.Failed
	}
	return &c.Skipped
}

// rebuild counts an alert's records (an alert planned by a Herald without
// counters) and, once none is queued, stores the counts so that the scan
// is not repeated. A rebuild while deliveries still settle would race
// their own counts, so it only reads.
func (s *Store) rebuild(ctx context.Context, alertID string, plan Plan, sum *Summary) error {
	w, err := s.kv.Watch(ctx, "d."+alertID+".>", jetstream.IgnoreDeletes())
	if err != nil {
		return fmt.Errorf("read deliveries of %s: %w", alertID, err)
	}
	defer w.Stop()
	final := 0
	for e := range w.Updates() {
		if e == nil { // all current values delivered
			break
		}
		var r Record
		if json.Unmarshal(e.Value(), &r) != nil || !r.Final() {
			continue
		}
		if r.Outcome != "" {
			// Recorded by a Herald that counts each delivery as it
			// settles: its counts are on their way (a record may be
			// stored before its count), and a rebuild would count the
			// delivery twice.
			return nil
		}
		ch, _ := splitKey(e.Key(), alertID)
		c := sum.Channels[string(ch)]
		*stateField(&c, r.State)++
		sum.Channels[string(ch)] = c
		final++
	}
	if final < planTotal(plan) {
		return nil
	}
	var fs []jetstream.PubAckFuture
	for ch, c := range sum.Channels {
		for _, state := range finalStates {
			if n := *stateField(&c, state); n > 0 {
				f, err := s.incr(counterSubject(alertID, channels.Channel(ch), state), n, "rebuild."+alertID+"."+ch+"."+state)
				if err != nil {
					return err
				}
				fs = append(fs, f)
			}
		}
	}
	return Wait(ctx, fs)
}

// failures lists the first maxFailuresListed failed or skipped deliveries
// of an alert, reading no more than that.
func (s *Store) failures(ctx context.Context, alertID string) ([]Failure, error) {
	out := []Failure{}
	cons, err := s.js.OrderedConsumer(ctx, "KV_"+FailuresBucket, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{"$KV." + FailuresBucket + "." + alertID + ".>"},
	})
	if err != nil {
		return nil, fmt.Errorf("list failures of %s: %w", alertID, err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("list failures of %s: %w", alertID, err)
	}
	n := min(int(info.NumPending), maxFailuresListed)
	if n == 0 {
		return out, nil
	}
	batch, err := cons.Fetch(n, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		return nil, fmt.Errorf("list failures of %s: %w", alertID, err)
	}
	for m := range batch.Messages() {
		var f Failure
		if json.Unmarshal(m.Data(), &f) == nil {
			out = append(out, f)
		}
	}
	if err := batch.Error(); err != nil {
		return nil, fmt.Errorf("list failures of %s: %w", alertID, err)
	}
	return out, nil
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
