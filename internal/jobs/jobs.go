// Package jobs defines delivery work and the JetStream work-queue stream
// HERALD_JOBS that carries it from the planner to the dispatchers.
//
// A job is one alert on one channel for many recipients (a batch), so a
// fan-out to a million residents is a few thousand stored messages, acks
// and dedup ids rather than a million. Each recipient of a job is a
// Delivery, the unit of idempotency. Jobs go on one subject per channel
// and priority lane (herald.jobs.<channel>.<lane>), and dispatchers take
// the most urgent lane first.
//
// It does not decide who gets a job (recipients) or what is sent
// (compose), nor how a job is executed (dispatch).
package jobs

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/channels"
)

// JetStream names.
const (
	StreamName    = "HERALD_JOBS"
	SubjectPrefix = "herald.jobs." // + channel + "." + lane
)

// Lane is a priority lane: dispatchers take work from Urgent before
// Prompt, and from Prompt before Routine.
type Lane string

// The lanes, most urgent first.
const (
	Urgent  Lane = "urgent"
	Prompt  Lane = "prompt"
	Routine Lane = "routine"
)

// Lanes lists the lanes, most urgent first.
var Lanes = []Lane{Urgent, Prompt, Routine}

// LaneOf is the lane of an alert's deliveries, from the most pressing of
// its infos:
//
//	Urgent:  severity Extreme, or urgency Immediate with severity Severe
//	Prompt:  severity Severe, or urgency Immediate or Expected
//	Routine: everything else (Future, Past or Unknown urgency with
//	         Moderate, Minor or Unknown severity), and alerts without info
func LaneOf(a *cap.Alert) Lane {
	lane := Routine
	for _, in := range a.Info {
		switch {
		case in.Severity == cap.SeverityExtreme, in.Urgency == cap.UrgencyImmediate && in.Severity == cap.SeveritySevere:
			return Urgent
		case in.Severity == cap.SeveritySevere, in.Urgency == cap.UrgencyImmediate, in.Urgency == cap.UrgencyExpected:
			lane = Prompt
		}
	}
	return lane
}

// Subject is the subject of a channel's jobs in a lane.
func Subject(ch channels.Channel, lane Lane) string {
	return SubjectPrefix + string(ch) + "." + string(lane)
}

// ChannelSubjects matches a channel's jobs in every lane.
func ChannelSubjects(ch channels.Channel) string { return SubjectPrefix + string(ch) + ".>" }

// LegacySubject is where Herald before lanes put a channel's jobs (one
// recipient each); the Routine lane's dispatcher still drains it.
func LegacySubject(ch channels.Channel) string { return SubjectPrefix + string(ch) }

// Delivery is one alert to one recipient on one channel.
type Delivery struct {
	AlertID   string
	Channel   channels.Channel
	Recipient string // resident id, subscription id, or the social account
}

// Key identifies the delivery: the idempotency record's key and the
// provider idempotency key. Ids are token-safe, so the key is too.
func (d Delivery) Key() string { return d.AlertID + "." + string(d.Channel) + "." + d.Recipient }

// ParseKey reads a delivery's Key back.
func ParseKey(key string) (Delivery, error) {
	alert, rest, ok1 := strings.Cut(key, ".")
	ch, recipient, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || alert == "" || recipient == "" || !slices.Contains(channels.All, channels.Channel(ch)) {
		return Delivery{}, fmt.Errorf("not a delivery key: %q", key)
	}
	return Delivery{AlertID: alert, Channel: channels.Channel(ch), Recipient: recipient}, nil
}

// Job is one alert on one channel for a batch of recipients.
type Job struct {
	AlertID    string           `json:"alert_id"`
	Channel    channels.Channel `json:"channel"`
	Lane       Lane             `json:"lane,omitempty"`
	Recipients []string         `json:"recipients"`
	// Replanned marks jobs published again after a planner crash: some of
	// their deliveries may already have a record, so the dispatcher must
	// read each record even on the job's first delivery.
	Replanned bool `json:"replanned,omitempty"`
	// Recipient is the one recipient of a job queued before batches.
	Recipient string `json:"recipient,omitempty"`
}

// Delivery is the job's i-th delivery.
func (j Job) Delivery(i int) Delivery {
	return Delivery{AlertID: j.AlertID, Channel: j.Channel, Recipient: j.Recipients[i]}
}

// ID is the job's JetStream dedup id: a hash of its recipients, so that a
// replanned alert whose batches came out the same adds nothing, and one
// whose batches differ (residents moved meanwhile) adds the new batches.
func (j Job) ID() string {
	h := fnv.New64a()
	for _, r := range j.Recipients {
		h.Write([]byte(r))
		h.Write([]byte{0})
	}
	return j.AlertID + "." + string(j.Channel) + "." + hex.EncodeToString(h.Sum(nil))
}

