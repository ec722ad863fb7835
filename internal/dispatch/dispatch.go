// Package dispatch runs delivery jobs: a durable JetStream pull consumer
// per channel, shared by every Herald process, that for each job checks the
// idempotency record, skips jobs of cancelled or expired alerts, composes
// the message, waits for the rate limiter, calls the channel's Notifier and
// records the outcome before acking.
//
// Retries with backoff (honouring a provider's Retry-After), the attempt
// and age limits, rate limiting, metrics and logging live here, once, for
// every channel; adapters only send and classify errors. What a message
// says is the Composer's business, not this package's.
package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/herald-alerts/herald/internal/deliveries"
	"github.com/herald-alerts/herald/internal/jobs"
	"github.com/herald-alerts/herald/channels"
)

// Composer builds the message for a job. A non-empty skip means the job
// must not be sent (the recipient opted out, the subscription is disabled)
// and is recorded as skipped with that reason.
type Composer interface {
	Compose(ctx context.Context, j jobs.Job) (m channels.Message, skip string, err error)
}

// AlertState tells whether an alert's deliveries should still go out.
type AlertState interface {
	// Deliverable returns "" when the alert's jobs may be sent, otherwise
	// the reason they are skipped ("alert cancelled", "alert expired"),
	// and the time after which retries are pointless (the alert's expiry,
	// zero for none).
	Deliverable(ctx context.Context, alertID string) (skip string, until time.Time, err error)
}

// PermanentHook is told of permanent failures, so that e.g. an opted-out
// number (Twilio 21610) is marked opted out, or a gone webhook (410)
// disabled. Errors are logged, not retried.
type PermanentHook func(ctx context.Context, j jobs.Job, code string) error

// Retry is a channel's retry policy.
type Retry struct {
	Base        time.Duration // first backoff
	Max         time.Duration // backoff cap
	MaxAttempts int           // attempts before giving up (>= 1)
	MaxAge      time.Duration // give up when the first attempt is older than this
}

// Backoff is the delay before attempt n+1 (n >= 1): exponential from Base
// up to Max, with full jitter in the upper half so retries of many jobs do
// not arrive in lock-step; a provider's Retry-After wins when longer.
func (r Retry) Backoff(n int, retryAfter time.Duration) time.Duration {
	d := r.Base
	for i := 1; i < n && d < r.Max; i++ {
		d *= 2
	}
	d = min(d, r.Max)
	d = d/2 + rand.N(d/2+1)
	return max(d, retryAfter)
}

// Limiter paces sends (golang.org/x/time/rate.Limiter, or the shared
// limiter of package ratelimit).
type Limiter interface {
	Wait(ctx context.Context) error
}

// Config configures one channel's dispatcher.
type Config struct {
	Channel     string
	Notifier    channels.Notifier
	Composer    Composer
	Alerts      AlertState
	Store       *deliveries.Store
	Limiter     Limiter // nil: unlimited
	Concurrency int
	SendTimeout time.Duration
	Retry       Retry
	OnPermanent PermanentHook
	Isolation   Isolation
	Logger      *slog.Logger
	Metrics     *Metrics
}

// Dispatcher consumes one channel's jobs.
type Dispatcher struct {
	cfg    Config
	gate   *gate
	js     jetstream.JetStream
	iter   jetstream.MessagesContext
	wg     sync.WaitGroup
	cancel context.CancelFunc
}

// ConsumerName is the durable consumer of a channel's jobs.
func ConsumerName(channel string) string { return "herald-dispatch-" + channel }

// New builds a dispatcher; Start begins work.
func New(js jetstream.JetStream, cfg Config) *Dispatcher {
	if cfg.Concurrency < 1 {
		cfg.Concurrency = 1
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = 30 * time.Second
	}
	if cfg.Retry.MaxAttempts < 1 {
		cfg.Retry.MaxAttempts = 1
	}
	return &Dispatcher{cfg: cfg, js: js, gate: newGate(cfg.Isolation)}
}

