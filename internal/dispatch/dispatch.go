// Package dispatch runs delivery jobs: durable JetStream pull consumers per
// channel and priority lane, shared by every Herald process. A job carries
// many recipients; the dispatcher splits it into deliveries and its
// workers always take a delivery of the most urgent lane that has one, so
// an urgent alert overtakes a large routine fan-out within a few sends.
// For each delivery it checks the idempotency record, skips deliveries of
// cancelled or expired alerts, composes the message, waits for the rate
// limiter, calls the channel's Notifier and records and counts the
// outcome; the job is acked once every delivery in it is settled, or
// handed back (nak with delay) for those still due a retry.
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

	"github.com/nats-io/nats.go"
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
	Compose(ctx context.Context, d jobs.Delivery) (m channels.Message, skip string, err error)
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
type PermanentHook func(ctx context.Context, d jobs.Delivery, err error) error

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
// limiter of package ratelimit); n is the send's cost (SMS segments).
type Limiter interface {
	WaitN(ctx context.Context, n int) error
}

// Config configures one channel's dispatcher.
type Config struct {
	JS       jetstream.JetStream
	Channel  channels.Channel
	Notifier channels.Notifier
	Composer Composer
	Alerts   AlertState
	Store    *deliveries.Store
	Limiter  Limiter // nil: unlimited
	// Cost is what one message costs against the Limiter (an SMS's
	// segments, as carriers count them); nil: 1.
	Cost        func(channels.Message) int
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
	lanes  []chan task // one per jobs.Lanes entry, most urgent first
	active sync.Map    // *batch -> struct{}: jobs in hand, kept alive by heartbeat
	quit   chan struct{}

	feeders, workers sync.WaitGroup
	stopPull, cancel context.CancelFunc
}

// task is one delivery of a job in hand.
type task struct {
	b *batch
	i int // index in the job's recipients
}

// ConsumerName is the durable consumer of a channel's jobs in a lane.
func ConsumerName(channel channels.Channel, lane jobs.Lane) string {
	return "herald-dispatch-" + string(channel) + "-" + string(lane)
}

// legacyConsumerName is the one consumer per channel of Herald before
// lanes; it would overlap the Routine lane's on the work queue.
func legacyConsumerName(channel channels.Channel) string { return "herald-dispatch-" + string(channel) }

// AckWait is how long a job may go without a heartbeat before JetStream
// gives it to another process: how soon the jobs of a crashed process
// move on.
const AckWait = 30 * time.Second

// heartbeat is how often jobs in hand are reported in progress.
const heartbeat = AckWait / 3

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

// Start binds a durable consumer per lane and starts a feeder per lane and
// Concurrency workers.
func (d *Dispatcher) Start(ctx context.Context) error {
	ch := d.cfg.Channel
	if err := d.cfg.JS.DeleteConsumer(ctx, jobs.StreamName, legacyConsumerName(ch)); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("dispatcher %s: remove the consumer of Herald before lanes: %w", ch, err)
	}
	var consumers []jetstream.Consumer
	for _, lane := range jobs.Lanes {
		filters := []string{jobs.Subject(ch, lane)}
		if lane == jobs.Routine {
			filters = append(filters, jobs.LegacySubject(ch))
		}
		cons, err := d.cfg.JS.CreateOrUpdateConsumer(ctx, jobs.StreamName, jetstream.ConsumerConfig{
			Durable:        ConsumerName(ch, lane),
			Description:    "Herald dispatcher for " + string(ch) + ", " + string(lane) + " lane",
			FilterSubjects: filters,
			AckPolicy:      jetstream.AckExplicitPolicy,
			AckWait:        AckWait,
			MaxDeliver:     -1, // attempts are counted and ended here, with a record
			// Jobs handed back for a retry stay pending while they wait.
			MaxAckPending: 1 << 16,
		})
		if err != nil {
			return fmt.Errorf("dispatcher %s consumer: %w", ch, err)
		}
		consumers = append(consumers, cons)
	}
	pull, stopPull := context.WithCancel(context.WithoutCancel(ctx))
	work, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d.stopPull, d.cancel = stopPull, cancel
	d.quit = make(chan struct{})
	d.lanes = make([]chan task, len(jobs.Lanes))
	for i := range d.lanes {
		d.lanes[i] = make(chan task)
	}
	for i, cons := range consumers {
		d.feeders.Add(1)
		go d.feed(pull, work, cons, d.lanes[i])
	}
	for range d.cfg.Concurrency {
		d.workers.Add(1)
		go d.work(work)
	}
	d.workers.Add(1)
	go d.heartbeat()
	return nil
}

