// Package sweep moves alerts along their life on time, in the background:
// it expires alerts held for approval longer than the approval timeout,
// and finishes dispatching alerts once none of their deliveries is left
// queued. Reads never change an alert's state; this is where those two
// time-driven moves happen. It also raises the alarm (log, metric,
// readiness) for an accepted alert the planner has not picked up in time.
//
// Every Herald process sweeps; each move is an atomic lifecycle event on
// the state record, so an alert expires or finishes once. The sweeper
// does not plan, send or decide what expired means (package lifecycle).
package sweep

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/herald-alerts/herald/channels"

	"github.com/herald-alerts/herald/internal/alertlog"
	"github.com/herald-alerts/herald/internal/deliveries"
	"github.com/herald-alerts/herald/internal/lifecycle"
	"github.com/prometheus/client_golang/prometheus"
)

// Alerts is the alert log as the sweeper uses it.
type Alerts interface {
	List(ctx context.Context) ([]*alertlog.Record, error)
	Apply(ctx context.Context, id string, e lifecycle.Event) (*alertlog.Record, bool, error)
}

// Summaries tells whether an alert's deliveries are all settled.
type Summaries interface {
	Summarize(ctx context.Context, alertID string) (*deliveries.Summary, error)
}

// Config is what a Sweeper needs.
type Config struct {
	Alerts     Alerts
	Deliveries Summaries
	// ApprovalTimeout is how long an alert may wait for approval.
	ApprovalTimeout time.Duration
	// Every is the sweep interval.
	Every time.Duration
	// OnExpired is told of each alert this sweeper expired (the audit
	// trail records it); may be nil.
	OnExpired func(ctx context.Context, rec *alertlog.Record)
	// UnplannedAfter is how long an alert may stay accepted before the
	// planner picks it up; past it the sweeper raises the alarm (0: 30 s).
	UnplannedAfter time.Duration
	// Metrics, when set, registers herald_alerts_unplanned.
	Metrics prometheus.Registerer
	Logger  *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Sweeper runs Sweep every Config.Every until Stop.
type Sweeper struct {
	cfg Config
	// next backs off the completion check of a long fan-out: summarizing
	// reads the alert's delivery records, so a big alert is not read on
	// every tick.
	next   map[string]checkAfter
	cancel context.CancelFunc
	done   sync.WaitGroup

	// firstSeen is when this sweeper first saw each accepted alert: an
	// approved alert keeps its old AcceptedAt and must not alarm at once.
	firstSeen map[string]time.Time
	unplanned prometheus.Gauge
	mu        sync.Mutex
	late      []string // alerts past UnplannedAfter, for readiness
}

type checkAfter struct {
	at   time.Time
	wait time.Duration
}

// maxCheckWait bounds how late a finished alert is seen as done.
const maxCheckWait = 30 * time.Second

// New builds a sweeper; Start begins work.
func New(cfg Config) *Sweeper {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Every <= 0 {
		cfg.Every = time.Second
	}
	if cfg.UnplannedAfter <= 0 {
		cfg.UnplannedAfter = 30 * time.Second
	}
	s := &Sweeper{cfg: cfg, next: map[string]checkAfter{}, firstSeen: map[string]time.Time{},
		unplanned: prometheus.NewGauge(prometheus.GaugeOpts{Name: "herald_alerts_unplanned",
			Help: "Alerts accepted longer ago than the planning bound and still not planned (0 when the planner keeps up)."})}
	if cfg.Metrics != nil {
		cfg.Metrics.MustRegister(s.unplanned)
	}
	return s
}

// Start sweeps in the background until Stop.
func (s *Sweeper) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		t := time.NewTicker(s.cfg.Every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
				s.cfg.Logger.Warn("sweep failed; will try again", "error", err)
			}
		}
	}()
}