// Start binds the durable consumer and starts Concurrency workers.
func (d *Dispatcher) Start(ctx context.Context) error {
	cons, err := d.js.CreateOrUpdateConsumer(ctx, jobs.StreamName, jetstream.ConsumerConfig{
		Durable:       ConsumerName(d.cfg.Channel),
		Description:   "Herald dispatcher for " + d.cfg.Channel,
		FilterSubject: jobs.SubjectPrefix + d.cfg.Channel,
		AckPolicy:     jetstream.AckExplicitPolicy,
		// A send takes at most SendTimeout; waits for the rate limiter and
		// retried records send in-progress acks. A short AckWait matters:
		// it is how soon the jobs a crashed process held go to another.
		AckWait:    d.cfg.SendTimeout + 5*time.Second,
		MaxDeliver: -1, // attempts are counted and ended here, with a record
		// Jobs held back (a destination's breaker is open, or it is busy)
		// stay pending while they wait; a small limit would let them block
		// every other job of the channel.
		MaxAckPending: 1 << 16,
	})
	if err != nil {
		return fmt.Errorf("dispatcher %s consumer: %w", d.cfg.Channel, err)
	}
	// Pull only what the workers can start soon: jobs left in the stream
	// can be taken by another Herald process.
	// Short pull expiry and heartbeat: if a pull goes missing (a server
	// restart, a leader change) the iterator notices within seconds, not
	// the default 30 s, and asks again.
	d.iter, err = cons.Messages(jetstream.PullMaxMessages(d.cfg.Concurrency*2),
		jetstream.PullExpiry(5*time.Second), jetstream.PullHeartbeat(2*time.Second))
	if err != nil {
		return fmt.Errorf("dispatcher %s: %w", d.cfg.Channel, err)
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d.cancel = cancel
	for range d.cfg.Concurrency {
		d.wg.Add(1)
		go d.work(wctx)
	}
	return nil
}

// Stop stops pulling, lets workers finish the jobs in hand (bounded by
// ctx), and returns.
func (d *Dispatcher) Stop(ctx context.Context) {
	if d.iter == nil {
		return
	}
	d.iter.Drain()
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		d.cancel() // abandon in-flight sends; JetStream redelivers them
		<-done
	}
	d.cancel()
}

func (d *Dispatcher) work(ctx context.Context) {
	defer d.wg.Done()
	for {
		m, err := d.iter.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return
			}
			d.cfg.Logger.Warn("dispatcher pull failed", "channel", d.cfg.Channel, "error", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		d.handle(ctx, m)
	}
}