// Stop stops pulling, lets workers finish the deliveries in hand (bounded
// by ctx), hands the rest of each job back, and returns.
func (d *Dispatcher) Stop(ctx context.Context) {
	if d.quit == nil {
		return
	}
	d.stopPull()
	d.feeders.Wait()
	close(d.quit)
	done := make(chan struct{})
	go func() { d.workers.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		d.cancel() // abandon in-flight sends; JetStream redelivers them
		<-done
	}
	d.cancel()
	d.quit = nil
}

// feed pulls jobs from a lane and hands their deliveries to the workers.
// It holds at most two jobs of the lane (the one being handed out and the
// next, fetched meanwhile so workers do not wait for a round trip between
// jobs); the rest stay in the stream, free for another process, while a
// busier lane keeps the workers.
func (d *Dispatcher) feed(pull, work context.Context, cons jetstream.Consumer, out chan<- task) {
	defer d.feeders.Done()
	next := make(chan *batch, 1)
	go func() {
		defer close(next)
		for pull.Err() == nil {
			wait, cancel := context.WithTimeout(pull, 5*time.Second)
			m, err := cons.Next(jetstream.FetchContext(wait))
			cancel()
			if err != nil {
				if pull.Err() == nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, nats.ErrTimeout) {
					d.cfg.Logger.Warn("dispatcher pull failed", "error", err)
					time.Sleep(100 * time.Millisecond)
				}
				continue
			}
			if b := d.open(work, m); b != nil {
				next <- b
			}
		}
	}()
	for b := range next {
		n := len(b.job.Recipients)
		for i := range n {
			select {
			case out <- task{b: b, i: i}:
				continue
			case <-pull.Done():
			}
			// Stopping: the rest goes back to JetStream with the job.
			b.settle(n-i, time.Second)
			break
		}
	}
}

// work runs deliveries, most urgent lane first, until Stop.
func (d *Dispatcher) work(ctx context.Context) {
	defer d.workers.Done()
	for {
		t, ok := d.next()
		if !ok {
			return
		}
		d.handle(ctx, t)
	}
}

// next takes a delivery from the most urgent lane that has one, waiting
// for any when all are empty.
func (d *Dispatcher) next() (task, bool) {
	for _, lane := range d.lanes {
		select {
		case t := <-lane:
			return t, true
		default:
		}
	}
	select {
	case t := <-d.lanes[0]:
		return t, true
	case t := <-d.lanes[1]:
		return t, true
	case t := <-d.lanes[2]:
		return t, true
	case <-d.quit:
		return task{}, false
	}
}

// heartbeat keeps the jobs in hand from being redelivered while their
// deliveries wait for workers, the rate limiter or a slow destination.
func (d *Dispatcher) heartbeat() {
	defer d.workers.Done()
	t := time.NewTicker(heartbeat)
	defer t.Stop()
	for {
		select {
		case <-d.quit:
			return
		case <-t.C:
			d.active.Range(func(k, _ any) bool {
				_ = k.(*batch).m.InProgress()
				return true
			})
		}
	}
}

// batch is a job in hand: its deliveries are settled by several workers,
// and the last one to finish acks or hands back the job.
type batch struct {
	d      *Dispatcher
	ctx    context.Context
	m      jetstream.Msg
	job    jobs.Job
	queued time.Time
	// fresh: first delivery of a job planned once; no delivery of it can
	// have a record yet, so none is read.
	fresh bool

	mu      sync.Mutex
	left    int
	retryIn time.Duration // > 0: some delivery is not settled; hand back after this
	counts  []jetstream.PubAckFuture
}

// open decodes a job and tracks it; an undecodable one is dropped.
func (d *Dispatcher) open(ctx context.Context, m jetstream.Msg) *batch {
	j, err := jobs.Decode(m.Data())
	if err != nil {
		d.cfg.Logger.Error("undecodable job dropped", "error", err)
		_ = m.Term()
		return nil
	}
	md, err := m.Metadata()
	if err != nil {
		_ = m.NakWithDelay(time.Second)
		return nil
	}
	b := &batch{d: d, ctx: ctx, m: m, job: j, queued: md.Timestamp, fresh: md.NumDelivered == 1 && !j.Replanned, left: len(j.Recipients)}
	d.active.Store(b, struct{}{})
	return b
}

// settle marks n deliveries done; retryIn > 0 means they are not settled
// and the job must come back after that long.
func (b *batch) settle(n int, retryIn time.Duration) {
	b.mu.Lock()
	if retryIn > 0 && (b.retryIn == 0 || retryIn < b.retryIn) {
		b.retryIn = retryIn
	}
	b.left -= n
	last := b.left == 0
	b.mu.Unlock()
	if last {
		b.close()
	}
}

// counted keeps a count's future; the job is acked only once it is stored.
func (b *batch) counted(f jetstream.PubAckFuture) {
	b.mu.Lock()
	b.counts = append(b.counts, f)
	b.mu.Unlock()
}

