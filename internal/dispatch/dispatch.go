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

	"github.com/herald-alerts/herald/channels"
	"github.com/herald-alerts/herald/internal/deliveries"
	"github.com/herald-alerts/herald/internal/jobs"
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
// number (channels.ErrOptedOut) is marked opted out, or a gone webhook
// (channels.ErrGone) disabled. Errors are logged, not retried.
type PermanentHook func(ctx context.Context, j jobs.Job, err error) error

// Retry is a channel's retry policy.
type Retry struct {
	Base        time.Duration // first backoff
	Max         time.Duration // backoff cap
	MaxAttempts int           // attempts before giving up (>= 1)
	MaxAge      time.Duration // give up when the first attempt is older than this
}

// Backoff is the delay before attempt n+1 (n >= 1): exponential from Base
// up to Max, with jitter (0 <= jitter < 1) spreading it over the upper
// half so retries of many jobs do not arrive in lock-step; a provider's
// Retry-After wins when longer.
func (r Retry) Backoff(n int, retryAfter time.Duration, jitter float64) time.Duration {
	d := r.Base
	for i := 1; i < n && d < r.Max; i++ {
		d *= 2
	}
	d = min(d, r.Max)
	d = d/2 + time.Duration(jitter*float64(d/2+1))
	return max(d, retryAfter)
}

// Attempt is what the dispatcher knows after one send.
type Attempt struct {
	N      int           // this attempt's number, from 1
	Err    error         // the send's error; nil when it was accepted
	Age    time.Duration // since the job was queued
	Until  time.Time     // the alert's expiry; zero for none
	Now    time.Time
	Jitter float64 // in [0, 1), for Backoff
}

// Verdict is what becomes of a job after an attempt.
type Verdict struct {
	// State is the delivery record's state: Sent, Failed (final) or
	// Queued (retry after Delay).
	State  string
	Reason string
	Delay  time.Duration
	// Permanent is true when the provider refused for good (the
	// PermanentHook is told).
	Permanent bool
}

// Decide is the retry decision, pure so that every rule is tested in a
// table: a success is Sent; a permanent failure is Failed at once; a
// transient one is retried after Backoff unless that would pass the
// attempt limit, the age limit or the alert's expiry.
func (r Retry) Decide(a Attempt) Verdict {
	if a.Err == nil {
		return Verdict{State: deliveries.Sent}
	}
	permanent, retryAfter, _ := channels.Classify(a.Err)
	if permanent {
		return Verdict{State: deliveries.Failed, Reason: a.Err.Error(), Permanent: true}
	}
	delay := r.Backoff(a.N, retryAfter, a.Jitter)
	switch {
	case a.N >= max(r.MaxAttempts, 1):
		return Verdict{State: deliveries.Failed, Reason: fmt.Sprintf("gave up after %d attempts: %v", a.N, a.Err)}
	case r.MaxAge > 0 && a.Age+delay > r.MaxAge:
		return Verdict{State: deliveries.Failed, Reason: fmt.Sprintf("gave up after %s: %v", a.Age.Round(time.Second), a.Err)}
	case !a.Until.IsZero() && a.Now.Add(delay).After(a.Until):
		return Verdict{State: deliveries.Failed, Reason: fmt.Sprintf("alert expires before the next attempt: %v", a.Err)}
	}
	return Verdict{State: deliveries.Queued, Reason: a.Err.Error(), Delay: delay}
}

// Limiter paces sends (golang.org/x/time/rate.Limiter, or the shared
// limiter of package ratelimit).
type Limiter interface {
	Wait(ctx context.Context) error
}

// Config configures one channel's dispatcher.
type Config struct {
	JS          jetstream.JetStream
	Channel     channels.Channel
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
	iter   jetstream.MessagesContext
	wg     sync.WaitGroup
	cancel context.CancelFunc
}

// ConsumerName is the durable consumer of a channel's jobs.
func ConsumerName(channel channels.Channel) string { return "herald-dispatch-" + string(channel) }

// New builds a dispatcher; Start begins work.
func New(cfg Config) *Dispatcher {
	if cfg.Concurrency < 1 {
		cfg.Concurrency = 1
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = 30 * time.Second
	}
	if cfg.Retry.MaxAttempts < 1 {
		cfg.Retry.MaxAttempts = 1
	}
	return &Dispatcher{cfg: cfg, gate: newGate(cfg.Isolation)}
}