func (d *Dispatcher) handle(ctx context.Context, m jetstream.Msg) {
	j, err := jobs.Decode(m.Data())
	if err != nil {
		d.cfg.Logger.Error("undecodable job dropped", "channel", d.cfg.Channel, "error", err)
		_ = m.Term()
		return
	}
	md, err := m.Metadata()
	if err != nil {
		_ = m.Nak()
		return
	}
	log := d.cfg.Logger.With("job", j.Key())

	// Idempotency: a delivery already finished is not sent again.
	rec, err := d.cfg.Store.Get(ctx, j)
	switch {
	case err == nil && rec.Final():
		_ = m.Ack()
		return
	case err != nil && !errors.Is(err, deliveries.ErrNotFound):
		d.retryLater(ctx, m, log, time.Second, fmt.Errorf("read delivery record: %w", err))
		return
	}
	// Attempts are counted in the record, not by JetStream's redeliveries:
	// a job held back by a busy or broken destination has not been tried.
	attempt := rec.Attempts + 1
	log = log.With("attempt", attempt)

	skip, until, err := d.cfg.Alerts.Deliverable(ctx, j.AlertID)
	if err != nil {
		d.retryLater(ctx, m, log, time.Second, fmt.Errorf("read alert state: %w", err))
		return
	}
	if skip != "" {
		d.finish(ctx, m, j, deliveries.Record{State: deliveries.Skipped, Reason: skip, Attempts: rec.Attempts}, log)
		return
	}
	msg, skip, err := d.cfg.Composer.Compose(ctx, j)
	if err != nil {
		d.retryLater(ctx, m, log, time.Second, fmt.Errorf("compose: %w", err))
		return
	}
	if skip != "" {
		d.finish(ctx, m, j, deliveries.Record{State: deliveries.Skipped, Reason: skip, Attempts: rec.Attempts}, log)
		return
	}
	msg.Key = j.Key()

	var dest string
	if d.gate != nil {
		dest = d.cfg.Isolation.Destination(msg.To)
		ok, wait, open := d.gate.acquire(dest, time.Now())
		if !ok {
			if open {
				d.cfg.Metrics.held(d.cfg.Channel)
			}
			_ = m.NakWithDelay(wait)
			return
		}
	}
	if d.cfg.Limiter != nil {
		if err := d.waitLimiter(ctx, m); err != nil {
			if d.gate != nil {
				d.gate.release(dest, false, time.Now())
			}
			_ = m.NakWithDelay(time.Second)
			return
		}
		// The wait can be long (a rate-limited fan-out): the alert may have
		// been cancelled or expired meanwhile.
		if skip, _, err := d.cfg.Alerts.Deliverable(ctx, j.AlertID); err == nil && skip != "" {
			if d.gate != nil {
				d.gate.release(dest, false, time.Now())
			}
			d.finish(ctx, m, j, deliveries.Record{State: deliveries.Skipped, Reason: skip, Attempts: rec.Attempts}, log)
			return
		}
	}
	sendCtx, cancel := context.WithTimeout(ctx, d.cfg.SendTimeout)
	start := time.Now()
	receipt, err := d.cfg.Notifier.Send(sendCtx, msg)
	cancel()
	d.cfg.Metrics.observe(d.cfg.Channel, time.Since(start))
	if d.gate != nil {
		permanent, _, _ := channels.Classify(err)
		d.gate.release(dest, err != nil && !permanent, time.Now())
	}
	if err == nil {
		d.finish(ctx, m, j, deliveries.Record{State: deliveries.Sent, ProviderID: receipt.ProviderID, Attempts: attempt}, log)
		return
	}

	permanent, retryAfter, code := channels.Classify(err)
	if permanent {
		log.Warn("delivery failed permanently", "code", code, "error", err)
		d.finish(ctx, m, j, deliveries.Record{State: deliveries.Failed, Reason: err.Error(), Attempts: attempt}, log)
		if d.cfg.OnPermanent != nil {
			if herr := d.cfg.OnPermanent(ctx, j, code); herr != nil {
				log.Warn("permanent-failure hook failed", "error", herr)
			}
		}
		return
	}
	delay := d.cfg.Retry.Backoff(attempt, retryAfter)
	age := time.Since(md.Timestamp)
	switch {
	case attempt >= d.cfg.Retry.MaxAttempts:
		d.finish(ctx, m, j, deliveries.Record{State: deliveries.Failed, Reason: fmt.Sprintf("gave up after %d attempts: %v", attempt, err), Attempts: attempt}, log)
	case d.cfg.Retry.MaxAge > 0 && age+delay > d.cfg.Retry.MaxAge:
		d.finish(ctx, m, j, deliveries.Record{State: deliveries.Failed, Reason: fmt.Sprintf("gave up after %s: %v", age.Round(time.Second), err), Attempts: attempt}, log)
	case !until.IsZero() && time.Now().Add(delay).After(until):
		d.finish(ctx, m, j, deliveries.Record{State: deliveries.Failed, Reason: fmt.Sprintf("alert expires before the next attempt: %v", err), Attempts: attempt}, log)
	default:
		d.cfg.Metrics.retried(d.cfg.Channel)
		// Remember the attempt and its error: the count survives
		// redeliveries and restarts, and the status view shows why the
		// delivery is still queued.
		if perr := d.cfg.Store.Put(ctx, j, deliveries.Record{State: deliveries.Queued, Reason: err.Error(), Attempts: attempt}); perr != nil {
			log.Warn("could not record the failed attempt", "error", perr)
		}
		d.retryLater(ctx, m, log, delay, err)
	}
}

