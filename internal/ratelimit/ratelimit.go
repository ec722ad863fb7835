// Package ratelimit is a token bucket shared by every Herald process on one
// NATS: the bucket's state lives in a JetStream KV entry updated with
// compare-and-set, so N processes together send at most the configured
// rate (e.g. Twilio's per-sender limit), not N times it.
//
// Each process takes tokens in small batches (a tenth of a second's worth)
// to keep KV traffic low; the batch is the most by which the total can run
// ahead of the rate. The bucket's clock is each process's own: processes on
// different machines need NTP, as for everything else.
//
// It limits; it does not queue, retry or send.
package ratelimit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Bucket is the KV bucket of shared limiters.
const Bucket = "HERALD_LIMITS"

// Shared is one named limiter.
type Shared struct {
	kv    jetstream.KeyValue
	key   string
	rate  float64 // tokens per second, for all processes together
	batch int     // tokens taken from the shared bucket at once
	now   func() time.Time

	mu   sync.Mutex
	have int // tokens taken and not yet used by this process
}

type state struct {
	Tokens float64   `json:"tokens"`
	At     time.Time `json:"at"`
}

// Config is what Open needs.
type Config struct {
	JS       jetstream.JetStream
	Replicas int // JetStream replicas of the stream or bucket (1 on one server)
	// Name is the limiter shared by every process that opens it.
	Name string
	// Rate is the events allowed per second, across processes.
	Rate float64
}

// Open returns the limiter name allowing rate events per second across
// every process that opens the same name.
func Open(ctx context.Context, cfg Config) (*Shared, error) {
	js, replicas := cfg.JS, cfg.Replicas
	name := cfg.Name
	rate := cfg.Rate
	if rate <= 0 || math.IsNaN(rate) || math.IsInf(rate, 0) {
		return nil, fmt.Errorf("ratelimit %s: rate %v must be positive", name, rate)
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      Bucket,
		Description: "Herald: shared rate limiters (token buckets)",
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
		History:     1,
	})
	if err != nil {
		return nil, fmt.Errorf("create bucket %s: %w", Bucket, err)
	}
	return &Shared{kv: kv, key: name, rate: rate, batch: max(1, int(rate/10)), now: time.Now}, nil
}

// Wait blocks until this process may do one event, or ctx ends.
func (s *Shared) Wait(ctx context.Context) error { return s.WaitN(ctx, 1) }

// WaitN blocks until this process may do an event costing n tokens (an
// SMS of n segments), or ctx ends. Waiters are served one at a time, in
// turn; tokens taken for a wait that ctx ends are kept for the next.
func (s *Shared) WaitN(ctx context.Context, n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.have < n {
		got, wait, err := s.take(ctx)
		if err != nil {
			return err
		}
		if got > 0 {
			s.have += got
			continue
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.have -= n
	return nil
}

// take moves up to a batch of tokens from the shared bucket to this
// process; with none available it says how long until one is.
func (s *Shared) take(ctx context.Context) (int, time.Duration, error) {
	capacity := float64(s.batch)
	for attempt := 0; ; attempt++ {
		now := s.now()
		e, err := s.kv.Get(ctx, s.key)
		var st state
		var rev uint64
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			st = state{Tokens: capacity, At: now}
		case err != nil:
			return 0, 0, fmt.Errorf("ratelimit %s: %w", s.key, err)
		default:
			if err := json.Unmarshal(e.Value(), &st); err != nil {
				st = state{Tokens: capacity, At: now}
			}
			rev = e.Revision()
		}
		if elapsed := now.Sub(st.At).Seconds(); elapsed > 0 {
			st.Tokens = math.Min(capacity, st.Tokens+elapsed*s.rate)
		}
		st.At = now
		got := min(s.batch, int(st.Tokens))
		if got == 0 {
			return 0, time.Duration((1 - st.Tokens) / s.rate * float64(time.Second)), nil
		}
		st.Tokens -= float64(got)
		b, _ := json.Marshal(st)
		if rev == 0 {
			_, err = s.kv.Create(ctx, s.key, b)
		} else {
			_, err = s.kv.Update(ctx, s.key, b, rev)
		}
		if err == nil {
			return got, 0, nil
		}
		if !conflict(err) {
			return 0, 0, fmt.Errorf("ratelimit %s: %w", s.key, err)
		}
		if attempt > 100 {
			return 0, 0, fmt.Errorf("ratelimit %s: too much contention", s.key)
		}
	}
}

func conflict(err error) bool {
	if errors.Is(err, jetstream.ErrKeyExists) {
		return true
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}