// Start binds the durable consumer and starts Concurrency workers.
func (d *Dispatcher) Start(ctx context.Context) error {
	cons, err := d.cfg.JS.CreateOrUpdateConsumer(ctx, jobs.StreamName, jetstream.ConsumerConfig{
		Durable:       ConsumerName(d.cfg.Channel),
		Description:   "Herald dispatcher for " + string(d.cfg.Channel),
		FilterSubject: jobs.Subject(d.cfg.Channel),
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

// handle runs one job through the named steps: look up its record, decide
// whether it is deliverable, compose, acquire the destination and the rate,
// send, settle.
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

	rec, final, err := d.lookup(ctx, j)
	switch {
	case err != nil:
		d.retryLater(m, log, time.Second, fmt.Errorf("read delivery record: %w", err))
		return
	case final:
		_ = m.Ack()
		return
	}
	// Attempts are counted in the record, not by JetStream's redeliveries:
	// a job held back by a busy or broken destination has not been tried.
	attempt := rec.Attempts + 1
	log = log.With("attempt", attempt)

	skip, until, err := d.cfg.Alerts.Deliverable(ctx, j.AlertID)
	if err != nil {
		d.retryLater(m, log, time.Second, fmt.Errorf("read alert state: %w", err))
		return
	}
	if skip != "" {
		d.skip(ctx, m, j, rec, skip, log)
		return
	}
	msg, skip, err := d.cfg.Composer.Compose(ctx, j)
	if err != nil {
		d.retryLater(m, log, time.Second, fmt.Errorf("compose: %w", err))
		return
	}
	if skip != "" {
		d.skip(ctx, m, j, rec, skip, log)
		return
	}
	msg.Key = j.Key()

	release, skip, ok := d.acquire(ctx, m, j, msg)
	if !ok {
		return // handed back to JetStream for later
	}
	if skip != "" {
		d.skip(ctx, m, j, rec, skip, log)
		return
	}
	receipt, err := d.send(ctx, msg)
	release(err)

	v := d.cfg.Retry.Decide(Attempt{N: attempt, Err: err, Age: time.Since(md.Timestamp), Until: until, Now: time.Now(), Jitter: rand.Float64()})
	d.settle(ctx, m, j, attempt, receipt, err, v, log)
}

// lookup reads the job's delivery record: a delivery already finished is
// not sent again (final). A missing record is a first attempt.
func (d *Dispatcher) lookup(ctx context.Context, j jobs.Job) (rec deliveries.Record, final bool, err error) {
	rec, err = d.cfg.Store.Get(ctx, j)
	switch {
	case errors.Is(err, deliveries.ErrNotFound):
		return deliveries.Record{}, false, nil
	case err != nil:
		return rec, false, err
	}
	return rec, rec.Final(), nil
}

// acquire waits for the destination (isolation gate) and the rate limiter.
// ok=false means the job was handed back to JetStream (destination busy or
// broken, or the process stopping); a non-empty skip means the alert was
// cancelled or expired during the wait. release must be called with the
// send's error once the send is over.
func (d *Dispatcher) acquire(ctx context.Context, m jetstream.Msg, j jobs.Job, msg channels.Message) (release func(error), skip string, ok bool) {
	release = func(error) {}
	if d.gate != nil {
		dest := d.cfg.Isolation.Destination(msg.To)
		got, wait, open := d.gate.acquire(dest, time.Now())
		if !got {
			if open {
				d.cfg.Metrics.held(d.cfg.Channel)
			}
			_ = m.NakWithDelay(wait)
			return nil, "", false
		}
		release = func(err error) {
			permanent, _, _ := channels.Classify(err)
			d.gate.release(dest, err != nil && !permanent, time.Now())
		}
	}
	if d.cfg.Limiter == nil {
		return release, "", true
	}
	if err := d.waitLimiter(ctx, m); err != nil {
		release(nil)
		_ = m.NakWithDelay(time.Second)
		return nil, "", false
	}
	// The wait can be long (a rate-limited fan-out): the alert may have
	// been cancelled or expired meanwhile.
	if skip, _, err := d.cfg.Alerts.Deliverable(ctx, j.AlertID); err == nil && skip != "" {
		release(nil)
		return nil, skip, true
	}
	return release, "", true
}

// send calls the adapter within SendTimeout.
func (d *Dispatcher) send(ctx context.Context, msg channels.Message) (channels.Receipt, error) {
	sendCtx, cancel := context.WithTimeout(ctx, d.cfg.SendTimeout)
	defer cancel()
	start := time.Now()
	receipt, err := d.cfg.Notifier.Send(sendCtx, msg)
	d.cfg.Metrics.observe(d.cfg.Channel, time.Since(start))
	return receipt, err
}

// settle carries out the verdict: record a final outcome and ack, or
// record the attempt and hand the job back for a retry.
func (d *Dispatcher) settle(ctx context.Context, m jetstream.Msg, j jobs.Job, attempt int, receipt channels.Receipt, err error, v Verdict, log *slog.Logger) {
	switch v.State {
	case deliveries.Sent:
		state := deliveries.Sent
		if receipt.Logged {
			state = deliveries.Logged
		}
		d.finish(ctx, m, j, deliveries.Record{State: state, ProviderID: receipt.ProviderID, Attempts: attempt}, log)
	case deliveries.Queued:
		d.cfg.Metrics.retried(d.cfg.Channel)
		// Remember the attempt and its error: the count survives
		// redeliveries and restarts, and the status view shows why the
		// delivery is still queued.
		if perr := d.cfg.Store.Put(ctx, j, deliveries.Record{State: deliveries.Queued, Reason: v.Reason, Attempts: attempt}); perr != nil {
			log.Warn("could not record the failed attempt", "error", perr)
		}
		d.retryLater(m, log, v.Delay, err)
	default:
		if v.Permanent {
			_, _, code := channels.Classify(err)
			log.Warn("delivery failed permanently", "code", code, "error", err)
		}
		d.finish(ctx, m, j, deliveries.Record{State: v.State, Reason: v.Reason, Attempts: attempt}, log)
		if v.Permanent && d.cfg.OnPermanent != nil {
			if herr := d.cfg.OnPermanent(ctx, j, err); herr != nil {
				log.Warn("permanent-failure hook failed", "error", herr)
			}
		}
	}
}

// skip records that the job is not sent, and why; it was not an attempt.
func (d *Dispatcher) skip(ctx context.Context, m jetstream.Msg, j jobs.Job, rec deliveries.Record, reason string, log *slog.Logger) {
	d.finish(ctx, m, j, deliveries.Record{State: deliveries.Skipped, Reason: reason, Attempts: rec.Attempts}, log)
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

func (d *Dispatcher) retryLater(m jetstream.Msg, log *slog.Logger, delay time.Duration, err error) {
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
	// Every channel and outcome Herald knows is there from the start, at
	// 0: a dashboard and an alert rule see a series before its first event.
	for _, ch := range channels.All {
		for _, state := range []string{deliveries.Sent, deliveries.Logged, deliveries.Failed, deliveries.Skipped} {
			m.deliveries.WithLabelValues(string(ch), state)
		}
		m.retries.WithLabelValues(string(ch))
		m.circuitOpen.WithLabelValues(string(ch))
		m.latency.WithLabelValues(string(ch))
	}
	return m
}

func (m *Metrics) count(channel channels.Channel, state string) {
	if m != nil {
		m.deliveries.WithLabelValues(string(channel), state).Inc()
	}
}

func (m *Metrics) retried(channel channels.Channel) {
	if m != nil {
		m.retries.WithLabelValues(string(channel)).Inc()
	}
}

func (m *Metrics) held(channel channels.Channel) {
	if m != nil {
		m.circuitOpen.WithLabelValues(string(channel)).Inc()
	}
}

func (m *Metrics) observe(channel channels.Channel, d time.Duration) {
	if m != nil {
		m.latency.WithLabelValues(string(channel)).Observe(d.Seconds())
	}
}

// Restart stops (letting the jobs in hand finish) and starts again,
// recreating the durable consumer if it is gone.
func (d *Dispatcher) Restart(ctx context.Context) error {
	d.Stop(ctx)
	return d.Start(ctx)
}
