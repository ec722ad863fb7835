// Package sweep moves alerts along their life on time, in the background:
// it expires alerts held for approval longer than the approval timeout,
// and finishes dispatching alerts once none of their deliveries is left
// queued. Reads never change an alert's state; this is where those two
// time-driven moves happen.
//
// Every Herald process sweeps; each move is an atomic lifecycle event on
// the state record, so an alert expires or finishes once. The sweeper
// does not plan, send or decide what expired means (package lifecycle).
package sweep

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/herald-alerts/herald/internal/alertlog"
	"github.com/herald-alerts/herald/internal/deliveries"
	"github.com/herald-alerts/herald/internal/lifecycle"
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
	Logger    *slog.Logger
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
	return &Sweeper{cfg: cfg, next: map[string]checkAfter{}}
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
	for _, rec := range recs {
		switch rec.State {
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

func (s *Sweeper) finish(ctx context.Context, rec *alertlog.Record, now time.Time) {
	c := s.next[rec.ID]
	if now.Before(c.at) {
		return
	}
	sum, err := s.cfg.Deliveries.Summarize(ctx, rec.ID)
	if err == nil && sum.Planned && sum.Done {
		if _, ok, err := s.cfg.Alerts.Apply(ctx, rec.ID, lifecycle.Finish); err == nil && ok {
			s.cfg.Logger.Info("alert done: every delivery settled", "id", rec.ID)
		}
		delete(s.next, rec.ID)
		return
	}
	c.wait = min(max(2*c.wait, s.cfg.Every), maxCheckWait)
	s.next[rec.ID] = checkAfter{at: now.Add(c.wait), wait: c.wait}
}