// waitLimiter waits for a send slot while telling JetStream the job is
// still in progress, so a long queue behind the limiter is not redelivered.
func (d *Dispatcher) waitLimiter(ctx context.Context, m jetstream.Msg) error {
	for {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := d.cfg.Limiter.Wait(wctx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		_ = m.InProgress()
	}
}

func (d *Dispatcher) retryLater(ctx context.Context, m jetstream.Msg, log *slog.Logger, delay time.Duration, err error) {
	log.Info("delivery will be retried", "in", delay.Round(time.Millisecond), "error", err)
	_ = m.NakWithDelay(delay)
}

// finish records the outcome, then acks: a crash between the two means the
// job is seen again and the record makes it a no-op.
func (d *Dispatcher) finish(ctx context.Context, m jetstream.Msg, j jobs.Job, r deliveries.Record, log *slog.Logger) {
	// A sent message without its record would be sent again on
	// redelivery: keep trying (through a NATS leader election, say) before
	// giving up on the record.
	err := d.cfg.Store.Put(ctx, j, r)
	for wait := 100 * time.Millisecond; err != nil && wait <= 6400*time.Millisecond && ctx.Err() == nil; wait *= 2 {
		_ = m.InProgress()
		time.Sleep(wait)
		err = d.cfg.Store.Put(ctx, j, r)
	}
	if err != nil {
		// Without the record, a redelivery would send again; retry the
		// record rather than ack.
		log.Error("could not record delivery outcome", "state", r.State, "error", err)
		_ = m.NakWithDelay(time.Second)
		return
	}
	d.cfg.Metrics.count(d.cfg.Channel, r.State)
	// A plain ack: if it is lost the job comes back, and the record makes
	// that a no-op, so waiting for the server's confirmation buys nothing.
	if err := m.Ack(); err != nil {
		log.Warn("ack failed; the record prevents a second send", "error", err)
	}
}

// Metrics are the dispatchers' Prometheus metrics.
type Metrics struct {
	deliveries  *prometheus.CounterVec
	retries     *prometheus.CounterVec
	circuitOpen *prometheus.CounterVec
	latency     *prometheus.HistogramVec
}

// NewMetrics registers the dispatch metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "herald_deliveries_total", Help: "Deliveries finished, by channel and state (sent, failed, skipped)."}, []string{"channel", "state"}),
		retries:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "herald_delivery_retries_total", Help: "Delivery attempts that will be retried, by channel."}, []string{"channel"}),
		circuitOpen: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "herald_delivery_circuit_open_total",
			Help: "Jobs held back because their destination's circuit breaker was open, by channel."}, []string{"channel"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "herald_send_duration_seconds", Help: "Time a channel adapter took to send one message.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15)}, []string{"channel"}),
	}
	reg.MustRegister(m.deliveries, m.retries, m.circuitOpen, m.latency)
	return m
}

func (m *Metrics) count(channel, state string) {
	if m != nil {
		m.deliveries.WithLabelValues(channel, state).Inc()
	}
}

func (m *Metrics) retried(channel string) {
	if m != nil {
		m.retries.WithLabelValues(channel).Inc()
	}
}

func (m *Metrics) held(channel string) {
	if m != nil {
		m.circuitOpen.WithLabelValues(channel).Inc()
	}
}

func (m *Metrics) observe(channel string, d time.Duration) {
	if m != nil {
		m.latency.WithLabelValues(channel).Observe(d.Seconds())
	}
}