// BatchSize is how many recipients a job carries at most, per channel: a
// job is acknowledged once all its recipients are settled, so smaller
// batches for hospitals keep one slow endpoint from holding many others.
var BatchSize = map[channels.Channel]int{channels.SMS: 512, channels.Webhook: 32, channels.Social: 1}

// Config is what Open needs.
type Config struct {
	JS       jetstream.JetStream
	Replicas int // JetStream replicas of the stream or bucket (1 on one server)
}

// Open creates or updates the work-queue stream.
func Open(ctx context.Context, cfg Config) (jetstream.Stream, error) {
	js, replicas := cfg.JS, cfg.Replicas
	s, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        StreamName,
		Description: "Herald: delivery jobs, one subject per channel and priority lane",
		Subjects:    []string{SubjectPrefix + ">"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.WorkQueuePolicy,
		Replicas:    replicas,
		Duplicates:  10 * time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("create stream %s: %w", StreamName, err)
	}
	return s, nil
}

// Publisher groups one alert's deliveries into jobs of BatchSize and
// stores them with a bounded window of unacknowledged publishes, so a
// fan-out of millions streams through in constant memory. A job already
// published (same recipients, within the dedup window) is not stored
// twice.
type Publisher struct {
	js        jetstream.JetStream
	alertID   string
	lane      Lane
	replanned bool
	open      map[channels.Channel]*Job
	pending   []jetstream.PubAckFuture
}

// window bounds the publishes awaiting JetStream's ack.
const window = 256

// NewPublisher publishes the jobs of one alert in one lane through js.
// replanned is true when the alert is planned again after a crash.
func NewPublisher(js jetstream.JetStream, alertID string, lane Lane, replanned bool) *Publisher {
	return &Publisher{js: js, alertID: alertID, lane: lane, replanned: replanned, open: map[channels.Channel]*Job{}}
}

// Add queues one recipient; it may publish a full job and wait (until ctx
// ends) for earlier ones to be acked.
func (p *Publisher) Add(ctx context.Context, ch channels.Channel, recipient string) error {
	j := p.open[ch]
	if j == nil {
		size := max(BatchSize[ch], 1)
		j = &Job{AlertID: p.alertID, Channel: ch, Lane: p.lane, Replanned: p.replanned, Recipients: make([]string, 0, size)}
		p.open[ch] = j
	}
	j.Recipients = append(j.Recipients, recipient)
	if len(j.Recipients) < max(BatchSize[ch], 1) {
		return nil
	}
	delete(p.open, ch)
	return p.publish(ctx, *j)
}

func (p *Publisher) publish(ctx context.Context, j Job) error {
	b, err := json.Marshal(j)
	if err != nil {
		return fmt.Errorf("encode job %s: %w", j.ID(), err)
	}
	msg := nats.NewMsg(Subject(j.Channel, j.Lane))
	msg.Data = b
	f, err := p.js.PublishMsgAsync(msg, jetstream.WithMsgID(j.ID()))
	if err != nil {
		return fmt.Errorf("publish job %s: %w", j.ID(), err)
	}
	p.pending = append(p.pending, f)
	if len(p.pending) == window {
		return p.wait(ctx)
	}
	return nil
}

// Flush publishes the partly filled jobs and returns once JetStream has
// stored every job; only then may the planner ack the alert.
func (p *Publisher) Flush(ctx context.Context) error {
	for _, ch := range channels.All {
		if j := p.open[ch]; j != nil {
			delete(p.open, ch)
			if err := p.publish(ctx, *j); err != nil {
				return err
			}
		}
	}
	return p.wait(ctx)
}

func (p *Publisher) wait(ctx context.Context) error {
	defer func() { p.pending = p.pending[:0] }()
	for _, f := range p.pending {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("publish job: %w", err)
		case <-ctx.Done():
			return fmt.Errorf("publish jobs: %w", ctx.Err())
		}
	}
	return nil
}

// Decode reads a job message, including one queued before batches.
func Decode(data []byte) (Job, error) {
	var j Job
	if err := json.Unmarshal(data, &j); err != nil {
		return j, fmt.Errorf("decode job: %w", err)
	}
	if j.Recipient != "" && len(j.Recipients) == 0 {
		j.Recipients, j.Recipient, j.Lane = []string{j.Recipient}, "", Routine
	}
	if j.AlertID == "" || j.Channel == "" || len(j.Recipients) == 0 {
		return j, fmt.Errorf("decode job: missing field in %q", data)
	}
	for _, r := range j.Recipients {
		if r == "" {
			return j, fmt.Errorf("decode job: empty recipient in %q", data)
		}
	}
	return j, nil
}
