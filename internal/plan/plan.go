// Package plan is the planner: a durable JetStream consumer of the alert
// log (and of approvals) that, for each alert cleared to go, has the log
// publish one copy per affected region on herald.alerts.region.<id> (the
// hospitals' feed, kept by the stream for replay), moves the alert to
// dispatching and hands it to the delivery stages.
//
// Planning is idempotent: every publish carries a Nats-Msg-Id derived from
// the alert, so a redelivered log message (after a crash) does not publish
// twice within the dedup window, and the log message is acked only after
// everything it causes is stored. The planner does not send anything, and
// does not decide which moves are allowed (package lifecycle).
package plan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/internal/alertlog"
	"github.com/herald-alerts/herald/internal/lifecycle"
)

// ConsumerName is the planner's durable consumer on the alert log; every
// Herald process sharing a NATS binds to it, so each alert is planned by one.
const ConsumerName = "herald-planner"

// Stage plans the deliveries of one alert (jobs for each channel). It must
// be idempotent: the planner calls it again for the same alert after a
// crash.
type Stage interface {
	Plan(ctx context.Context, rec *alertlog.Record, a *cap.Alert, raw []byte) error
}

// Config is what a Planner needs.
type Config struct {
	JS  jetstream.JetStream
	Log *alertlog.Log
	// Stages run in order for each alert after the regional feed copies
	// are published.
	Stages []Stage
	// ApprovalTimeout expires an approval that arrives too late.
	ApprovalTimeout time.Duration
	Logger          *slog.Logger
}

// Planner consumes the alert log.
type Planner struct {
	cfg    Config
	cc     jetstream.ConsumeContext
	cancel context.CancelFunc
}

// New builds a planner; Start begins work.
func New(cfg Config) *Planner { return &Planner{cfg: cfg} }

// Start binds the durable consumer and begins consuming.
func (p *Planner) Start(ctx context.Context) error {
	cons, err := p.cfg.JS.CreateOrUpdateConsumer(ctx, alertlog.StreamName, jetstream.ConsumerConfig{
		Durable:        ConsumerName,
		Description:    "Herald planner: accepted alerts to feeds and delivery jobs",
		FilterSubjects: []string{alertlog.SubjectLog + "*", alertlog.SubjectApproval + "*"},
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        2 * time.Minute,
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		MaxAckPending:  64,
	})
	if err != nil {
		return fmt.Errorf("planner consumer: %w", err)
	}
	// The work outlives Start's context (which only bounds start-up)
	// until Stop.
	work, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p.cancel = cancel
	cc, err := cons.Consume(func(m jetstream.Msg) { p.handle(work, m) })
	if err != nil {
		return fmt.Errorf("planner consume: %w", err)
	}
	p.cc = cc
	return nil
}

// Stop stops consuming after the message in hand is finished.
func (p *Planner) Stop() {
	if p.cc != nil {
		p.cc.Drain()
		<-p.cc.Closed()
	}
	if p.cancel != nil {
		p.cancel()
	}
}

func (p *Planner) handle(ctx context.Context, m jetstream.Msg) {
	id := m.Headers().Get(alertlog.HeaderAlertID)
	plan := p.planOne
	if strings.HasPrefix(m.Subject(), alertlog.SubjectApproval) {
		plan = p.approved
	}
	if err := plan(ctx, id, m); err != nil {
		p.cfg.Logger.Error("planning failed; will retry", "id", id, "error", err)
		_ = m.NakWithDelay(5 * time.Second)
		return
	}
	if err := m.DoubleAck(ctx); err != nil {
		p.cfg.Logger.Warn("planner ack failed; the alert may be planned again (idempotent)", "id", id, "error", err)
	}
}

func (p *Planner) planOne(ctx context.Context, id string, m jetstream.Msg) error {
	a, err := cap.Parse(m.Data())
	if err != nil {
		// Intake validated it; a log entry that does not parse is a bug or
		// corruption, and retrying will not help.
		p.cfg.Logger.Error("alert log entry does not parse; skipped", "id", id, "error", err)
		return nil
	}
	rec, err := p.cfg.Log.Get(ctx, id)
	if errors.Is(err, alertlog.ErrNotFound) {
		// Intake has not written it yet, or stopped before it could.
		md, mdErr := m.Metadata()
		if mdErr != nil {
			return mdErr
		}
		rec, err = p.cfg.Log.Ensure(ctx, p.cfg.Log.RecordFromLog(m.Headers(), a, md.Sequence.Stream, md.Timestamp))
	}
	if err != nil {
		return err
	}
	return p.plan(ctx, rec, a, m.Data())
}

