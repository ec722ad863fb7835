// Package jobs defines a delivery job (one alert to one recipient on one
// channel) and the JetStream work-queue stream HERALD_JOBS that carries
// them from the planner to the dispatchers, one subject per channel.
//
// It does not decide who gets a job (recipients) or what is sent
// (compose), nor how a job is executed (dispatch).
package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/herald-alerts/herald/channels"
)

// JetStream names.
const (
	StreamName    = "HERALD_JOBS"
	SubjectPrefix = "herald.jobs." // + channel
)

// Subject is the subject of a channel's jobs.
func Subject(ch channels.Channel) string { return SubjectPrefix + string(ch) }

// Job is one delivery to do.
type Job struct {
	AlertID   string           `json:"alert_id"`
	Channel   channels.Channel `json:"channel"`
	Recipient string           `json:"recipient"` // resident id, subscription id, or the social account
}

// Key identifies the delivery: the JetStream dedup id, the idempotency
// record's key and the provider idempotency key. Ids are token-safe, so
// the key is too.
func (j Job) Key() string { return j.AlertID + "." + string(j.Channel) + "." + j.Recipient }

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
		Description: "Herald: delivery jobs, one subject per channel",
		Subjects:    []string{SubjectPrefix + "*"},
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

// Publisher stores jobs in the stream with a bounded window of
// unacknowledged publishes, so a fan-out of millions streams through in
// constant memory. A job already published (same key, within the dedup
// window) is not stored twice.
type Publisher struct {
	js      jetstream.JetStream
	pending []jetstream.PubAckFuture
}

// window bounds the publishes awaiting JetStream's ack.
const window = 4096

// NewPublisher publishes jobs through js.
func NewPublisher(js jetstream.JetStream) *Publisher {
	return &Publisher{js: js, pending: make([]jetstream.PubAckFuture, 0, window)}
}

// Add publishes one job; it may wait (until ctx ends) for earlier ones to
// be acked.
func (p *Publisher) Add(ctx context.Context, j Job) error {
	b, err := json.Marshal(j)
	if err != nil {
		return fmt.Errorf("encode job %s: %w", j.Key(), err)
	}
	msg := nats.NewMsg(Subject(j.Channel))
	msg.Data = b
	f, err := p.js.PublishMsgAsync(msg, jetstream.WithMsgID(j.Key()))
	if err != nil {
		return fmt.Errorf("publish job %s: %w", j.Key(), err)
	}
	p.pending = append(p.pending, f)
	if len(p.pending) == window {
		return p.Flush(ctx)
	}
	return nil
}

// Flush returns once JetStream has stored every job added so far; only
// then may the planner ack the alert.
func (p *Publisher) Flush(ctx context.Context) error {
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

// Publish stores list and returns once JetStream has acknowledged every job.
func Publish(ctx context.Context, js jetstream.JetStream, list []Job) error {
	p := NewPublisher(js)
	for _, j := range list {
		if err := p.Add(ctx, j); err != nil {
			return err
		}
	}
	return p.Flush(ctx)
}

// Decode reads a job message.
func Decode(data []byte) (Job, error) {
	var j Job
	if err := json.Unmarshal(data, &j); err != nil {
		return j, fmt.Errorf("decode job: %w", err)
	}
	if j.AlertID == "" || j.Channel == "" || j.Recipient == "" {
		return j, fmt.Errorf("decode job: missing field in %q", data)
	}
	return j, nil
}