// close acks the job, or hands it back for the deliveries still due.
func (b *batch) close() {
	defer b.d.active.Delete(b)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(b.ctx), 30*time.Second)
	defer cancel()
	if err := deliveries.Wait(ctx, b.counts); err != nil {
		b.d.cfg.Logger.Warn("could not count deliveries; the job comes back to count them", "job", b.job.ID(), "error", err)
		_ = b.m.NakWithDelay(time.Second)
		return
	}
	if b.retryIn > 0 {
		_ = b.m.NakWithDelay(b.retryIn)
		return
	}
	// A plain ack: if it is lost the job comes back, and the records make
	// that a no-op.
	if err := b.m.Ack(); err != nil {
		b.d.cfg.Logger.Warn("ack failed; the records prevent a second send", "job", b.job.ID(), "error", err)
	}
}

// handle runs one delivery through the named steps: look up its record,
// decide whether it is deliverable, compose, acquire the destination and
// the rate, send, settle.
func (d *Dispatcher) handle(ctx context.Context, t task) {
	b := t.b
	dl := b.job.Delivery(t.i)
	log := d.cfg.Logger.With("delivery", dl.Key())

	var rec deliveries.Record
	if !b.fresh {
		var err error
		rec, err = d.cfg.Store.Get(ctx, dl)
		switch {
		case errors.Is(err, deliveries.ErrNotFound):
		case err != nil:
			d.retryLater(b, log, time.Second, fmt.Errorf("read delivery record: %w", err))
			return
		case rec.Final():
			// Settled on an earlier delivery of the job; a young record
			// may not have been counted if that run crashed (the count
			// is idempotent).
			if time.Since(rec.At) < deliveries.Recount {
				d.count(b, dl, rec.Counted(), log)
			}
			b.settle(1, 0)
			return
		case rec.RetryAt.After(time.Now()):
			b.settle(1, time.Until(rec.RetryAt))
			return
		}
	}
	// Attempts are counted in the record, not by JetStream's redeliveries:
	// a delivery held back by a busy or broken destination has not been
	// tried.
	attempt := rec.Attempts + 1
	log = log.With("attempt", attempt)

	skip, until, err := d.cfg.Alerts.Deliverable(ctx, dl.AlertID)
	if err != nil {
		d.retryLater(b, log, time.Second, fmt.Errorf("read alert state: %w", err))
		return
	}
	if skip != "" {
		d.skip(ctx, b, dl, rec, until, skip, log)
		return
	}
	msg, skip, err := d.cfg.Composer.Compose(ctx, dl)
	if err != nil {
		d.retryLater(b, log, time.Second, fmt.Errorf("compose: %w", err))
		return
	}
	if skip != "" {
		d.skip(ctx, b, dl, rec, until, skip, log)
		return
	}
	msg.Key = dl.Key()

	release, skip, wait := d.acquire(ctx, dl, msg)
	if wait > 0 {
		b.settle(1, wait) // handed back to JetStream for later
		return
	}
	if skip != "" {
		d.skip(ctx, b, dl, rec, until, skip, log)
		return
	}
	receipt, err := d.send(ctx, msg)
	release(err)

	v := d.cfg.Retry.Decide(Attempt{N: attempt, Err: err, Age: time.Since(b.queued), Until: until, Now: time.Now(), Jitter: rand.Float64()})
	d.settleDelivery(ctx, b, dl, attempt, receipt, err, v, until, log)
}