// approved plans an alert released by a second officer, unless it waited
// longer than the approval timeout, and records a refusal.
func (p *Planner) approved(ctx context.Context, id string, m jetstream.Msg) error {
	if m.Headers().Get(alertlog.HeaderDecision) == alertlog.DecisionRejected {
		// A refusal: make sure the state says so (intake may have stopped
		// between the log and the state); nothing is planned.
		_, _, err := p.cfg.Log.Rejected(ctx, id, m.Headers().Get(alertlog.HeaderApprover), m.Headers().Get(alertlog.HeaderReason))
		if errors.Is(err, alertlog.ErrNotFound) {
			return nil
		}
		return err
	}
	rec, err := p.cfg.Log.Get(ctx, id)
	if err != nil {
		return err
	}
	if rec.State == lifecycle.PendingApproval {
		e := lifecycle.Approve
		if lifecycle.ApprovalLapsed(rec.AcceptedAt, p.cfg.ApprovalTimeout, time.Now()) {
			e = lifecycle.Expire
		}
		if rec, _, err = p.cfg.Log.Apply(ctx, id, e); err != nil {
			return err
		}
	}
	raw, _, err := p.cfg.Log.Raw(ctx, id)
	if err != nil {
		return err
	}
	a, err := cap.Parse(raw)
	if err != nil {
		p.cfg.Logger.Error("approved alert does not parse; skipped", "id", id, "error", err)
		return nil
	}
	return p.plan(ctx, rec, a, raw)
}

// plan publishes the region copies and runs the stages, for an alert in
// state accepted (or dispatching, after a crash mid-way).
func (p *Planner) plan(ctx context.Context, rec *alertlog.Record, a *cap.Alert, raw []byte) error {
	id := rec.ID
	if !rec.State.Plannable() {
		// pending approval, cancelled, expired or already done: nothing to do.
		return nil
	}
	switch a.MsgType {
	case cap.MsgCancel:
		p.cancelReferenced(ctx, a)
	case cap.MsgUpdate:
		for _, ref := range rec.References {
			if err := p.cfg.Log.MarkUpdated(ctx, ref, id); err != nil && !errors.Is(err, alertlog.ErrNotFound) {
				p.cfg.Logger.Warn("update: could not mark the alert it replaces", "id", ref, "error", err)
			}
		}
	}
	// Private alerts name their own addressees: they stay off the regional
	// feeds, which every hospital of the region reads. Acks and Errors
	// answer a message and are never broadcast.
	if rec.Scope != cap.ScopePrivate && rec.MsgType != cap.MsgAck && rec.MsgType != cap.MsgError {
		if err := p.cfg.Log.PublishRegions(ctx, rec, raw); err != nil {
			return err
		}
	}
	if _, _, err := p.cfg.Log.Apply(ctx, id, lifecycle.StartDispatch); err != nil {
		return err
	}
	for _, st := range p.cfg.Stages {
		if err := st.Plan(ctx, rec, a, raw); err != nil {
			return err
		}
	}
	if len(p.cfg.Stages) == 0 {
		_, _, err := p.cfg.Log.Apply(ctx, id, lifecycle.Finish)
		return err
	}
	return nil
}

// cancelReferenced marks the alerts a Cancel references as cancelled.
func (p *Planner) cancelReferenced(ctx context.Context, a *cap.Alert) {
	refs, err := a.ParseReferences()
	if err != nil {
		return
	}
	for _, r := range refs {
		id := p.cfg.Log.ID(r.Sender, r.Identifier)
		if _, _, err := p.cfg.Log.Apply(ctx, id, lifecycle.Cancel); err != nil && !errors.Is(err, alertlog.ErrNotFound) {
			p.cfg.Logger.Warn("cancel: could not mark referenced alert", "id", id, "error", err)
		}
	}
}

// Restart stops consuming and starts again, recreating the durable
// consumer if it is gone.
func (p *Planner) Restart(ctx context.Context) error {
	p.Stop()
	return p.Start(ctx)
}