// Err names the alerts accepted longer ago than the planning bound and
// still not planned, nil when there are none.
func (s *Sweeper) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.late) == 0 {
		return nil
	}
	return fmt.Errorf("%d alert(s) accepted more than %s ago and not planned: %s", len(s.late), s.cfg.UnplannedAfter, strings.Join(s.late, ", "))
}

// Stop ends the background sweeps and waits for the one in progress.
func (s *Sweeper) Stop() {
	if s.cancel != nil {
		s.cancel()
		s.done.Wait()
	}
}

// Sweep makes one pass over every alert.
func (s *Sweeper) Sweep(ctx context.Context) error {
	recs, err := s.cfg.Alerts.List(ctx)
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	dispatching := map[string]bool{}
	accepted := map[string]bool{}
	var late []string
	for _, rec := range recs {
		switch rec.State {
		case lifecycle.Accepted:
			accepted[rec.ID] = true
			seen, ok := s.firstSeen[rec.ID]
			if !ok {
				seen = now
				s.firstSeen[rec.ID] = now
			}
			if now.Sub(seen) > s.cfg.UnplannedAfter && now.Sub(rec.AcceptedAt) > s.cfg.UnplannedAfter {
				late = append(late, rec.ID)
			}
		case lifecycle.PendingApproval:
			if lifecycle.ApprovalLapsed(rec.AcceptedAt, s.cfg.ApprovalTimeout, now) {
				s.expire(ctx, rec)
			}
		case lifecycle.Dispatching:
			dispatching[rec.ID] = true
			s.finish(ctx, rec, now)
		}
	}
	for id := range s.next { // cancelled meanwhile
		if !dispatching[id] {
			delete(s.next, id)
		}
	}
	for id := range s.firstSeen {
		if !accepted[id] {
			delete(s.firstSeen, id)
		}
	}
	s.unplanned.Set(float64(len(late)))
	if len(late) > 0 {
		s.cfg.Logger.Error("accepted alerts not planned in time: is the planner running?", "alerts", late, "bound", s.cfg.UnplannedAfter)
	}
	s.mu.Lock()
	s.late = late
	s.mu.Unlock()
	return nil
}

func (s *Sweeper) expire(ctx context.Context, rec *alertlog.Record) {
	moved, ok, err := s.cfg.Alerts.Apply(ctx, rec.ID, lifecycle.Expire)
	if err != nil || !ok {
		return
	}
	s.cfg.Logger.Warn("alert expired unapproved; it will not be sent", "id", rec.ID, "waited", s.cfg.ApprovalTimeout)
	if s.cfg.OnExpired != nil {
		s.cfg.OnExpired(ctx, moved)
	}
}

// PublicDone is when an alert is done: every resident's SMS and every
// social post is settled. A hospital endpoint that is down does not hold
// the alert in dispatching: its deliveries go on retrying, shown queued
// with their last error in the summary's failures.
func PublicDone(sum *deliveries.Summary) bool {
	for ch, c := range sum.Channels {
		if channels.Channel(ch) != channels.Webhook && c.Queued > 0 {
			return false
		}
	}
	return true
}

func (s *Sweeper) finish(ctx context.Context, rec *alertlog.Record, now time.Time) {
	c := s.next[rec.ID]
	if now.Before(c.at) {
		return
	}
	sum, err := s.cfg.Deliveries.Summarize(ctx, rec.ID)
	if err == nil && sum.Planned && PublicDone(sum) {
		if _, ok, err := s.cfg.Alerts.Apply(ctx, rec.ID, lifecycle.Finish); err == nil && ok {
			s.cfg.Logger.Info("alert done for the public: residents and social posts settled", "id", rec.ID,
				"webhooks_retrying", sum.Channels[string(channels.Webhook)].Queued)
		}
		delete(s.next, rec.ID)
		return
	}
	c.wait = min(max(2*c.wait, s.cfg.Every), maxCheckWait)
	s.next[rec.ID] = checkAfter{at: now.Add(c.wait), wait: c.wait}
}