// acquire waits for the destination (isolation gate) and the rate limiter.
// wait > 0 means the delivery must wait that long in JetStream
// (destination busy or broken, or the process stopping); a non-empty skip
// means the alert was cancelled or expired during the wait. release must
// be called with the send's error once the send is over.
func (d *Dispatcher) acquire(ctx context.Context, dl jobs.Delivery, msg channels.Message) (release func(error), skip string, wait time.Duration) {
	release = func(error) {}
	if d.gate != nil {
		dest := d.cfg.Isolation.Destination(msg.To)
		got, wait, open := d.gate.acquire(dest, time.Now())
		if !got {
			if open {
				d.cfg.Metrics.held(d.cfg.Channel)
			}
			return nil, "", wait
		}
		release = func(err error) {
			permanent, _, _ := channels.Classify(err)
			d.gate.release(dest, err != nil && !permanent, time.Now())
		}
	}
	if d.cfg.Limiter == nil {
		return release, "", 0
	}
	cost := 1
	if d.cfg.Cost != nil {
		cost = max(d.cfg.Cost(msg), 1)
	}
	if err := d.cfg.Limiter.WaitN(ctx, cost); err != nil {
		release(nil)
		return nil, "", time.Second
	}
	// The wait can be long (a rate-limited fan-out): the alert may have
	// been cancelled or expired meanwhile.
	if skip, _, err := d.cfg.Alerts.Deliverable(ctx, dl.AlertID); err == nil && skip != "" {
		release(nil)
		return nil, skip, 0
	}
	return release, "", 0
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

// settleDelivery carries out the verdict: record a final outcome, or
// record the attempt and hand the delivery back for a retry.
func (d *Dispatcher) settleDelivery(ctx context.Context, b *batch, dl jobs.Delivery, attempt int, receipt channels.Receipt, err error, v Verdict, until time.Time, log *slog.Logger) {
	switch v.State {
	case deliveries.Sent:
		state := deliveries.Sent
		switch {
		case receipt.Logged:
			state = deliveries.Logged
		case receipt.Delivered:
			state = deliveries.Delivered
		}
		d.finish(ctx, b, dl, deliveries.Record{State: state, ProviderID: receipt.ProviderID, Attempts: attempt, Expires: until}, log)
	case deliveries.Queued:
		d.cfg.Metrics.retried(d.cfg.Channel)
		// Remember the attempt, its error and when it is due again: the
		// count survives redeliveries and restarts, and the status view
		// shows why the delivery is still queued.
		r := deliveries.Record{State: deliveries.Queued, Reason: v.Reason, Attempts: attempt, RetryAt: time.Now().Add(v.Delay), Expires: until}
		if perr := d.cfg.Store.Put(ctx, dl, r); perr != nil {
			log.Warn("could not record the failed attempt", "error", perr)
		}
		d.retryLater(b, log, v.Delay, err)
	default:
		if v.Permanent {
			_, _, code := channels.Classify(err)
			log.Warn("delivery failed permanently", "code", code, "error", err)
		}
		d.finish(ctx, b, dl, deliveries.Record{State: v.State, Reason: v.Reason, Attempts: attempt, Expires: until}, log)
		if v.Permanent && d.cfg.OnPermanent != nil {
			if herr := d.cfg.OnPermanent(ctx, dl, err); herr != nil {
				log.Warn("permanent-failure hook failed", "error", herr)
			}
		}
	}
}

// skip records that the delivery is not sent, and why; it was not an
// attempt.
func (d *Dispatcher) skip(ctx context.Context, b *batch, dl jobs.Delivery, rec deliveries.Record, until time.Time, reason string, log *slog.Logger) {
	d.finish(ctx, b, dl, deliveries.Record{State: deliveries.Skipped, Reason: reason, Attempts: rec.Attempts, Expires: until}, log)
}

func (d *Dispatcher) retryLater(b *batch, log *slog.Logger, delay time.Duration, err error) {
	log.Info("delivery will be retried", "in", delay.Round(time.Millisecond), "error", err)
	b.settle(1, delay)
}

// finish records the outcome, then counts it: a crash between the two
// means the job is seen again, the record makes it a no-op and the count
// is published again (idempotently).
func (d *Dispatcher) finish(ctx context.Context, b *batch, dl jobs.Delivery, r deliveries.Record, log *slog.Logger) {
	r.Outcome = r.State
	// A sent message without its record would be sent again on
	// redelivery: keep trying (through a NATS leader election, say) before
	// giving up on the record.
	err := d.cfg.Store.Put(ctx, dl, r)
	for wait := 100 * time.Millisecond; err != nil && wait <= 6400*time.Millisecond && ctx.Err() == nil; wait *= 2 {
		time.Sleep(wait)
		err = d.cfg.Store.Put(ctx, dl, r)
	}
	if err != nil {
		// Without the record, a redelivery would send again; retry the
		// record rather than ack.
		log.Error("could not record delivery outcome", "state", r.State, "error", err)
		b.settle(1, time.Second)
		return
	}
	d.cfg.Metrics.count(d.cfg.Channel, r.State)
	d.count(b, dl, r.State, log)
	if r.Attempts > 1 && (r.State == deliveries.Sent || r.State == deliveries.Delivered || r.State == deliveries.Logged) {
		// An earlier attempt's error was listed among the failures.
		if err := d.cfg.Store.Unlist(ctx, dl); err != nil {
			log.Warn("could not take the delivery off the failure list", "error", err)
		}
	}
	b.settle(1, 0)
}

// count adds a settled delivery to its alert's counters.
func (d *Dispatcher) count(b *batch, dl jobs.Delivery, state string, log *slog.Logger) {
	f, err := d.cfg.Store.Count(dl, state)
	if err != nil {
		log.Warn("could not count delivery; the job comes back to count it", "error", err)
		b.settle(0, time.Second)
		return
	}
	b.counted(f)
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

// Restart stops (letting the deliveries in hand finish) and starts again,
// recreating the durable consumers if they are gone.
func (d *Dispatcher) Restart(ctx context.Context) error {
	d.Stop(ctx)
	return d.Start(ctx)
}
